// Re-associating rewrites every file of the study or series on the server, which takes a while for a large
// study: once the form is sent, its button says so and cannot be pressed twice.
(function () {
  "use strict";
  document.querySelectorAll("form[data-busy-text]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (!button) return;
      // After this event: disabling the button first would drop it from the submitted form data.
      setTimeout(function () {
        button.disabled = true;
        button.textContent = form.dataset.busyText;
        form.setAttribute("aria-busy", "true");
      }, 0);
    });
  });
})();

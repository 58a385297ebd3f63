// Keyboard-first desk: elements carrying data-shortcut="Alt+n" (or "F2") are clicked, or focused when they
// are inputs, by that key. A barcode scanner types into the focused scan field and ends with Enter, which
// submits its form like any other.
(function () {
  "use strict";
  function keyName(event) {
    var parts = [];
    if (event.altKey) parts.push("Alt");
    if (event.ctrlKey) parts.push("Ctrl");
    parts.push(event.key.length === 1 ? event.key.toLowerCase() : event.key);
    return parts.join("+");
  }
  // Alt+letter types a different character on some layouts (macOS), so fall back to the physical key.
  function codeName(event) {
    var match = /^Key([A-Z])$/.exec(event.code || "");
    return match && event.altKey ? "Alt+" + match[1].toLowerCase() : null;
  }
  // Browsers submit a form on Enter in a text field but not in a select or on a checkbox; at the desk Enter
  // submits from every field, so the hands never leave the keyboard.
  function submitsOnEnter(event) {
    var field = event.target;
    if (event.key !== "Enter" || event.altKey || event.ctrlKey || event.shiftKey || !field.form) return false;
    return field.tagName === "SELECT" || (field.tagName === "INPUT" && field.type === "checkbox");
  }
  document.addEventListener("keydown", function (event) {
    if (submitsOnEnter(event)) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    var names = [keyName(event), codeName(event)];
    for (var i = 0; i < names.length; i++) {
      if (!names[i]) continue;
      var target = document.querySelector('[data-shortcut="' + names[i] + '"]');
      if (!target) continue;
      event.preventDefault();
      if (target.matches("input, select, textarea")) {
        target.focus();
        target.select && target.select();
      } else {
        target.click();
      }
      return;
    }
  });
})();

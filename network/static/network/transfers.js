// Live progress of the transfers list: polls the JSON endpoint every second while any transfer shown is
// still queued or running, and updates each row's bar, status and counts in place.
(function () {
  "use strict";
  var table = document.getElementById("transfers");
  if (!table) return;
  var words = JSON.parse(document.getElementById("transfer-words").textContent);

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_match, name) {
      return values[name] === null || values[name] === undefined ? "?" : String(values[name]);
    });
  }

  function update(row, transfer) {
    var bar = row.querySelector("progress");
    bar.value = transfer.percent;
    bar.textContent = transfer.percent + "%";
    row.querySelector(".percent").textContent = transfer.percent + "%";
    var status = row.querySelector(".status");
    status.textContent = transfer.status_display;
    status.className = "status status-" + transfer.status;
    row.querySelector(".numbers").textContent = format(words.counts, transfer);
    row.querySelector(".error-message").textContent = transfer.error_message;
  }

  function unfinished() {
    return Array.prototype.some.call(table.querySelectorAll(".status"), function (cell) {
      return /status-(queued|running)/.test(cell.className);
    });
  }

  function poll() {
    if (!unfinished()) return;
    fetch(table.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        data.transfers.forEach(function (transfer) {
          var row = table.querySelector('tr[data-transfer="' + transfer.id + '"]');
          if (row) update(row, transfer);
        });
      })
      .catch(function () {
        /* a missed poll is retried on the next tick */
      })
      .finally(function () {
        window.setTimeout(poll, 1000);
      });
  }
  window.setTimeout(poll, 1000);
})();

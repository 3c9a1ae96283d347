// A job's page follows the job while it waits or runs, then reloads to show the result
// (e.g. the export's download link). Without this file the page has a "Refresh" link.
(function () {
  "use strict";

  function follow(box) {
    var url = box.getAttribute("data-job-status-url");
    var bar = box.querySelector("progress");
    var message = box.querySelector("[data-job-message]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          if (data.state !== "queued" && data.state !== "running") {
            window.location.reload();
            return;
          }
          var percent = Math.round((data.progress || 0) * 100);
          if (bar) {
            bar.value = percent;
          }
          if (message) {
            message.textContent = (data.message || "") + " (" + percent + "%)";
          }
          window.setTimeout(poll, 2000);
        })
        .catch(function () {
          window.setTimeout(poll, 10000);
        });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-job-status-url]").forEach(follow);
  });
})();

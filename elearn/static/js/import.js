// Staff imports: follow a file being checked or applied, then show the result.
// Without this file the page still works: it has a "Refresh" link.
(function () {
  "use strict";

  function follow(box) {
    var url = box.getAttribute("data-import-status-url");
    var bar = box.querySelector("[data-import-progress]");
    var message = box.querySelector("[data-import-message]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          if (data.state !== "checking" && data.state !== "applying") {
            window.location.reload();
            return;
          }
          var percent = Math.round((data.progress || 0) * 100);
          if (bar) {
            bar.value = percent;
            bar.textContent = percent + "%";
          }
          if (message) {
            message.textContent = data.message + " (" + percent + "%)";
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
    document.querySelectorAll("[data-import-status-url]").forEach(follow);
  });
})();

// Pages of work that runs in the background (a job, a staff import) follow it: every 2 s
// they ask its status URL, show the progress and message, and reload once it has ended, so
// the page shows the result (an export's download link, an import's outcome). Without this
// file the pages still work: each has a "Refresh" link.
//   <section data-follow-url="/jobs/7/status" data-follow-while="queued running">
//     <progress …></progress>  <p role="status" data-follow-message>…</p>
(function () {
  "use strict";

  function follow(box) {
    var url = box.getAttribute("data-follow-url");
    var running = (box.getAttribute("data-follow-while") || "").split(" ");
    var bar = box.querySelector("progress");
    var message = box.querySelector("[data-follow-message]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          if (running.indexOf(data.state) < 0) {
            window.location.reload();
            return;
          }
          var percent = Math.round((data.progress || 0) * 100);
          if (bar) {
            bar.value = percent;
            bar.textContent = percent + "%";
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
    document.querySelectorAll("[data-follow-url]").forEach(follow);
  });
})();

// elearn: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Take keyboard and screen-reader users straight to a form's error summary.
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  });
  // Forms that undo work (deactivate, remove a role) ask first: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();

/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  // Move focus to a form's error summary so keyboard and screen-reader users hear it first.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
})();

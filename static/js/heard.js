/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  // Move focus to a form's error summary so keyboard and screen-reader users hear it first.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
  // The directory's filters come folded when there are results (the template does it, before
  // the first paint: folding them here moved the whole list, a layout shift).
  var filters = document.querySelector(".filters-disclosure");
  var narrow = window.matchMedia("(max-width: 50rem)");
  if (filters && narrow.addEventListener) {
    // A wide screen shows no toggle, so a phone turned sideways gets its filters back.
    narrow.addEventListener("change", function (event) {
      if (!event.matches) {
        filters.setAttribute("open", "");
      }
    });
  }
  // A table wider than the screen scrolls inside its .table-wrap: then the keyboard must be
  // able to scroll it too (WCAG 2.1.1), so it takes focus, as a region named like its table.
  function focusWideTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth <= wrap.clientWidth) {
        if (wrap.hasAttribute("data-scrolls")) {
          ["data-scrolls", "tabindex", "role", "aria-label", "aria-labelledby"].forEach(
            function (name) { wrap.removeAttribute(name); }
          );
        }
        return;
      }
      wrap.setAttribute("data-scrolls", "");
      wrap.setAttribute("tabindex", "0");
      var caption = wrap.querySelector("caption");
      var labelled = wrap.closest("[aria-labelledby]");
      if (caption && caption.textContent.trim()) {
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", caption.textContent.trim());
      } else if (labelled) {
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-labelledby", labelled.getAttribute("aria-labelledby"));
      }
    });
  }
  focusWideTables();
  window.addEventListener("resize", focusWideTables);
  document.addEventListener("toggle", focusWideTables, true); // a table in an opened <details>
})();

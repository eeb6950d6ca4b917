/* Names for the admin widgets that Django's scripts build without one (WCAG 4.1.2):
   - an autocomplete (select2) is named only by the choice made, so it has no name until
     then: it is named by its field's label, followed by the choice;
   - the filter boxes of the two-list selector (groups, permissions) put aria-label on a span
     with no role, where assistive technology may ignore it: they become images of that name.
   The widgets are built after the page loads (and again when an inline row is added), so
   this watches for them rather than running once. */
"use strict";
{
  const nameAutocompletes = () => {
    document.querySelectorAll("select.admin-autocomplete[id]").forEach((select) => {
      const shown = document.getElementById(`select2-${select.id}-container`);
      const label = document.querySelector(`label[for="${CSS.escape(select.id)}"]`);
      if (!shown || !label || shown.hasAttribute("data-named")) {
        return;
      }
      label.id = label.id || `${select.id}-label`;
      shown.setAttribute("aria-labelledby", label.id);
      shown.setAttribute("data-named", "");
      shown.closest(".select2-selection")?.setAttribute("aria-labelledby", `${label.id} ${shown.id}`);
    });
  };
  const nameFilterIcons = () => {
    document.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach((icon) => {
      icon.setAttribute("role", "img");
    });
  };
  const fix = () => {
    nameAutocompletes();
    nameFilterIcons();
  };
  new MutationObserver(fix).observe(document.documentElement, { childList: true, subtree: true });
}

// After an action, its result is on screen: on a phone the header and menu can push the flash message, or a
// form's error at the bottom of a long page, out of sight. The first error (else the flash) scrolls into view,
// a folded section holding it opens, and the field it concerns takes the focus.
(function () {
  "use strict";
  function shown(selector) {
    var found = document.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) {
      if (!found[i].hidden && found[i].getClientRects().length) { return found[i]; }
      if (!found[i].hidden && found[i].closest("details:not([open])")) { return found[i]; }  // folded: opened below
    }
    return null;
  }
  function reveal() {
    var error = shown("main .form-error, main .field-error[role='alert']");
    var target = error || shown("main .flashes");
    if (!target) { return; }
    for (var box = target.closest("details"); box; box = box.parentElement && box.parentElement.closest("details")) {
      box.open = true;
    }
    var where = target.getBoundingClientRect();
    if (where.top < 0 || where.bottom > window.innerHeight) {
      target.scrollIntoView({ block: "center" });
    }
    // the field named by the first field-level message, else the first one near the form's message
    var named = shown("main .field-error[role='alert']");
    var holder = named ? (named.closest(".field") || named.parentElement) : error && error.parentElement;
    var field = holder && holder.querySelector("input:not([type='hidden']), textarea, select");
    if (field && !field.disabled) { field.focus({ preventScroll: true }); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reveal);
  } else {
    reveal();
  }
})();

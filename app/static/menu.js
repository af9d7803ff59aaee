// The phone menu: on a narrow screen the navigation (8–11 links, ~400 of 844 px) folds behind one 菜单 button.
// Loaded without `defer` so the fold is in place before the first paint; without this script the navigation
// simply stays open. The button is a real <button>: Enter and Space toggle it, aria-expanded says its state.
(function () {
  "use strict";
  document.documentElement.classList.add("menu-folds");
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".menu-toggle");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        button.click();
        button.focus();
      }
    });
  });
})();

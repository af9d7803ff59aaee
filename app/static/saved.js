// After a save went through: the copy of the editor's text this browser kept while it was typed (editor.js)
// is dropped, so it is never offered again as unsaved work, in this tab or any other (no second statement).
(function () {
  "use strict";
  var me = document.currentScript || document.querySelector("script[data-saved-copy]");
  var editor = me && me.dataset.savedCopy;
  if (!editor) { return; }
  try { window.localStorage.removeItem("huiying:draft:" + editor); } catch (e) { /* storage refused: nothing kept */ }
})();

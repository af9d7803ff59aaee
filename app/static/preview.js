// What each channel will show (review/_channel_preview.html): tabs on a phone, both side by side on a
// desktop; in the editor, typing updates the preview after a pause (POST /api/v1/preview renders the
// unsaved body with the publishing renderers). Nothing is saved and the page never reloads.
(function () {
  "use strict";
  var box = document.getElementById("channel-preview");
  if (!box) return;

  // Tabs (WAI-ARIA tabs pattern). The CSS shows one pane at a time only below the desktop width.
  var tablist = box.querySelector(".cp-tabs");
  var tabs = Array.prototype.slice.call(box.querySelectorAll(".cp-tab"));
  function select(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).classList.toggle("cp-active", on);
    });
    if (focus) tab.focus();
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(tab, false); });
    tab.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      e.preventDefault();
      select(tabs[(i + step + tabs.length) % tabs.length], true);
    });
  });
  if (tablist && tabs.length) {
    tablist.hidden = false;
    box.classList.add("cp-tabbed");
    // a phone shows the WeChat article first: that is where most readers will see it
    select(tabs[tabs.length - 1], false);
  }

  if (!box.dataset.url) return;
  var title = document.getElementById("title");
  var digest = document.getElementById("digest");
  var body = document.getElementById("body");
  var form = box.closest("form") || document;
  var problem = box.querySelector(".cp-problem");
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var shareChars = parseInt(box.dataset.shareChars, 10) || 54;
  var timer = null;
  var sent = 0;

  function setAll(name, text) {
    var els = box.querySelectorAll('[data-cp="' + name + '"]');
    for (var i = 0; i < els.length; i++) els[i].textContent = text;
    return els;
  }

  function shareDigest() {
    var d = digest ? digest.value.trim() : "";
    if (d) return d;
    var content = box.querySelector('[data-cp-html="wechat"]');
    return content ? content.textContent.replace(/\s+/g, " ").trim().slice(0, shareChars) : "";
  }

  function words() {
    setAll("title", (title && title.value.trim()) || box.dataset.untitled);
    var d = digest ? digest.value.trim() : "";
    var els = setAll("digest", d);
    for (var i = 0; i < els.length; i++) els[i].hidden = !d;
    setAll("share-digest", shareDigest());
  }

  function channels() {
    var boxes = form.querySelectorAll('input[name="channels"]');
    var panes = box.querySelectorAll(".cp-pane");
    for (var i = 0; i < panes.length; i++) {
      var wanted = false;
      for (var j = 0; j < boxes.length; j++) {
        if (boxes[j].value === panes[i].dataset.channel && boxes[j].checked) wanted = true;
      }
      if (wanted) panes[i].removeAttribute("data-off"); else panes[i].setAttribute("data-off", "");
    }
  }

  function render() {
    var mine = ++sent;
    fetch(box.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json"},
      body: JSON.stringify({body: body ? body.value : ""})
    }).then(function (resp) {
      return resp.json().then(function (json) { return {ok: resp.ok, json: json}; });
    }).then(function (result) {
      if (mine !== sent) return;  // a later keystroke's answer will follow
      if (!result.ok) {
        var err = result.json.error || {};
        problem.textContent = (err.fields && err.fields.body) || err.message || box.dataset.failed;
        problem.hidden = false;
        return;
      }
      problem.hidden = true;
      var html = result.json.channels || {};
      Object.keys(html).forEach(function (channel) {
        var el = box.querySelector('[data-cp-html="' + channel + '"]');
        // sanitized by the same allow-list as publishing (review/render.py), so it may be shown as markup
        if (el) el.innerHTML = html[channel];
      });
      words();
    }).catch(function () {
      if (mine !== sent) return;
      problem.textContent = box.dataset.failed;
      problem.hidden = false;
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(render, 350);
  }

  if (title) title.addEventListener("input", words);
  if (digest) digest.addEventListener("input", words);
  if (body) body.addEventListener("input", later);
  // the editor's toolbar and image upload change the body by script: they announce it with this event
  if (body) body.addEventListener("huiying:changed", later);
  form.addEventListener("change", channels);
  channels();
})();

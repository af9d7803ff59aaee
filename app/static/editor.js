// The statement editor: a small Markdown toolbar, image upload (button, paste, drop; POST /api/v1/images),
// live character counters against the channel limits, a warning before leaving unsaved changes, and a copy
// of what is typed kept in this browser (localStorage) until it is saved or discarded.
(function () {
  "use strict";
  var form = document.querySelector("form.editor");
  var body = document.getElementById("body");
  if (!form || !body) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var status = document.getElementById("upload-status");
  var imageButton = document.getElementById("insert-image");
  var fileInput = document.getElementById("image-file");
  var imagePanel = document.getElementById("image-panel");
  var linkPanel = document.getElementById("link-panel");

  // Every change made by script is announced as typing, so the checks, the preview and the counters follow.
  function changed(el) { el.dispatchEvent(new Event("input", {bubbles: true})); }

  function replaceSelection(make) {
    var start = body.selectionStart, end = body.selectionEnd;
    var made = make(body.value.slice(start, end));
    body.value = body.value.slice(0, start) + made.text + body.value.slice(end);
    body.focus();
    body.selectionStart = start + (made.selectFrom || 0);
    body.selectionEnd = start + (made.selectTo === undefined ? made.text.length : made.selectTo);
    changed(body);
  }

  function insertBlock(text) {
    // a block (an image with its caption) on lines of its own
    var start = body.selectionStart;
    var before = body.value.slice(0, start);
    var pad = !before || /\n\n$/.test(before) ? "" : /\n$/.test(before) ? "\n" : "\n\n";
    replaceSelection(function () { return {text: pad + text + "\n\n"}; });
  }

  function prefixLines(prefix, numbered) {
    var start = body.value.lastIndexOf("\n", body.selectionStart - 1) + 1;
    var end = body.value.indexOf("\n", body.selectionEnd);
    if (end < 0) end = body.value.length;
    var lines = body.value.slice(start, end).split("\n");
    var out = lines.map(function (line, i) {
      var bare = line.replace(/^(#{1,6} |[-*] |\d+\. )/, "");
      return (numbered ? (i + 1) + ". " : prefix) + bare;
    }).join("\n");
    body.value = body.value.slice(0, start) + out + body.value.slice(end);
    body.focus();
    body.selectionStart = start;
    body.selectionEnd = start + out.length;
    changed(body);
  }

  var actions = {
    heading: function () { prefixLines("## "); },
    bold: function () {
      replaceSelection(function (sel) {
        var inner = sel || form.dataset.boldPlaceholder || "";
        return {text: "**" + inner + "**", selectFrom: 2, selectTo: 2 + inner.length};
      });
    },
    list: function () { prefixLines("- "); },
    numbered: function () { prefixLines("", true); },
    link: function () { toggle(linkPanel, imagePanel); },
    image: function () { toggle(imagePanel, linkPanel); }
  };

  function toggle(panel, other) {
    if (!panel) return;
    if (other) other.hidden = true;
    panel.hidden = !panel.hidden;
    if (!panel.hidden) {
      var first = panel.querySelector("input:not([type=file])");
      if (first) first.focus();
      if (panel === linkPanel) {
        var text = document.getElementById("link-text");
        if (text && !text.value) text.value = body.value.slice(body.selectionStart, body.selectionEnd);
      }
    }
  }

  var buttons = form.querySelectorAll("[data-md]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (e) {
      var act = actions[e.currentTarget.dataset.md];
      if (act) act();
    });
  }

  // Links: [text](https://…); only http(s) and mailto survive publishing anyway.
  var linkInsert = document.getElementById("link-insert");
  if (linkInsert) {
    linkInsert.addEventListener("click", function () {
      var url = document.getElementById("link-url");
      var text = document.getElementById("link-text");
      var href = url.value.trim();
      if (!/^(https?:\/\/|mailto:|\/)/i.test(href)) {
        document.getElementById("link-error").hidden = false;
        url.focus();
        return;
      }
      document.getElementById("link-error").hidden = true;
      var label = text.value.trim() || href;
      // the selected words become the link; other link text goes after them, leaving them as they were
      if (label !== body.value.slice(body.selectionStart, body.selectionEnd)) body.selectionStart = body.selectionEnd;
      replaceSelection(function () { return {text: "[" + label + "](" + href + ")"}; });
      url.value = text.value = "";
      linkPanel.hidden = true;
    });
  }

  // Images: uploaded first, then inserted as Markdown with their description (alt) and, if given, a caption
  // on the line beneath in italics, which every channel shows under the image (no raw HTML in the text).
  function imageMarkdown(url) {
    var altEl = document.getElementById("image-alt");
    var capEl = document.getElementById("image-caption");
    var alt = altEl ? altEl.value.trim() : "";
    var caption = capEl ? capEl.value.trim().replace(/\s+/g, " ") : "";
    if (altEl) altEl.value = "";
    if (capEl) capEl.value = "";
    var image = "![" + (alt || caption).replace(/[\[\]]/g, "") + "](" + url + ")";
    if (!caption) return {text: image, block: false};
    // Markdown's own characters in the caption stay characters, not emphasis or links
    return {text: image + "\n*" + caption.replace(/([\\`*_\[\]])/g, "\\$1") + "*", block: true};
  }

  function upload(file) {
    var data = new FormData();
    data.append("file", file);
    if (status) status.textContent = imageButton.dataset.uploading || "…";
    return fetch(imageButton.dataset.uploadUrl, {
      method: "POST", body: data, credentials: "same-origin", headers: {"X-CSRFToken": token}
    }).then(function (resp) {
      return resp.json().then(function (json) { return {ok: resp.ok, json: json}; });
    }).then(function (result) {
      if (!result.ok) {
        var err = result.json.error || {};
        if (status) status.textContent = (err.fields && err.fields.file) || err.message || "";
        return;
      }
      var md = imageMarkdown(result.json.url);
      if (md.block) insertBlock(md.text);
      else replaceSelection(function () { return {text: md.text}; });
      if (imagePanel) imagePanel.hidden = true;
      if (status) status.textContent = "";
    }).catch(function () {
      if (status) status.textContent = imageButton.dataset.failed || "";
    });
  }

  var choose = document.getElementById("image-choose");
  if (choose && fileInput) choose.addEventListener("click", function () { fileInput.click(); });
  if (fileInput) {
    fileInput.addEventListener("change", function () {
      if (!fileInput.files.length) return;
      upload(fileInput.files[0]).finally(function () { fileInput.value = ""; });
    });
  }

  function images(list) {
    var out = [];
    for (var i = 0; list && i < list.length; i++) if (/^image\//.test(list[i].type)) out.push(list[i]);
    return out;
  }
  body.addEventListener("paste", function (e) {
    var found = images(e.clipboardData && e.clipboardData.files);
    if (!found.length) return;
    e.preventDefault();
    found.reduce(function (p, f) { return p.then(function () { return upload(f); }); }, Promise.resolve());
  });
  body.addEventListener("dragover", function (e) {
    if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) {
      e.preventDefault();
      body.classList.add("drop-target");
    }
  });
  body.addEventListener("dragleave", function () { body.classList.remove("drop-target"); });
  body.addEventListener("drop", function (e) {
    body.classList.remove("drop-target");
    var found = images(e.dataTransfer && e.dataTransfer.files);
    if (!found.length) return;
    e.preventDefault();
    found.reduce(function (p, f) { return p.then(function () { return upload(f); }); }, Promise.resolve());
  });

  // Agencies from the maintained list: one tap adds the name as a line (free text stays possible).
  var picks = form.querySelectorAll("[data-agency]");
  for (var k = 0; k < picks.length; k++) {
    picks[k].addEventListener("click", function (e) {
      var area = document.getElementById("agencies");
      var name = e.currentTarget.dataset.agency;
      var lines = area.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      if (lines.indexOf(name) < 0) lines.push(name);
      area.value = lines.join("\n");
      changed(area);
    });
  }

  // Counters against the limits (review/validation.py; WeChat's title limit when WeChat is a channel).
  function wechatChosen() {
    var box = form.querySelector('input[name="channels"][value="wechat"]');
    return !!(box && box.checked);
  }
  var counters = form.querySelectorAll("[data-count-for]");
  function count() {
    for (var i = 0; i < counters.length; i++) {
      var c = counters[i];
      var field = document.getElementById(c.dataset.countFor);
      var n = Array.from(c.dataset.countFor === "title" ? field.value.trim() : field.value).length;
      var parts = [[c.dataset.label, parseInt(c.dataset.max, 10)]];
      if (c.dataset.wechatMax && wechatChosen()) parts.push([c.dataset.wechatLabel, parseInt(c.dataset.wechatMax, 10)]);
      c.textContent = "";
      parts.forEach(function (p) {
        var span = document.createElement("span");
        span.textContent = p[0].replace("{n}", n).replace("{max}", p[1]);
        if (n > p[1]) span.className = "over";
        c.appendChild(span);
      });
    }
  }

  // What is typed, kept in this browser: per statement and revision, so an older copy never overwrites a newer text.
  var key = "huiying:draft:" + form.dataset.autosaveKey;
  var notice = document.getElementById("autosave");
  // wechat_mode: radio buttons, whose RadioNodeList reads and sets the checked one by its value
  var names = ["title", "digest", "body", "priority", "go_live_at", "agencies", "case_ids", "wechat_mode"];
  var comments = form.querySelector('input[type="checkbox"][name="comments_open"]');
  function snapshot() {
    var out = {};
    names.forEach(function (n) { var el = form.elements[n]; if (el) out[n] = el.value; });
    out.channels = Array.prototype.filter.call(form.querySelectorAll('input[name="channels"]'),
      function (b) { return b.checked; }).map(function (b) { return b.value; });
    if (comments) out.comments_open = comments.checked;
    return out;
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function restore(saved) {
    names.forEach(function (n) { var el = form.elements[n]; if (el && saved[n] !== undefined) el.value = saved[n]; });
    Array.prototype.forEach.call(form.querySelectorAll('input[name="channels"]'), function (b) {
      b.checked = (saved.channels || []).indexOf(b.value) >= 0;
    });
    if (comments && saved.comments_open !== undefined) comments.checked = saved.comments_open;
    ["title", "digest", "body"].forEach(function (n) { if (form.elements[n]) changed(form.elements[n]); });
    form.dispatchEvent(new Event("change", {bubbles: true}));
  }
  var original = snapshot();
  var dirty = false;
  var submitting = false;
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }

  function read() {
    try { return store && JSON.parse(store.getItem(key) || "null"); } catch (e) { return null; }
  }
  function keep() {
    if (!store) return;
    var now = snapshot();
    try {
      if (same(now, original)) store.removeItem(key);
      else store.setItem(key, JSON.stringify({at: Date.now(), values: now}));
    } catch (e) { /* storage full or refused: the warning before leaving still protects the text */ }
  }
  var saveTimer = null;
  function typed() {
    dirty = !same(snapshot(), original);
    count();
    clearTimeout(saveTimer);
    saveTimer = setTimeout(keep, 800);
  }
  document.addEventListener("visibilitychange", function () { if (document.hidden && !submitting) keep(); });
  form.addEventListener("input", typed);
  form.addEventListener("change", typed);

  // A copy from an earlier visit: offered, never forced. A save that went through has dropped it already
  // (the page after the save runs saved.js); one refused, or lost to an expired session, is still here.
  var saved = read();
  if (saved && saved.values && !same(saved.values, original) && notice) {
    var when = new Date(saved.at);
    notice.querySelector("[data-when]").textContent =
      when.toLocaleString(document.documentElement.lang === "en" ? "en" : "zh-CN");
    notice.hidden = false;
    notice.querySelector("[data-restore]").addEventListener("click", function () {
      restore(saved.values);
      notice.hidden = true;
      dirty = true;
    });
    notice.querySelector("[data-discard]").addEventListener("click", function () {
      if (store) store.removeItem(key);
      notice.hidden = true;
    });
  }

  form.addEventListener("submit", function () {
    submitting = true;
    keep();  // until the server says the text arrived (saved.js), this copy is the only one
  });
  window.addEventListener("beforeunload", function (e) {
    if (!submitting) keep();  // the last keystrokes, not yet written by the pause timer
    if (!dirty || submitting) return;
    e.preventDefault();
    e.returnValue = "";
  });
  count();
})();

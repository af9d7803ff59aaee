// Pre-publication checks as you type: after a pause, POST the editor's text to /api/v1/checks and list
// what saving it would record (interface §10). No page reload; nothing is saved by this call.
(function () {
  "use strict";
  var panel = document.getElementById("live-checks");
  if (!panel) return;
  var form = panel.closest("form") || document;
  var title = document.getElementById("title");
  var digest = document.getElementById("digest");
  var body = document.getElementById("body");
  var list = panel.querySelector("ul");
  var summary = panel.querySelector(".check-summary");
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var timer = null;
  var sent = 0;

  function channels() {
    var boxes = form.querySelectorAll('input[name="channels"]');
    var out = [];
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) out.push(boxes[i].value);
    return out;
  }

  function show(findings) {
    list.textContent = "";
    var blocking = 0;
    findings.forEach(function (f) {
      if (f.severity === "block") blocking++;
      var li = document.createElement("li");
      li.className = "check check-" + f.severity;
      var tag = document.createElement("span");
      tag.className = "tag check-" + f.severity;
      tag.textContent = f.severity === "block" ? panel.dataset.block : panel.dataset.warn;
      var msg = document.createElement("span");
      msg.className = "check-message";
      msg.textContent = f.message;
      li.appendChild(tag);
      li.appendChild(msg);
      if (f.excerpt) {
        var ex = document.createElement("mark");
        ex.textContent = f.excerpt;
        li.appendChild(ex);
      }
      list.appendChild(li);
    });
    summary.textContent = !findings.length ? panel.dataset.none
      : blocking ? panel.dataset.blocking.replace("{n}", blocking) : panel.dataset.warnings.replace("{n}", findings.length);
    panel.classList.toggle("has-block", blocking > 0);
  }

  function check() {
    var mine = ++sent;
    fetch(panel.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({title: title.value, digest: digest.value, body: body.value, channels: channels()})
    }).then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (json) { if (json && mine === sent) show(json.checks); })
      .catch(function () { /* the checks run again on save; a lost answer costs nothing */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  }

  [title, digest, body].forEach(function (el) { if (el) el.addEventListener("input", later); });
  form.addEventListener("change", later);
  check();
})();

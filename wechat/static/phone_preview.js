// 发到我的微信预览 (wechat/_phone_preview.html): POST /api/v1/statements/{id}/wechat-preview and say the
// answer in place; without this script the form posts to the page route, which answers with a message.
(function () {
  "use strict";
  var box = document.getElementById("phone-preview");
  var form = document.getElementById("wx-preview");
  if (!box || !form || form.dataset.ready) return;
  form.dataset.ready = "1";
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var out = box.querySelector(".phone-preview-result");
  var button = box.querySelector('button[form="wx-preview"]');
  var input = document.getElementById("wx-towxname");

  function say(text, kind) {
    out.textContent = text;
    out.className = "phone-preview-result" + (kind ? " " + kind : "");
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var wanted = input ? input.value.trim() : "";
    button.disabled = true;
    say(box.dataset.sending, "");
    fetch(box.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json"},
      body: JSON.stringify(wanted ? {towxname: wanted} : {})
    }).then(function (resp) {
      return resp.json().then(function (json) { return {ok: resp.ok, json: json}; });
    }).then(function (result) {
      button.disabled = false;
      if (result.ok) {
        var sent = result.json;
        say(box.dataset.sent.replace("{id}", sent.towxname).replace("{n}", sent.used_today)
          .replace("{limit}", sent.limit), "ok");
        return;
      }
      var err = result.json.error || {};
      say(err.message || box.dataset.failed, "field-error");
      if (input && err.fields && err.fields.towxname) input.focus();
    }).catch(function () {
      button.disabled = false;
      say(box.dataset.failed, "field-error");
    });
  });
})();

// Image upload for the statement editor: POST /api/v1/images, then insert ![](url) at the cursor.
(function () {
  "use strict";
  var button = document.getElementById("insert-image");
  var input = document.getElementById("image-file");
  var body = document.getElementById("body");
  var status = document.getElementById("upload-status");
  if (!button || !input || !body) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;

  button.addEventListener("click", function () { input.click(); });
  input.addEventListener("change", function () {
    if (!input.files.length) return;
    var data = new FormData();
    data.append("file", input.files[0]);
    status.textContent = button.dataset.uploading || "…";
    fetch(button.dataset.uploadUrl, {
      method: "POST", body: data, credentials: "same-origin", headers: {"X-CSRFToken": token}
    }).then(function (resp) {
      return resp.json().then(function (json) { return {ok: resp.ok, json: json}; });
    }).then(function (result) {
      if (!result.ok) {
        var err = result.json.error || {};
        status.textContent = (err.fields && err.fields.file) || err.message || "";
        return;
      }
      var start = body.selectionStart, end = body.selectionEnd;
      var text = "![](" + result.json.url + ")";
      body.value = body.value.slice(0, start) + text + body.value.slice(end);
      body.focus();
      body.selectionStart = body.selectionEnd = start + text.length;
      status.textContent = "";
    }).catch(function () {
      status.textContent = button.dataset.failed || "";
    }).finally(function () { input.value = ""; });
  });
})();

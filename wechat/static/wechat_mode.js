// The editor's 微信发送方式 (wechat/_editor_mode.html): shown while the WeChat channel is ticked.
(function () {
  "use strict";
  var box = document.getElementById("wechat-mode");
  if (!box) return;
  var form = box.closest("form");
  var channel = form && form.querySelector('input[name="channels"][value="' + box.dataset.withChannel + '"]');
  if (!channel) return;
  function show() { box.hidden = !channel.checked; }
  form.addEventListener("change", show);
  show();
})();

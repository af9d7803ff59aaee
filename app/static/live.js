// Live status on the statement page: re-fetch the publishing block every 3 s while anything is in flight
// (once a minute while it only waits for the next mass-send period)
// and patch it in place. Nothing else on the page is touched, so a retraction reason being typed stays.
(function () {
  "use strict";
  var box = document.getElementById("deliveries");
  if (!box || !box.dataset.liveUrl) { return; }
  var url = box.dataset.liveUrl;
  var statusBadge = document.querySelector("[data-live-status]");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { setTimeout(tick, 10000); return; }
        if (!box.contains(document.activeElement)) { box.innerHTML = data.html; }
        if (statusBadge && data.status_label) {
          statusBadge.textContent = data.status_label;
          statusBadge.className = "status status-" + data.status;
        }
        if (data.in_flight) { setTimeout(tick, 1000 * (data.poll_seconds || 3)); }
      })
      .catch(function () { setTimeout(tick, 10000); });
  }
  setTimeout(tick, 3000);
})();

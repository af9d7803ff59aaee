// Live character counters for plain forms (the editor has its own): <p class="counter" data-count-for="<field id>"
// data-max="100" data-label="{n} / {max} 字">. The field keeps no maxlength, so a pasted text is never cut
// silently: the counter turns red past the limit and the server refuses it with a message beside the field.
(function () {
  "use strict";
  function update(counter, field) {
    var n = Array.from(field.value.trim()).length;
    var max = parseInt(counter.dataset.max, 10);
    var span = document.createElement("span");
    span.textContent = counter.dataset.label.replace("{n}", n).replace("{max}", max);
    if (n > max) span.className = "over";
    counter.replaceChildren(span);
  }
  document.querySelectorAll("[data-count-for]").forEach(function (counter) {
    var field = document.getElementById(counter.dataset.countFor);
    if (!field) return;
    field.addEventListener("input", function () { update(counter, field); });
    update(counter, field);
  });
})();

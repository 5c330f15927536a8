// The 5-minute speaking timer (发言限时制): counts down beside the statement form and, when stopped, fills in the
// statement's length. Without JavaScript the recorder types the seconds; meetings flags time over the limit.
(function () {
  "use strict";
  function show(clock, left) {
    var over = left < 0, s = Math.abs(left);
    clock.textContent = (over ? "+" : "") + Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    clock.classList.toggle("late", over);
  }
  function setUp(box) {
    var limit = parseInt(box.dataset.limit, 10), target = document.getElementById(box.dataset.target);
    var clock = box.querySelector(".clock"), started = null, tick = null;
    box.hidden = false;
    box.querySelector("[data-start]").addEventListener("click", function () {
      started = Date.now();
      clearInterval(tick);
      show(clock, limit);
      tick = setInterval(function () { show(clock, limit - Math.floor((Date.now() - started) / 1000)); }, 250);
    });
    box.querySelector("[data-stop]").addEventListener("click", function () {
      if (started === null) { return; }
      clearInterval(tick);
      target.value = Math.max(1, Math.round((Date.now() - started) / 1000));
      started = null;
      target.focus();
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-timer]").forEach(setUp);
  });
})();

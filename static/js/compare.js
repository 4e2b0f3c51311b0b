/* Compare page: reveals the overlay and blends the later image over the earlier one. */
(function () {
  "use strict";
  var overlay = document.querySelector("[data-overlay]");
  if (!overlay) {
    return;
  }
  var top = overlay.querySelector("[data-overlay-top]");
  var range = overlay.querySelector("[data-overlay-range]");
  function blend() {
    top.style.opacity = String(Number(range.value) / 100);
  }
  range.addEventListener("input", blend);
  blend();
  overlay.hidden = false;
})();

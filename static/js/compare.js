/* Compare page: both images zoom and pan together; on any screen the later image can also
   lie over the earlier one, revealed by a swipe line or blended, with one slider. */
(function () {
  "use strict";

  var compare = document.querySelector("[data-compare]");
  if (!compare || !window.DermaZoom) return;

  var modes = document.querySelector("[data-compare-modes]");
  var hint = document.querySelector("[data-compare-hint]");
  var slider = compare.querySelector("[data-compare-slider]");
  var amount = compare.querySelector("[data-compare-amount]");
  var sliderLabel = compare.querySelector("[data-compare-slider-label]");
  var laterFigure = compare.querySelector('[data-compare-side="later"]');
  var laterStage = laterFigure.querySelector("[data-zoom-stage]");
  var laterCaption = laterFigure.querySelector("figcaption");
  var earlierStage = compare.querySelector('[data-compare-side="earlier"] [data-zoom-stage]');
  var later = laterStage.querySelector("[data-zoom-content]");
  var zooms = Array.prototype.map.call(compare.querySelectorAll("[data-zoom-stage]"), function (stage) {
    return window.DermaZoom.attach(stage);
  });
  window.DermaZoom.sync(zooms, modes);
  var mode = "side";

  function apply() {
    var value = Number(amount.value);
    amount.setAttribute("aria-valuetext", value + " %");
    later.style.clipPath = "";
    later.style.opacity = "";
    if (mode === "swipe") {
      later.style.clipPath = "inset(0 0 0 " + value + "%)"; // later image right of the line
    } else if (mode === "blend") {
      later.style.opacity = String(value / 100);
    }
  }

  /* Swipe and blend lay the later image over the earlier one (inside its frame, which takes
     the pointer for both); both captions and results stay in view below. */
  function place(overlaid) {
    if (overlaid && laterStage.parentNode !== earlierStage) {
      earlierStage.appendChild(laterStage);
    } else if (!overlaid && laterStage.parentNode !== laterFigure) {
      laterFigure.insertBefore(laterStage, laterCaption);
    }
    laterStage.classList.toggle("zoom-stage--over", overlaid);
    laterStage.tabIndex = overlaid ? -1 : 0;
    laterStage.setAttribute("aria-hidden", String(overlaid));
  }

  function setMode(next) {
    mode = next;
    place(mode !== "side");
    compare.classList.toggle("compare--side", mode === "side");
    compare.classList.toggle("compare--overlay", mode !== "side");
    slider.hidden = mode === "side";
    sliderLabel.textContent = mode === "swipe"
      ? "Swipe: earlier image left of the line, later image right of it"
      : "Blend from the earlier image (left) to the later one (right)";
    modes.querySelectorAll("[data-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-mode") === mode));
    });
    // The overlaid stages share one box: keep the same zoom on both.
    zooms[1].set(zooms[0].scale, zooms[0].fx, zooms[0].fy, true);
    apply();
  }

  modes.querySelectorAll("[data-mode]").forEach(function (button) {
    button.addEventListener("click", function () { setMode(button.getAttribute("data-mode")); });
  });
  amount.addEventListener("input", apply);
  modes.hidden = false;
  hint.hidden = false;
  setMode("side");
})();

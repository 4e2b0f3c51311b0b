/* Lesion page: each visit's heatmap (off until switched on, opacity by slider), the
   enlarged image with zoom (a <dialog>; without JavaScript the link opens the image), and
   folded visits opened when a link points into them or the page is printed. */
(function () {
  "use strict";

  function percentText(range) {
    range.setAttribute("aria-valuetext", range.value + " %");
  }

  /* A heatmap switch and its opacity slider over one overlay image. */
  function bindHeatmap(toggle, range, overlay) {
    function apply() {
      range.disabled = !toggle.checked;
      overlay.hidden = false;
      overlay.style.opacity = toggle.checked ? String(Number(range.value) / 100) : "0";
      overlay.style.visibility = toggle.checked ? "visible" : "hidden";
      percentText(range);
    }
    toggle.addEventListener("change", apply);
    range.addEventListener("input", apply);
    apply();
    return apply;
  }

  var appliers = new Map();
  document.querySelectorAll("[data-viewer]").forEach(function (viewer) {
    var toggle = viewer.querySelector("[data-heatmap-toggle]");
    var range = viewer.querySelector("[data-heatmap-opacity]");
    var overlay = viewer.querySelector("[data-heatmap-image]");
    if (toggle && range && overlay) {
      appliers.set(viewer, bindHeatmap(toggle, range, overlay));
    }
  });

  /* The status poller (analysis-status.js) swaps a finished card in without a reload; the
     visit's image column then gets the heatmap the worker stored, and its summary the result. */
  function resultArrived(card) {
    var visit = card.closest("[data-visit]");
    var viewer = visit && visit.querySelector("[data-viewer]");
    if (!viewer) return;
    var status = visit.querySelector(".visit__summary .analysis-status");
    var diagnosis = card.querySelector(".analysis__diagnosis");
    if (status) {
      status.textContent = diagnosis ? "Result: " + diagnosis.textContent.trim() : "Finished";
    }
    var toggle = viewer.querySelector("[data-heatmap-toggle]");
    if (!toggle || !toggle.disabled) return;
    var url = viewer.getAttribute("data-heatmap-pattern")
      .replace("/0/", "/" + card.getAttribute("data-analysis-id") + "/");
    var probe = new Image();
    probe.onload = function () {  // a result without a heatmap (not assessable) answers 404
      viewer.querySelector("[data-heatmap-image]").src = url;
      viewer.querySelector("[data-enlarge]").setAttribute("data-heatmap", url);
      toggle.disabled = false;
      appliers.get(viewer)();
    };
    probe.src = url;
  }
  var visits = document.querySelector(".visits");
  if (visits && window.MutationObserver) {
    new MutationObserver(function (mutations) {
      mutations.forEach(function (mutation) {
        mutation.addedNodes.forEach(function (node) {
          if (node.nodeType === 1 && node.getAttribute("data-analysis-status") === "done") {
            resultArrived(node);
          }
        });
      });
    }).observe(visits, { childList: true, subtree: true });
  }

  var dialog = document.getElementById("image-viewer");
  if (dialog && typeof dialog.showModal === "function" && window.DermaZoom) {
    var stage = dialog.querySelector("[data-zoom-stage]");
    var zoom = window.DermaZoom.attach(stage);
    window.DermaZoom.sync([zoom], dialog.querySelector(".zoom-buttons"));
    var image = dialog.querySelector("[data-viewer-image]");
    var heatmap = dialog.querySelector("[data-viewer-heatmap]");
    var heatmapControls = dialog.querySelector("[data-viewer-heatmap-controls]");
    var heatmapToggle = dialog.querySelector("[data-viewer-heatmap-toggle]");
    var heatmapRange = dialog.querySelector("[data-viewer-heatmap-opacity]");
    var title = dialog.querySelector("[data-viewer-title]");
    var applyHeatmap = bindHeatmap(heatmapToggle, heatmapRange, heatmap);
    var opener = null;

    document.querySelectorAll("[data-enlarge]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
          return; // a new tab or window: the link itself
        }
        event.preventDefault();
        opener = link;
        title.textContent = link.getAttribute("data-caption");
        image.src = link.getAttribute("data-full");
        image.alt = link.querySelector("img").alt;
        var heatmapUrl = link.getAttribute("data-heatmap");
        heatmapControls.hidden = !heatmapUrl;
        // The row's heatmap setting carries over to the enlarged view.
        var row = link.closest("[data-viewer]");
        var rowToggle = row && row.querySelector("[data-heatmap-toggle]");
        var rowRange = row && row.querySelector("[data-heatmap-opacity]");
        heatmapToggle.checked = Boolean(heatmapUrl && rowToggle && rowToggle.checked);
        if (rowRange) {
          heatmapRange.value = rowRange.value;
        }
        if (heatmapUrl) {
          heatmap.src = heatmapUrl;
        } else {
          heatmap.removeAttribute("src");
        }
        applyHeatmap();
        dialog.showModal();
        zoom.reset();
        stage.focus();
      });
    });
    dialog.querySelector("[data-viewer-close]").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close(); // a click on the backdrop
      }
    });
    dialog.addEventListener("close", function () {
      image.removeAttribute("src");
      if (opener) {
        opener.focus();
      }
    });
  }

  /* A link to a card or visit (the worklist's "Review", a redirect after sign-off) opens
     the folded visit that holds it. */
  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id && document.getElementById(id);
    var visit = target && target.closest("details");
    if (visit && !visit.open) {
      visit.open = true;
      target.scrollIntoView();
    }
  }
  openTarget();
  window.addEventListener("hashchange", openTarget);

  // Printing shows every visit; the folds come back afterwards.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = [];
    document.querySelectorAll("details[data-visit]:not([open])").forEach(function (visit) {
      visit.open = true;
      opened.push(visit);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (visit) { visit.open = false; });
  });
})();

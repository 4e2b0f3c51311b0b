/* The lesion page's review panels follow their result cards: when the live status poller
   (analysis-status.js) swaps in a finished card, the panel beside it is fetched again from
   the server, so the result can be signed off without reloading the page. */
(function () {
  "use strict";

  // The lesion page lists one row per visit, each holding a result card and its panel.
  var list = document.querySelector(".visits, .analyses");
  if (!list || !window.fetch || !window.MutationObserver) return;

  function refreshPanel(imageId, status) {
    var panel = list.querySelector('[data-review-panel="' + imageId + '"]');
    if (!panel || panel.getAttribute("data-review-status") === status) return;
    var url = panel.getAttribute("data-review-panel-url");
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("panel " + response.status);
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.querySelector("[data-review-panel]");
        if (fresh && panel.parentNode) panel.parentNode.replaceChild(fresh, panel);
      })
      .catch(function () { /* the panel stays as it was; a reload shows the new one */ });
  }

  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1 || !node.hasAttribute("data-analysis-image")) return;
        var status = node.getAttribute("data-analysis-status");
        if (status === "done" || status === "failed") {
          refreshPanel(node.getAttribute("data-analysis-image"), status);
        }
      });
    });
  }).observe(list, { childList: true, subtree: true });
})();

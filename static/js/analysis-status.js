/* Live analysis status on the lesion page: while an analysis is queued or running, ask the
   server every few seconds and swap in the server-rendered card when its status changes.
   No framework; without JavaScript the page still shows the status as of its last load. */
(function () {
  "use strict";

  var panel = document.querySelector("[data-analysis-poll]");
  if (!panel || !window.fetch) return;

  var url = panel.getAttribute("data-analysis-poll");
  var delay = 1000;          // first poll soon: most analyses take about a second
  var maxDelay = 5000;       // then back off, so an idle tab costs the server little
  var giveUpAt = Date.now() + 15 * 60 * 1000;

  function isPending(status) { return status === "queued" || status === "running"; }

  function anyPendingOnPage() {
    var cards = panel.querySelectorAll("[data-analysis-status]");
    for (var i = 0; i < cards.length; i++) {
      if (isPending(cards[i].getAttribute("data-analysis-status"))) return true;
    }
    return false;
  }

  function replaceCard(card, cardUrl) {
    return fetch(cardUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("card " + response.status);
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (fresh && card.parentNode) card.parentNode.replaceChild(fresh, card);
      });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (data) {
        var updates = [];
        data.analyses.forEach(function (entry) {
          var card = panel.querySelector('[data-analysis-image="' + entry.image + '"]');
          if (!card) return;  // an image added in another tab: shown on the next load
          var shownId = card.getAttribute("data-analysis-id");
          var shownStatus = card.getAttribute("data-analysis-status");
          if (shownId !== String(entry.analysis) || shownStatus !== entry.status) {
            updates.push(replaceCard(card, entry.card_url));
          }
        });
        return Promise.all(updates).then(function () { return data.pending; });
      })
      .then(function (pending) {
        if (pending) {
          delay = Math.min(delay * 1.25, maxDelay);
          schedule();
        }
      })
      .catch(function () {
        delay = maxDelay;    // server or network trouble: keep trying, gently
        schedule();
      });
  }

  function schedule() {
    if (Date.now() < giveUpAt) window.setTimeout(poll, delay);
  }

  if (anyPendingOnPage()) schedule();
})();

/* Live analysis status on the lesion page: while an analysis is queued or running, ask the
   server every few seconds and swap in the server-rendered card when its status changes.
   Once a result has arrived, everything else it changes is swapped in too (each visit's
   summary line and change, the follow-up panel with the next review and the trend, the
   body-map marker, the lesion's status), so nothing on the page stays stale.
   No framework; without JavaScript the page still shows the status as of its last load. */
(function () {
  "use strict";

  var panel = document.querySelector("[data-analysis-poll]");
  if (!panel || !window.fetch) return;

  var url = panel.getAttribute("data-analysis-poll");
  var liveUrl = panel.getAttribute("data-live-url");
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

  function fromHtml(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder;
  }

  function updateMarker(marker) {
    var holder = document.querySelector('[data-body-map] [data-lesion="' + marker.id + '"]');
    if (!holder) return;
    var keep = (holder.getAttribute("class") || "").split(/\s+/).filter(function (name) {
      return name && name.indexOf("body-map__marker--") !== 0;
    });
    keep.push("body-map__marker--" + (marker.state || "none"));
    keep.push("body-map__marker--" + (marker.status || "monitoring"));
    if (marker.evolving) keep.push("body-map__marker--evolving");
    holder.setAttribute("class", keep.join(" "));
    holder.setAttribute("data-state", marker.state || "none");
    var title = holder.querySelector("title");
    if (title) {
      title.textContent = "Lesion " + marker.number + ": " + marker.label + " — " +
        (marker.state_label || "no result yet") +
        (marker.evolving ? ", evolving (" + marker.evolving_reason + ")" : "");
    }
  }

  function refreshLive() {
    if (!liveUrl) return Promise.resolve();
    return fetch(liveUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("live " + response.status);
        return response.json();
      })
      .then(function (data) {
        data.visits.forEach(function (visit) {
          var summary = document.querySelector('[data-visit-summary="' + visit.image + '"]');
          if (summary) summary.innerHTML = visit.summary;
          var change = document.querySelector('[data-visit-change="' + visit.image + '"]');
          var fresh = fromHtml(visit.change).firstElementChild;
          if (change && fresh) change.parentNode.replaceChild(fresh, change);
        });
        var followUp = document.querySelector("[data-follow-up]");
        var freshFollowUp = fromHtml(data.follow_up).firstElementChild;
        if (followUp && freshFollowUp) followUp.parentNode.replaceChild(freshFollowUp, followUp);
        var status = document.querySelector("[data-lesion-status]");
        if (status) {
          status.textContent = data.status.label;
          status.className = "status status--" + data.status.value;
        }
        updateMarker(data.marker);
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
        var arrived = false;
        data.analyses.forEach(function (entry) {
          var card = panel.querySelector('[data-analysis-image="' + entry.image + '"]');
          if (!card) return;  // an image added in another tab: shown on the next load
          var shownId = card.getAttribute("data-analysis-id");
          var shownStatus = card.getAttribute("data-analysis-status");
          if (shownId !== String(entry.analysis) || shownStatus !== entry.status) {
            updates.push(replaceCard(card, entry.card_url));
            if (!isPending(entry.status)) arrived = true;
          }
        });
        return Promise.all(updates)
          .then(function () { return arrived ? refreshLive() : null; })
          .then(function () { return data.pending; });
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

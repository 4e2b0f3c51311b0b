/* DermaScan body map.
 *
 * Loads the front/back figure (static/img/body-map.svg) into every [data-body-map]
 * element and draws the lesion markers given as JSON (json_script): each shows the lesion's
 * stable number, is coloured by its latest result and ringed when it is evolving, and is at
 * least 24 px across (44 px to touch on a phone). Hovering or focusing a marker highlights
 * the lesion's table row (tr[data-lesion]) and the other way round.
 *
 * Where the element names a form (data-form), the map places that form's lesion: a click or
 * tap on the figure, choosing a body site in the form, or the arrow keys on the placed marker
 * fill the form's body_view, body_site and hidden map_x/map_y. Positions are fractions (0..1)
 * of the figure. A select (data-zoom-control) shows one view or a close-up of the head, hands
 * or feet. Without JavaScript the form still works: the body site alone places the lesion.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  // viewBox of each choice in the zoom select (the SVG is 440 x 510; front at x 10, back at 230)
  var VIEWS = {
    both: [0, 0, 440, 510],
    front: [0, 0, 220, 510],
    back: [220, 0, 220, 510],
    "head-front": [74, 2, 72, 82],
    "head-back": [294, 2, 72, 82],
    "hands-front": [26, 238, 168, 56],
    "hands-back": [246, 238, 168, 56],
    "feet-front": [70, 442, 80, 38],
    "feet-back": [290, 442, 80, 38],
  };
  var STATE_WORDS = {
    high: "High risk",
    moderate: "Moderate risk",
    low: "Low risk",
    inconclusive: "Inconclusive",
    not_assessable: "Not assessable",
  };
  var MARKER_PX = 12; // radius on screen: a 24 px marker
  var narrowScreen = window.matchMedia("(max-width: 40rem)");
  var coarsePointer = window.matchMedia("(pointer: coarse)");

  function clamp01(value) {
    return Math.min(1, Math.max(0, value));
  }

  function readJson(id) {
    var element = id && document.getElementById(id);
    var data = element ? JSON.parse(element.textContent) : [];
    return Array.isArray(data) ? data : [];
  }

  function figure(svg, view) {
    return svg.querySelector('.body-map__view[data-view="' + view + '"]');
  }

  function svgElement(name, attributes) {
    var element = document.createElementNS(SVG_NS, name);
    Object.keys(attributes).forEach(function (key) {
      element.setAttribute(key, attributes[key]);
    });
    return element;
  }

  function markerName(marker) {
    var name = marker.number ? "Lesion " + marker.number + ": " + marker.label : marker.label;
    if (marker.site) {
      name += ", " + marker.site.toLowerCase();
    }
    if (marker.state !== undefined) {
      name += " — " + (STATE_WORDS[marker.state] || "no result yet");
    }
    if (marker.evolving) {
      name += ", evolving (" + marker.evolving_reason + ")";
    }
    return name;
  }

  function drawMarker(svg, marker, extraClass) {
    var group = figure(svg, marker.view);
    if (!group) {
      return null;
    }
    var x = clamp01(Number(marker.x)) * Number(group.dataset.width);
    var y = clamp01(Number(marker.y)) * Number(group.dataset.height);
    var classes = "body-map__marker body-map__marker--" + (marker.state || "none");
    classes += " body-map__marker--" + (marker.status || "monitoring");
    if (marker.evolving) {
      classes += " body-map__marker--evolving";
    }
    if (extraClass) {
      classes += " " + extraClass;
    }
    var name = markerName(marker);
    var holder = marker.url
      ? svgElement("a", { href: marker.url, class: classes, "aria-label": name })
      : svgElement("g", { class: classes });
    if (marker.id) {
      holder.setAttribute("data-lesion", marker.id);
    }
    var title = svgElement("title", {});
    title.textContent = name;
    holder.appendChild(title);
    holder.appendChild(svgElement("circle", { class: "body-map__hit", cx: x, cy: y, r: 10 }));
    if (marker.evolving) {
      holder.appendChild(svgElement("circle", { class: "body-map__ring", cx: x, cy: y, r: 12 }));
    }
    holder.appendChild(svgElement("circle", { class: "body-map__dot", cx: x, cy: y, r: 8 }));
    if (marker.number) {
      var number = svgElement("text", { x: x, y: y, "aria-hidden": "true" });
      number.textContent = String(marker.number);
      holder.appendChild(number);
    }
    group.appendChild(holder);
    sizeMarkers(svg);
    return holder;
  }

  /* Marker sizes are set in screen pixels: the figure is scaled to its box and zoomed. */
  function sizeMarkers(svg) {
    var box = svg.viewBox.baseVal;
    var width = svg.getBoundingClientRect().width;
    if (!width || !box || !box.width) {
      return;
    }
    var unit = box.width / width; // SVG units per screen pixel
    var touch = coarsePointer.matches || narrowScreen.matches;
    svg.querySelectorAll(".body-map__marker").forEach(function (holder) {
      var dot = MARKER_PX * unit;
      holder.querySelectorAll("circle").forEach(function (circle) {
        if (circle.classList.contains("body-map__dot")) {
          circle.setAttribute("r", dot);
        } else if (circle.classList.contains("body-map__ring")) {
          circle.setAttribute("r", dot + 4 * unit);
        } else {
          circle.setAttribute("r", (touch ? 22 : MARKER_PX + 2) * unit);
        }
      });
      var text = holder.querySelector("text");
      if (text) {
        text.setAttribute("font-size", 12 * unit);
      }
    });
  }

  function setZoom(svg, key) {
    var box = VIEWS[key] || VIEWS.both;
    svg.setAttribute("viewBox", box.join(" "));
    svg.setAttribute("data-zoom", key);
    sizeMarkers(svg);
  }

  function pointOnFigure(group, clientX, clientY) {
    var svg = group.ownerSVGElement;
    var point = svg.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    var local = point.matrixTransform(group.getScreenCTM().inverse());
    return {
      x: clamp01(local.x / Number(group.dataset.width)),
      y: clamp01(local.y / Number(group.dataset.height)),
    };
  }

  function partName(part) {
    var title = part && part.querySelector("title");
    return title ? title.textContent.toLowerCase() : "";
  }

  /* Marker <-> table row highlighting (both directions). */
  function linkRows(container) {
    function highlight(id, on) {
      document.querySelectorAll('[data-lesion="' + id + '"]').forEach(function (element) {
        element.classList.toggle("is-highlighted", on);
      });
    }
    container.querySelectorAll(".body-map__marker[data-lesion]").forEach(function (marker) {
      var id = marker.getAttribute("data-lesion");
      ["mouseenter", "focus"].forEach(function (type) {
        marker.addEventListener(type, function () { highlight(id, true); });
      });
      ["mouseleave", "blur"].forEach(function (type) {
        marker.addEventListener(type, function () { highlight(id, false); });
      });
    });
    document.querySelectorAll("tr[data-lesion]").forEach(function (row) {
      var id = row.getAttribute("data-lesion");
      if (!container.querySelector('.body-map__marker[data-lesion="' + id + '"]')) {
        return;
      }
      ["mouseenter", "focusin"].forEach(function (type) {
        row.addEventListener(type, function () { highlight(id, true); });
      });
      ["mouseleave", "focusout"].forEach(function (type) {
        row.addEventListener(type, function () { highlight(id, false); });
      });
    });
  }

  function enablePlacing(container, svg, form, status, zoomSelect) {
    var pending = null;
    var fields = {
      view: form.elements.namedItem("body_view"),
      x: form.elements.namedItem("map_x"),
      y: form.elements.namedItem("map_y"),
      site: form.elements.namedItem("body_site"),
      label: form.elements.namedItem("label"),
    };
    var pendingNumber = container.dataset.pendingNumber || "";

    function say(message, warning) {
      status.textContent = message;
      status.classList.toggle("body-map__status--warning", Boolean(warning));
    }

    function showPending(keepFocus) {
      var hadFocus = pending && document.activeElement === pending;
      if (pending) {
        pending.remove();
        pending = null;
      }
      if (!fields.view.value || fields.x.value === "" || fields.y.value === "") {
        return;
      }
      pending = drawMarker(
        svg,
        {
          view: fields.view.value,
          x: fields.x.value,
          y: fields.y.value,
          number: pendingNumber,
          label: pendingNumber ? "this lesion" : "new lesion",
        },
        "body-map__marker--pending"
      );
      if (!pending) {
        return;
      }
      pending.setAttribute("tabindex", "0");
      pending.setAttribute("role", "button");
      pending.setAttribute("aria-roledescription", "movable marker");
      pending.setAttribute(
        "aria-label",
        "Position of " + (pendingNumber ? "lesion " + pendingNumber : "the new lesion") +
          " on the " + fields.view.value + " view. Arrow keys move it; Shift with an arrow moves it further."
      );
      pending.addEventListener("keydown", onMarkerKey);
      if (hadFocus || keepFocus) {
        pending.focus();
      }
      showView(fields.view.value);
    }

    // When zoomed to one view, make sure the marker's view is the one shown.
    function showView(view) {
      var zoom = svg.getAttribute("data-zoom") || "both";
      if (zoom === "both" || zoom.indexOf(view) !== -1) {
        return;
      }
      var key = zoom.indexOf("-") !== -1 ? zoom.split("-")[0] + "-" + view : view;
      setZoom(svg, key);
      if (zoomSelect) {
        zoomSelect.value = key;
      }
    }

    function partAt(group, x, y) {
      // The body part under a figure position (for the keyboard: its body site).
      var matrix = group.getScreenCTM();
      var point = svg.createSVGPoint();
      point.x = x * Number(group.dataset.width);
      point.y = y * Number(group.dataset.height);
      var screen = point.matrixTransform(matrix);
      var hits = document.elementsFromPoint(screen.x, screen.y);
      for (var i = 0; i < hits.length; i++) {
        if (hits[i].classList && hits[i].classList.contains("body-map__part") &&
            group.contains(hits[i])) {
          return hits[i];
        }
      }
      return null;
    }

    function place(group, position, part, how) {
      fields.view.value = group.dataset.view;
      fields.x.value = position.x.toFixed(4);
      fields.y.value = position.y.toFixed(4);
      if (fields.site && part) {
        fields.site.value = part.dataset.site;
      }
      showPending(how === "keyboard");
      var where = part ? " (" + partName(part) + ")" : "";
      if (how === "keyboard") {
        say("Moved on the " + group.dataset.view + " view" + where + ".");
        return;
      }
      say(
        "Placed on the " + group.dataset.view + " view" + where + ". " +
          (pendingNumber ? "Save to keep the new position." : "Enter a label and choose Add lesion.")
      );
      if (fields.label && !pendingNumber) {
        if (narrowScreen.matches) {
          // On a phone, focusing the field would scroll the map away (and open the keyboard).
          var go = document.createElement("button");
          go.type = "button";
          go.className = "button button--secondary button--small";
          go.textContent = "Go to the label";
          go.addEventListener("click", function () { fields.label.focus(); });
          status.appendChild(document.createTextNode(" "));
          status.appendChild(go);
        } else {
          fields.label.focus({ preventScroll: true });
        }
      }
    }

    function onMarkerKey(event) {
      var steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      var step = steps[event.key];
      if (!step) {
        return;
      }
      event.preventDefault();
      var size = event.shiftKey ? 0.05 : 0.01;
      var group = figure(svg, fields.view.value);
      var position = {
        x: clamp01(Number(fields.x.value) + step[0] * size),
        y: clamp01(Number(fields.y.value) + step[1] * size),
      };
      var part = partAt(group, position.x, position.y);
      if (!part) {
        say("That would leave the body outline; the marker stays.", true);
        return;
      }
      place(group, position, part, "keyboard");
    }

    // Choosing the body site (or the view) in the form places the marker in its middle.
    function placeAtSite() {
      if (!fields.site || !fields.site.value) {
        return;
      }
      var views = [fields.view.value || "front", fields.view.value === "back" ? "front" : "back"];
      for (var i = 0; i < views.length; i++) {
        var group = figure(svg, views[i]);
        var part = group && group.querySelector('.body-map__part[data-site="' + fields.site.value + '"]');
        if (part) {
          var box = part.getBBox();
          fields.view.value = views[i];
          fields.x.value = ((box.x + box.width / 2) / Number(group.dataset.width)).toFixed(4);
          fields.y.value = ((box.y + box.height / 2) / Number(group.dataset.height)).toFixed(4);
          showPending();
          say(
            "Marker put on the " + partName(part) + " (" + views[i] + " view). " +
              "Click the map, or focus the marker and use the arrow keys, to place it exactly."
          );
          return;
        }
      }
    }

    container.classList.add("body-map--placing");
    svg.addEventListener("click", function (event) {
      if (event.target.closest("a.body-map__marker")) {
        return; // markers of saved lesions are links to their lesion
      }
      var part = event.target.closest(".body-map__part");
      if (!part) {
        say(
          "That is outside the body outline. Click on the figure itself, or choose the body site in the form.",
          true
        );
        return;
      }
      var group = part.closest(".body-map__view");
      place(group, pointOnFigure(group, event.clientX, event.clientY), part, "pointer");
    });
    if (fields.site) {
      fields.site.addEventListener("change", placeAtSite);
    }
    fields.view.addEventListener("change", function () {
      if (fields.site && fields.site.value) {
        placeAtSite();
      } else {
        showPending();
      }
    });
    showPending(); // a form shown again after an error (or the edit page) keeps its position
  }

  function init(container) {
    fetch(container.dataset.svgUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("body map " + response.status);
        }
        return response.text();
      })
      .then(function (text) {
        var parsed = new DOMParser().parseFromString(text, "image/svg+xml");
        var svg = document.importNode(parsed.documentElement, true);
        container.replaceChildren(svg);
        var markers = readJson(container.dataset.markers);
        var zoomSelect = container.dataset.zoomControl &&
          document.getElementById(container.dataset.zoomControl);
        var form = container.dataset.form && document.getElementById(container.dataset.form);
        // A phone shows one figure at a time, large enough to tap.
        var start = "both";
        if (container.classList.contains("body-map--small") && markers.length === 1) {
          start = markers[0].view;
        } else if (narrowScreen.matches) {
          var viewField = form && form.elements.namedItem("body_view");
          start = (viewField && viewField.value) || "front";
        }
        setZoom(svg, start);
        if (zoomSelect) {
          zoomSelect.value = start;
          zoomSelect.addEventListener("change", function () { setZoom(svg, zoomSelect.value); });
        }
        markers.forEach(function (marker) {
          drawMarker(svg, marker);
        });
        linkRows(container);
        if (form) {
          enablePlacing(container, svg, form, document.getElementById(container.dataset.status), zoomSelect);
        }
        window.addEventListener("resize", function () { sizeMarkers(svg); });
        container.classList.add("body-map--ready");
      })
      .catch(function () {
        container.classList.add("body-map--failed"); // the fallback text stays visible
      });
  }

  document.querySelectorAll("[data-body-map]").forEach(init);
})();

/* DermaScan body map.
 *
 * Loads the front/back figure (static/img/body-map.svg) into every [data-body-map]
 * element, draws the lesion markers given as JSON (json_script), and, where the element
 * names a form (data-form), turns a click on the figure into that form's body_view,
 * map_x, map_y and body_site. Positions are fractions (0..1) of the clicked figure.
 * Without JavaScript the page still works: the form takes the position as numbers.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  function clamp01(value) {
    return Math.min(1, Math.max(0, value));
  }

  function readJson(id) {
    var element = id && document.getElementById(id);
    return element ? JSON.parse(element.textContent) : [];
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

  function drawMarker(svg, marker) {
    var group = figure(svg, marker.view);
    if (!group) {
      return null;
    }
    var x = clamp01(Number(marker.x)) * Number(group.dataset.width);
    var y = clamp01(Number(marker.y)) * Number(group.dataset.height);
    var status = marker.status || "pending";
    var classes = "body-map__marker body-map__marker--" + status;
    if (marker.evolving) {
      classes += " body-map__marker--evolving";
    }
    var holder = marker.url
      ? svgElement("a", { href: marker.url, class: classes })
      : svgElement("g", { class: classes });
    var title = svgElement("title", {});
    title.textContent = marker.number ? marker.number + ". " + marker.label : marker.label;
    if (marker.evolving) {
      title.textContent += " (evolving: " + marker.evolving_reason + ")";
    }
    holder.appendChild(title);
    holder.appendChild(svgElement("circle", { cx: x, cy: y, r: 8 }));
    if (marker.number) {
      var number = svgElement("text", { x: x, y: y, "aria-hidden": "true" });
      number.textContent = String(marker.number);
      holder.appendChild(number);
    }
    group.appendChild(holder);
    return holder;
  }

  function pointOnFigure(group, event) {
    var svg = group.ownerSVGElement;
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var local = point.matrixTransform(group.getScreenCTM().inverse());
    return {
      x: clamp01(local.x / Number(group.dataset.width)),
      y: clamp01(local.y / Number(group.dataset.height)),
    };
  }

  function enablePlacing(container, svg, form, status) {
    var pending = null;
    var fields = {
      view: form.elements.namedItem("body_view"),
      x: form.elements.namedItem("map_x"),
      y: form.elements.namedItem("map_y"),
      site: form.elements.namedItem("body_site"),
      label: form.elements.namedItem("label"),
    };

    function showPending() {
      if (pending) {
        pending.remove();
        pending = null;
      }
      if (!fields.view.value || fields.x.value === "" || fields.y.value === "") {
        return;
      }
      pending = drawMarker(svg, {
        view: fields.view.value,
        x: fields.x.value,
        y: fields.y.value,
        label: "New lesion (not saved yet)",
      });
    }

    container.classList.add("body-map--placing");
    svg.addEventListener("click", function (event) {
      if (event.target.closest(".body-map__marker")) {
        return; // markers are links to their lesion
      }
      var part = event.target.closest(".body-map__part");
      if (!part) {
        return;
      }
      var group = part.closest(".body-map__view");
      var position = pointOnFigure(group, event);
      fields.view.value = group.dataset.view;
      fields.x.value = position.x.toFixed(4);
      fields.y.value = position.y.toFixed(4);
      if (fields.site) {
        fields.site.value = part.dataset.site;
      }
      showPending();
      var partName = part.querySelector("title");
      status.textContent =
        "Placed on the " + group.dataset.view + " view" +
        (partName ? " (" + partName.textContent.toLowerCase() + ")" : "") +
        ". Enter a label and choose Add lesion.";
      if (fields.label) {
        fields.label.focus();
      }
    });
    [fields.view, fields.x, fields.y].forEach(function (field) {
      field.addEventListener("input", showPending);
      field.addEventListener("change", showPending);
    });
    showPending(); // a form shown again after an error keeps its position
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
        readJson(container.dataset.markers).forEach(function (marker) {
          drawMarker(svg, marker);
        });
        var form = container.dataset.form && document.getElementById(container.dataset.form);
        if (form) {
          var status = document.getElementById(container.dataset.status);
          enablePlacing(container, svg, form, status);
        }
        container.classList.add("body-map--ready");
      })
      .catch(function () {
        container.classList.add("body-map--failed"); // the fallback text stays visible
      });
  }

  document.querySelectorAll("[data-body-map]").forEach(init);
})();

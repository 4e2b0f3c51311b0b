/* Zoom and pan of an image in a [data-zoom-stage] box: wheel, pinch, drag, double-click,
   and the keyboard (+ / - zoom, arrows pan, 0 fits) when the box has focus. The compare
   page joins two stages with DermaZoom.sync, so both follow the same zoom and pan. */
(function () {
  "use strict";

  var MIN = 1;
  var MAX = 8;

  function Zoom(stage) {
    this.stage = stage;
    this.content = stage.querySelector("[data-zoom-content]");
    this.scale = 1;
    this.fx = 0; // offset as a fraction of the stage size (so stages of any size agree)
    this.fy = 0;
    this.listeners = [];
    this.bind();
  }

  Zoom.prototype.size = function () {
    return { w: this.stage.clientWidth || 1, h: this.stage.clientHeight || 1 };
  };

  Zoom.prototype.set = function (scale, fx, fy, quiet) {
    this.scale = Math.min(MAX, Math.max(MIN, scale));
    // Keep the image covering the box: offsets between (1 - scale) and 0.
    this.fx = Math.min(0, Math.max(1 - this.scale, fx));
    this.fy = Math.min(0, Math.max(1 - this.scale, fy));
    var size = this.size();
    this.content.style.transform =
      "translate(" + this.fx * size.w + "px, " + this.fy * size.h + "px) scale(" + this.scale + ")";
    if (!quiet) {
      var self = this;
      this.listeners.forEach(function (listener) { listener(self); });
    }
  };

  // Zoom by a factor around a point given as a fraction of the box (0.5, 0.5: the middle).
  Zoom.prototype.zoomBy = function (factor, px, py) {
    var next = Math.min(MAX, Math.max(MIN, this.scale * factor));
    var ratio = next / this.scale;
    this.set(next, px - (px - this.fx) * ratio, py - (py - this.fy) * ratio);
  };

  Zoom.prototype.reset = function () {
    this.set(1, 0, 0);
  };

  Zoom.prototype.onChange = function (listener) {
    this.listeners.push(listener);
  };

  Zoom.prototype.relative = function (clientX, clientY) {
    var rect = this.stage.getBoundingClientRect();
    return { x: (clientX - rect.left) / rect.width, y: (clientY - rect.top) / rect.height };
  };

  Zoom.prototype.bind = function () {
    var self = this;
    var stage = this.stage;
    var pointers = {};
    var last = null; // previous pan point or pinch distance

    stage.addEventListener("wheel", function (event) {
      event.preventDefault();
      var at = self.relative(event.clientX, event.clientY);
      self.zoomBy(event.deltaY < 0 ? 1.2 : 1 / 1.2, at.x, at.y);
    }, { passive: false });

    stage.addEventListener("dblclick", function (event) {
      var at = self.relative(event.clientX, event.clientY);
      if (self.scale > 1) {
        self.reset();
      } else {
        self.zoomBy(2.5, at.x, at.y);
      }
    });

    function state() {
      var ids = Object.keys(pointers);
      if (ids.length >= 2) {
        var a = pointers[ids[0]];
        var b = pointers[ids[1]];
        return { pinch: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      }
      if (ids.length === 1) {
        return { x: pointers[ids[0]].x, y: pointers[ids[0]].y };
      }
      return null;
    }

    stage.addEventListener("pointerdown", function (event) {
      stage.setPointerCapture(event.pointerId);
      pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      last = state();
    });
    stage.addEventListener("pointermove", function (event) {
      if (!pointers[event.pointerId]) {
        return;
      }
      pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
      var now = state();
      var size = self.size();
      if (last && now) {
        if (now.pinch && last.pinch) {
          var at = self.relative(now.x, now.y);
          self.zoomBy(now.pinch / last.pinch, at.x, at.y);
        }
        self.set(self.scale, self.fx + (now.x - last.x) / size.w, self.fy + (now.y - last.y) / size.h);
      }
      last = now;
    });
    function release(event) {
      delete pointers[event.pointerId];
      last = state();
    }
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);

    stage.addEventListener("keydown", function (event) {
      var step = 0.1;
      var keys = {
        "+": function () { self.zoomBy(1.25, 0.5, 0.5); },
        "=": function () { self.zoomBy(1.25, 0.5, 0.5); },
        "-": function () { self.zoomBy(0.8, 0.5, 0.5); },
        "0": function () { self.reset(); },
        ArrowLeft: function () { self.set(self.scale, self.fx + step, self.fy); },
        ArrowRight: function () { self.set(self.scale, self.fx - step, self.fy); },
        ArrowUp: function () { self.set(self.scale, self.fx, self.fy + step); },
        ArrowDown: function () { self.set(self.scale, self.fx, self.fy - step); },
      };
      if (keys[event.key]) {
        event.preventDefault();
        keys[event.key]();
      }
    });
    window.addEventListener("resize", function () { self.set(self.scale, self.fx, self.fy, true); });
  };

  /* Buttons (data-zoom-in / -out / -reset) and a level read-out (data-zoom-level) in
     `controls` drive every zoom in `zooms`, which follow one another. */
  function sync(zooms, controls) {
    var busy = false;
    var level = controls && controls.querySelector("[data-zoom-level]");
    zooms.forEach(function (zoom) {
      zoom.onChange(function (source) {
        if (level) {
          level.textContent = Math.round(source.scale * 100) + " %";
        }
        if (busy) {
          return;
        }
        busy = true;
        zooms.forEach(function (other) {
          if (other !== source) {
            other.set(source.scale, source.fx, source.fy);
          }
        });
        busy = false;
      });
    });
    if (!controls) {
      return;
    }
    function on(selector, action) {
      var button = controls.querySelector(selector);
      if (button) {
        button.addEventListener("click", action);
      }
    }
    on("[data-zoom-in]", function () { zooms[0].zoomBy(1.5, 0.5, 0.5); });
    on("[data-zoom-out]", function () { zooms[0].zoomBy(1 / 1.5, 0.5, 0.5); });
    on("[data-zoom-reset]", function () { zooms[0].reset(); });
  }

  window.DermaZoom = {
    attach: function (stage) { return new Zoom(stage); },
    sync: sync,
  };
})();

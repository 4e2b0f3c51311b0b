/* Drag-and-drop upload of one or several images on the lesion page. Each file goes to the
   usual upload address as its own request (asking for JSON), so each has its own progress
   bar and its own error; the page reloads to show the new visits once all have arrived.
   Without JavaScript the form uploads one image the ordinary way. */
(function () {
  "use strict";

  var form = document.querySelector("[data-upload]");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;

  var input = form.querySelector('input[type="file"]');
  var zone = form.querySelector("[data-dropzone]");
  var list = form.querySelector("[data-upload-list]");
  var summary = form.querySelector("[data-upload-summary]");
  var submit = form.querySelector("[data-upload-submit]");
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;

  input.multiple = true;
  zone.classList.add("dropzone--ready");

  function item(file) {
    var row = document.createElement("li");
    row.className = "upload-item";
    var name = document.createElement("span");
    name.className = "upload-item__name";
    name.textContent = file.name;
    var status = document.createElement("span");
    status.className = "upload-item__status";
    status.textContent = "Waiting";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    row.appendChild(name);
    row.appendChild(status);
    row.appendChild(bar);
    list.appendChild(row);
    return { row: row, status: status, bar: bar };
  }

  function send(file, view) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("file", file);
      data.append("captured_on", form.elements.namedItem("captured_on").value);
      data.append("modality", form.elements.namedItem("modality").value);
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", csrf);
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          view.bar.value = Math.round((event.loaded / event.total) * 100);
          view.status.textContent = "Uploading " + view.bar.value + " %";
        }
      });
      request.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(request.responseText); } catch (error) { body = null; }
        if (request.status === 201) {
          view.bar.value = 100;
          view.status.textContent = "Added; analysis queued";
          view.row.classList.add("upload-item--done");
          resolve(true);
        } else {
          var message = body && body.error ? body.error.message : "The server refused it (" + request.status + ").";
          fail(view, message);
          resolve(false);
        }
      });
      request.addEventListener("error", function () {
        fail(view, "The connection failed; try again.");
        resolve(false);
      });
      view.status.textContent = "Uploading";
      request.send(data);
    });
  }

  function fail(view, message) {
    view.row.classList.add("upload-item--failed");
    view.status.textContent = "Not added: " + message;
    view.bar.hidden = true;
  }

  function upload(files) {
    if (!files.length) return;
    list.hidden = false;
    list.replaceChildren();
    submit.disabled = true;
    summary.textContent = "Uploading " + files.length + " image" + (files.length === 1 ? "" : "s") + "…";
    var views = files.map(item);
    // One at a time: the server decodes one image at a time per worker anyway.
    var results = [];
    var chain = Promise.resolve();
    files.forEach(function (file, index) {
      chain = chain.then(function () {
        return send(file, views[index]).then(function (ok) { results.push(ok); });
      });
    });
    chain.then(function () {
      submit.disabled = false;
      input.value = "";
      var added = results.filter(Boolean).length;
      var failed = results.length - added;
      if (!failed) {
        summary.textContent = added + " image" + (added === 1 ? "" : "s") + " added. Showing them…";
        window.location.reload();
        return;
      }
      summary.textContent = added + " added, " + failed + " not added (see above). ";
      if (added) {
        var link = document.createElement("a");
        link.href = window.location.pathname;
        link.textContent = "Show the added images";
        summary.appendChild(link);
      }
    });
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length) return; // the server says that a file is needed
    event.preventDefault();
    upload(Array.prototype.slice.call(input.files));
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dropzone--over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dropzone--over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    upload(Array.prototype.slice.call(event.dataTransfer.files));
  });
})();

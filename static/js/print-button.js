// Print buttons (data-print). A file, not an onclick attribute: the CSP allows no inline script.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});

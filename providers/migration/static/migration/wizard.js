// Draws the wizard's plotly figures from their JSON blocks (no inline script under the CSP), on load
// and after htmx swaps a part of the page.
(function () {
  function draw(root) {
    (root || document).querySelectorAll("[data-plotly-figure]:not([data-drawn])").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-plotly-figure"));
      if (!source || !window.Plotly) { return; }
      var figure = JSON.parse(source.textContent);
      if (!figure) { return; }
      window.Plotly.newPlot(element, figure.data, figure.layout, {displayModeBar: false, responsive: true});
      element.setAttribute("data-drawn", "");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();

// The inline "new target provider" form answers 400 with its errors and the values as typed: show them
// in place (htmx leaves 4xx answers unswapped by default).
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 400 && event.detail.target.closest && event.detail.target.closest("#new-target")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

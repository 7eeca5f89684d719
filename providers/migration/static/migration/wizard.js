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

// Draws every figure whose data the page carries as JSON (json_script), so pages need no inline script:
// <div data-plotly-figure="ID"></div> plus {{ figure|json_script:"ID" }}.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-plotly-figure]").forEach(function (element) {
    var source = document.getElementById(element.getAttribute("data-plotly-figure"));
    if (!source || !window.Plotly) { return; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, figure.data, figure.layout, {displayModeBar: false, responsive: true});
  });
});

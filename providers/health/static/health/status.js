// Status page: draw the plotly figures from their JSON blocks, and keep the live part polling
// only while the tab is visible (htmx polls on its own timer; requests are cancelled while hidden,
// and a refresh is asked for as soon as the tab is shown again).
(function () {
  function drawCharts() {
    if (!window.Plotly) { return; }
    document.querySelectorAll(".chart[data-figure]").forEach(function (element) {
      var source = document.getElementById(element.dataset.figure);
      if (!source || element.dataset.drawn) { return; }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, figure.data, figure.layout, {displayModeBar: false, responsive: true});
      element.dataset.drawn = "1";
    });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.hidden && event.detail.elt && event.detail.elt.id === "status-live") {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    var live = document.getElementById("status-live");
    if (!document.hidden && live && window.htmx) { window.htmx.trigger(live, "status-refresh"); }
  });
  window.addEventListener("load", drawCharts);
})();

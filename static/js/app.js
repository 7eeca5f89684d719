// Page behaviour without inline scripts or handlers (the Content-Security-Policy allows only our own files).
// Everything is driven by data- attributes, so content swapped in by htmx works the same as the first page.
(function () {
  "use strict";

  // <button data-copy="#id"> copies that element's text; data-copy="previous" the element just before it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    var selector = button.getAttribute("data-copy");
    var source = selector === "previous" ? button.previousElementSibling : document.querySelector(selector);
    if (source) navigator.clipboard.writeText(source.textContent);
  });

  // <form data-confirm="Question?"> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  // The test connection button clears the previous field errors before it starts.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute("data-clear-test-errors")) {
      document.querySelectorAll(".test-error").forEach(function (element) { element.textContent = ""; });
    }
  });

  // Drill from a day of the daily chart to that day by hour, keeping the other filters. Pushed through
  // htmx (not history.pushState), so Back restores the page it came from.
  window.usageDrill = function (day) {
    var form = document.getElementById("usage-filters");
    if (!form || !window.htmx) return;
    var params = new URLSearchParams(new FormData(form));
    params.set("start", day);
    params.set("end", day);
    htmx.ajax("GET", form.getAttribute("action") + "?" + params.toString(),
              {target: "#usage-body", swap: "outerHTML", push: "true"});
  };

  // <script type="application/json" class="plotly-figure" data-target="id"> blocks: draw each figure once.
  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("script.plotly-figure:not([data-drawn])").forEach(function (block) {
      block.setAttribute("data-drawn", "");
      var target = document.getElementById(block.getAttribute("data-target"));
      if (!target) return;
      var figure = JSON.parse(block.textContent);
      var config = JSON.parse(block.getAttribute("data-config") || "{}");
      Plotly.newPlot(target, figure.data, figure.layout, config).then(function (plot) {
        if (!block.hasAttribute("data-drill")) return;
        plot.on("plotly_click", function (clicked) {
          if (clicked.points.length) window.usageDrill(String(clicked.points[0].x).slice(0, 10));
        });
      });
    });
  }

  // A form with errors far down the page: bring its first error into view.
  function showFirstError(root) {
    if (!root.querySelector("[data-scroll-to-error]")) return;
    var error = document.querySelector("form .error");
    if (error) error.scrollIntoView({block: "center"});
  }

  function setUp(root) {
    drawCharts(root);
    showFirstError(root);
  }

  if (window.htmx) {
    htmx.onLoad(setUp);  // the first page and every swapped-in fragment
  } else {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  }
})();

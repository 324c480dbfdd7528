// socialdesk analytics: draws each <canvas data-chart="{...}"> with Chart.js (vendor/chart.umd.min.js).
// The data rides in the attribute because the Content-Security-Policy allows no inline script;
// Chart.js sizes its canvas through the CSSOM, which that policy allows.
(function () {
  "use strict";

  const COLORS = ["#2463eb", "#1f7a3f", "#c5282f", "#b76e00", "#7c3aed", "#667085"];

  function dataset(spec, index) {
    const color = COLORS[index % COLORS.length];
    const line = spec.type === "line";
    return {
      type: line ? "line" : "bar",
      label: spec.label,
      data: spec.data,
      yAxisID: spec.axis === "y2" ? "y2" : "y",
      backgroundColor: line ? color : color + "aa",
      borderColor: color,
      borderWidth: line ? 2 : 0,
      borderDash: spec.dashed ? [4, 3] : [],
      pointRadius: 0,
      stepped: spec.stepped ? "middle" : false,
      order: line ? 0 : 1,
    };
  }

  function axis(title, position, whole) {
    return {
      beginAtZero: true,
      position: position,
      ticks: whole ? { precision: 0 } : {},
      title: { display: !!title, text: title || "" },
      grid: { drawOnChartArea: position === "left" },
    };
  }

  function draw(canvas) {
    let spec;
    try {
      spec = JSON.parse(canvas.dataset.chart);
    } catch (error) {
      return;
    }
    const datasets = spec.datasets.map(dataset);
    const scales = {
      x: { ticks: { maxRotation: 0, autoSkip: true } },
      y: axis(spec.y, "left", false),
    };
    if (datasets.some(function (d) { return d.yAxisID === "y2"; })) {
      scales.y2 = axis(spec.y2, "right", true);
    }
    canvas.chart = new window.Chart(canvas, {
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: { legend: { position: "bottom" } },
      },
    });
    canvas.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();

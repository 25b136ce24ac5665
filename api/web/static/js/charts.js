// District statistics charts (Chart.js, served from this site). The figures come from the
// page's own <script type="application/json" id="chart-data"> block: the same numbers as the
// table beside each chart, which is what a reader without JavaScript gets.
"use strict";
(function () {
  const source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const zh = document.documentElement.lang.startsWith("zh");
  const districts = document.getElementById("district-chart");
  if (districts) {
    new Chart(districts, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: zh ? "备案产品数" : "Products", data: data.products, yAxisID: "count" },
          {
            label: zh ? "销售额 (万元)" : "Sales (10k yuan)",
            // null: withheld by disclosure control; the chart leaves a gap, never a zero
            data: data.sales_wan.map((v) => (v === null ? null : Number(v))),
            yAxisID: "money",
          },
        ],
      },
      options: {
        animation: false,
        scales: { count: { position: "left" }, money: { position: "right" } },
      },
    });
  }
  const series = document.getElementById("series-chart");
  if (series && data.series.periods.length > 0) {
    new Chart(series, {
      type: "line",
      data: {
        labels: data.series.periods,
        datasets: Object.entries(data.series.districts).map(([name, values]) => ({
          label: name,
          data: values,
        })),
      },
      options: { animation: false },
    });
  }
})();

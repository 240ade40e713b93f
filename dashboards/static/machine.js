/* One machine: state timeline over the last and current shift, OEE components, counters, process values. */
"use strict";
(() => {
  const L = () => Live.labels;
  const esc = Live.esc;
  function pct(v) { return v == null ? "–" : `${v}%`; }
  function figures(f, prefix) {
    return `<div class="kpis">` +
      [["oee", f.oee_pct], ["availability", f.availability_pct], ["performance", f.performance_pct], ["quality", f.quality_pct]]
        .map(([k, v]) => `<div class="kpi"><small>${k === "oee" ? "OEE" : L()[k]}</small><b data-testid="${prefix}-${k}">${pct(v)}</b></div>`).join("") +
      `<div class="kpi"><small>${L().good}</small><b data-testid="${prefix}-good">${f.good}</b></div>` +
      `<div class="kpi"><small>${L().scrap}</small><b data-testid="${prefix}-scrap">${f.scrap}</b></div></div>` +
      `<table><tr><th>${L().process}</th><th>last</th><th>min</th><th>avg</th><th>max</th></tr>` +
      f.process.map((p) => `<tr><td>${esc(p.name)} (${esc(p.unit)})</td><td>${p.last}</td><td>${p.minimum}</td><td>${p.average}</td><td>${p.maximum}</td></tr>`).join("") +
      `</table>`;
  }
  Live.on("machine", (m) => {
    const state = document.getElementById("m-state");
    state.textContent = L()[m.state] || m.state;
    state.className = `state-text state-${m.state}`;
    state.dataset.state = m.state;
    document.getElementById("cur-name").textContent = m.current.shift;
    document.getElementById("last-name").textContent = m.last.shift;
    document.getElementById("cur").innerHTML = figures(m.current, "cur");
    document.getElementById("last").innerHTML = figures(m.last, "last");
    Live.chart("timeline").setOption({
      backgroundColor: "transparent",
      grid: { left: 10, right: 10, top: 5, bottom: 25 },
      tooltip: { formatter: (p) => `${L()[p.data.s.state] || p.data.s.state} ${esc(p.data.s.reason || "")}<br>${Live.fmtDateTime(p.data.s.start)} → ${Live.fmtDateTime(p.data.s.end)}` },
      xAxis: { type: "time", min: new Date(m.last.start).getTime(), axisLabel: { formatter: (v) => Live.fmtTime(new Date(v).toISOString()).slice(0, 5) } },
      yAxis: { type: "category", data: [m.machine_id], show: false },
      series: [{
        type: "custom", encode: { x: [1, 2], y: 0 },
        renderItem: (params, api) => {
          const a = api.coord([api.value(1), 0]), b = api.coord([api.value(2), 0]), h = api.size([0, 1])[1] * 0.8;
          return { type: "rect", shape: { x: a[0], y: a[1] - h / 2, width: Math.max(1, b[0] - a[0]), height: h }, style: api.style() };
        },
        data: m.timeline.map((s) => ({ value: [0, new Date(s.start).getTime(), new Date(s.end).getTime()], s, itemStyle: { color: Live.STATE_COLORS[s.state] } })),
      }],
    }, true);
    Live.chart("process").setOption({
      backgroundColor: "transparent",
      legend: { textStyle: { color: "#ccc" } }, tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
      series: Object.entries(m.process_series).map(([name, pts]) => ({ type: "line", name, showSymbol: false, data: pts.map(([t, v]) => [new Date(t).getTime(), v]) })),
    }, true);
  });
  Live.start();
})();

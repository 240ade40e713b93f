/* The load board: every section re-rendered from its live event. */
"use strict";
(() => {
  const L = () => Live.labels;
  const lang = document.body.dataset.lang;
  const esc = Live.esc;

  function updateTileTimes() {
    for (const tile of document.querySelectorAll(".tile")) {
      const since = tile.dataset.since;
      tile.querySelector(".tile-time").textContent = since
        ? Live.fmtDuration((Live.serverNow() - new Date(since).getTime()) / 1000) : "";
    }
  }

  Live.on("tiles", (tiles) => {
    for (const t of tiles) {
      const el = document.getElementById(`tile-${t.machine_id}`);
      if (!el) continue;
      el.className = `tile state-${t.state}`;
      el.dataset.state = t.state;
      el.dataset.since = t.since || "";
      el.querySelector(".tile-state").textContent = L()[t.state] || t.state;
    }
    updateTileTimes();
  });
  setInterval(updateTileTimes, 1000);

  Live.on("heatmap", (h) => {
    Live.chart("heatmap").setOption({
      backgroundColor: "transparent",
      grid: { left: 40, right: 10, top: 5, bottom: 40 },
      tooltip: { formatter: (p) => `${h.machines[p.value[1]]} ${Live.fmtTime(h.minutes[p.value[0]])}: ${p.value[2]}%` },
      xAxis: { type: "category", data: h.minutes.map((m) => Live.fmtTime(m).slice(0, 5)), axisLabel: { interval: 9 } },
      yAxis: { type: "category", data: h.machines, axisLabel: { fontSize: 8, interval: 0 } },
      visualMap: { min: 0, max: 100, show: false, inRange: { color: ["#b71c1c", "#f9a825", "#2e7d32"] } },
      series: [{ type: "heatmap", data: h.cells, progressive: 0 }],
    });
  });

  Live.on("oee", (o) => {
    document.getElementById("oee-shift").textContent = o.shift;
    const n = o.workshops.length;
    const colors = [[o.red_below / 100, "#d32f2f"], [o.green_above / 100, "#f9a825"], [1, "#2e7d32"]];
    Live.chart("oee").setOption({
      backgroundColor: "transparent",
      series: o.workshops.map((w, i) => ({
        type: "gauge", min: 0, max: 100, radius: n > 3 ? "42%" : "70%",
        center: [`${((i % 3) + 0.5) * 33.3}%`, n > 3 ? `${Math.floor(i / 3) * 50 + 27}%` : "55%"],
        startAngle: 200, endAngle: -20, splitNumber: 4,
        axisLine: { lineStyle: { width: 10, color: colors } },
        pointer: { width: 4 }, axisTick: { show: false }, splitLine: { length: 6 }, axisLabel: { show: false },
        title: { offsetCenter: [0, "88%"], fontSize: 12, color: "#ddd" },
        detail: { offsetCenter: [0, "45%"], fontSize: 18, fontWeight: "bold", formatter: (v) => (w.oee_pct == null ? "–" : `${v}%`) },
        data: [{ value: w.oee_pct ?? 0, name: lang === "zh" ? w.name_zh : w.workshop_id }],
      })),
    }, true);
    const box = document.getElementById("oee");
    let values = document.getElementById("oee-values");
    if (!values) {
      values = document.createElement("div");
      values.id = "oee-values";
      values.className = "sr-values";
      box.after(values);
    }
    values.innerHTML = o.workshops.map((w) =>
      `<span data-testid="oee-${esc(w.workshop_id)}" data-value="${w.oee_pct ?? ""}">${esc(w.workshop_id)} ${w.oee_pct ?? "–"}</span>`).join(" ");
  });

  Live.on("load", (l) => {
    const byDay = {};
    for (const c of l.cells) (byDay[c.day] = byDay[c.day] || {})[c.workcenter_id] = c;
    Live.chart("load").setOption({
      backgroundColor: "transparent",
      legend: { top: 0, textStyle: { color: "#ccc" } },
      grid: { left: 40, right: 10, top: 28, bottom: 50 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: l.workcenters, axisLabel: { rotate: 40, fontSize: 10 } },
      yAxis: { type: "value", name: "%", max: (v) => Math.max(120, Math.ceil(v.max / 20) * 20) },
      series: l.days.map((d, i) => ({
        type: "bar", name: d.slice(5),
        data: l.workcenters.map((wc) => { const c = byDay[d][wc]; return c && c.load_pct != null ? c.load_pct : 0; }),
        markLine: i === 0 ? { silent: true, symbol: "none", data: [{ yAxis: 100 }], lineStyle: { color: "#d32f2f" } } : undefined,
      })),
    }, true);
  });

  Live.on("pool", (p) => {
    document.getElementById("pool").innerHTML =
      `<table><tr><th>${L().status}</th><th>#</th><th>${L().rush}</th><th>${L().work_orders}</th></tr>` +
      p.by_status.map((s) => `<tr><td>${esc(L()[s.status] || s.status)}</td><td data-testid="pool-${esc(s.status)}">${s.orders}</td>` +
        `<td>${s.rush_orders}</td><td>${s.work_orders}</td></tr>`).join("") +
      `<tr class="total"><td>Σ</td><td data-testid="pool-total">${p.total_orders}</td><td></td><td></td></tr></table>`;
    document.getElementById("pending").innerHTML = `<div class="pending">` + p.pending.map((w) =>
      `<span><small>${esc(lang === "zh" ? w.name_zh : w.workshop_id)}</small><b data-testid="pending-${esc(w.workshop_id)}">${w.pending_work_orders}</b></span>`).join("") + `</div>`;
  });

  Live.on("bottlenecks", (list) => {
    document.getElementById("bottlenecks").innerHTML = list.length === 0 ? `<span>${L().no_bottleneck}</span>` :
      list.slice(0, 2).map((b) => `<div data-testid="bottleneck-${esc(b.workcenter_id)}"><b>${esc(b.workcenter_id)}</b>` +
        `${b.machine_id ? " · " + esc(b.machine_id) : ""} <span>${b.full_for_hours.toFixed(1)} ${L().hours}</span>` +
        `<small>${esc(b.cause)}</small></div>`).join("");
  });

  Live.on("late", (list) => {
    document.getElementById("late").innerHTML = `<table>` + list.map((o) =>
      `<tr data-testid="late-${esc(o.order_id)}"><td>${esc(o.order_id)}</td><td>${esc(o.customer_id)}</td>` +
      `<td>+${o.slip_hours} ${L().hours}</td><td><small>${esc(o.cause)}</small></td></tr>`).join("") + `</table>`;
  });

  Live.on("alerts", (list) => {
    document.getElementById("alerts").innerHTML = `<ul class="feed">` + list.map((a) =>
      `<li data-testid="alert-${esc(a.alert_id)}"><time>${Live.fmtTime(a.raised_at)}</time> <b>${esc(a.kind)}</b> ` +
      `${esc(a.order_id)} <small>${esc(a.cause)}</small></li>`).join("") + `</ul>`;
  });

  Live.on("on_time", (list) => {
    document.getElementById("on-time").innerHTML = list.map((k) => {
      const cls = k.pct == null ? "" : k.pct >= k.target_pct ? "good" : "bad";
      return `<div class="kpi ${cls}"><small>${L()[k.period]}</small>` +
        `<b data-testid="on-time-${k.period}" data-value="${k.pct ?? ""}">${k.pct == null ? "–" : k.pct + "%"}</b>` +
        `<small>${k.on_time}/${k.delivered} · ${L().target} ${k.target_pct}%</small></div>`;
    }).join("");
  });

  Live.on("pareto", (p) => {
    const total = p.bars.reduce((a, b) => a + b.minutes, 0);
    let run = 0;
    Live.chart("pareto").setOption({
      backgroundColor: "transparent",
      grid: { left: 40, right: 40, top: 20, bottom: 50 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: p.bars.map((b) => b.reason), axisLabel: { rotate: 30, fontSize: 10 } },
      yAxis: [{ type: "value", name: L().minutes }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { type: "bar", data: p.bars.map((b) => b.minutes), itemStyle: { color: "#d32f2f" } },
        { type: "line", yAxisIndex: 1, data: p.bars.map((b) => { run += b.minutes; return total ? Math.round((1000 * run) / total) / 10 : 0; }) },
      ],
    }, true);
  });

  Live.start();
})();

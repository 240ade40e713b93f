/* The Gantt of the current plan: late red, rush orange, frozen hatched grey border, moved dashed, new outlined. */
"use strict";
(() => {
  const L = () => Live.labels;
  const esc = Live.esc;
  function color(op) { return op.late ? "#d32f2f" : op.rush ? "#fb8c00" : "#1e88e5"; }
  function renderItem(params, api) {
    const y = api.value(0);
    const start = api.coord([api.value(1), y]);
    const end = api.coord([api.value(2), y]);
    const height = api.size([0, 1])[1] * 0.7;
    const shape = echarts.graphic.clipRectByRect(
      { x: start[0], y: start[1] - height / 2, width: Math.max(1, end[0] - start[0]), height },
      { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
    return shape && { type: "rect", transition: ["shape"], shape, style: api.style() };
  }
  Live.on("gantt", (g) => {
    const title = document.getElementById("plan-title");
    title.textContent = g.plan_id ? `${L().plan_version} ${g.version}${g.previous_version ? " (← " + g.previous_version + ")" : ""}` : L().no_plan;
    const index = Object.fromEntries(g.machines.map((m, i) => [m, i]));
    const data = g.operations.map((op) => ({
      value: [index[op.machine_id], new Date(op.start).getTime(), new Date(op.end).getTime()],
      op,
      itemStyle: {
        color: color(op),
        opacity: op.frozen ? 0.55 : 1,
        borderColor: op.change === "moved" ? "#fff" : op.change === "new" ? "#ffeb3b" : op.frozen ? "#bbb" : "transparent",
        borderWidth: op.change !== "same" || op.frozen ? 2 : 0,
        borderType: op.change === "moved" ? "dashed" : "solid",
      },
    }));
    const ghosts = g.operations.filter((op) => op.change === "moved" && op.previous_machine_id in index).map((op) => ({
      value: [index[op.previous_machine_id], new Date(op.previous_start).getTime(),
        new Date(op.previous_start).getTime() + (new Date(op.end) - new Date(op.start))],
      op, itemStyle: { color: "rgba(255,255,255,0.08)", borderColor: "#888", borderType: "dotted", borderWidth: 1 },
    }));
    const chart = Live.chart("gantt");
    chart.setOption({
      backgroundColor: "transparent",
      tooltip: {
        formatter: (p) => {
          const op = p.data.op;
          return `<b>${esc(op.work_order_id)}/${op.seq}</b> ${esc(op.name)}<br>${L().order}: ${esc(op.order_id)}<br>` +
            `${L().customer}: ${esc(op.customer_id)}<br>${L().due}: ${Live.fmtDateTime(op.due)}<br>` +
            `${Live.fmtDateTime(op.start)} → ${Live.fmtDateTime(op.end)}` +
            (op.frozen ? `<br>${L().frozen}` : "") + (op.rush ? `<br>${L().rush}` : "") + (op.late ? `<br>${L().late}` : "") +
            (op.change === "moved" ? `<br>${L().moved}: ${esc(op.previous_machine_id)} ${Live.fmtDateTime(op.previous_start)}` : "");
        },
      },
      dataZoom: [{ type: "slider", xAxisIndex: 0, filterMode: "weakFilter" }, { type: "inside", xAxisIndex: 0, filterMode: "weakFilter" }],
      grid: { left: 50, right: 20, top: 10, bottom: 60 },
      xAxis: { type: "time", axisLabel: { formatter: (v) => Live.fmtDateTime(new Date(v).toISOString()) } },
      yAxis: { type: "category", data: g.machines, inverse: true, axisLabel: { fontSize: 10, interval: 0 } },
      series: [
        { type: "custom", name: "previous", renderItem, encode: { x: [1, 2], y: 0 }, data: ghosts, silent: true },
        { type: "custom", name: "plan", renderItem, encode: { x: [1, 2], y: 0 }, data },
      ],
    }, true);
    document.getElementById("gantt").dataset.operations = String(g.operations.length);
    document.getElementById("removed").textContent = g.removed.length ? `${L().removed}: ${g.removed.join(", ")}` : "";
    document.getElementById("ops").innerHTML =
      `<tr><th>WO</th><th>#</th><th>${L().machine}</th><th>start</th><th>end</th><th>${L().order}</th><th>${L().customer}</th><th>${L().due}</th><th></th></tr>` +
      g.operations.map((op) => `<tr data-testid="op-${esc(op.work_order_id)}-${op.seq}" data-change="${op.change}">` +
        `<td>${esc(op.work_order_id)}</td><td>${op.seq}</td><td>${esc(op.machine_id)}</td>` +
        `<td>${Live.fmtDateTime(op.start)}</td><td>${Live.fmtDateTime(op.end)}</td><td>${esc(op.order_id)}</td>` +
        `<td>${esc(op.customer_id)}</td><td>${Live.fmtDateTime(op.due)}</td>` +
        `<td>${[op.frozen && L().frozen, op.rush && L().rush, op.late && L().late, op.change !== "same" && op.change].filter(Boolean).join(" ")}</td></tr>`).join("");
  });
  Live.start();
})();

/* One order: head, promise and projected completion, versions, work orders with their operations. */
"use strict";
(() => {
  const L = () => Live.labels;
  const esc = Live.esc;
  const box = document.getElementById("order");
  async function load() {
    const res = await fetch(`/api/orders/${encodeURIComponent(box.dataset.orderId)}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const d = await res.json();
    const o = d.order;
    box.innerHTML =
      `<h2>${L().order} ${esc(o.order_id)} · ${esc(o.customer_id)} · ${esc(o.status)}${o.rush ? " · " + L().rush : ""}</h2>` +
      `<div class="kpis"><div class="kpi"><small>${L().promise}</small><b data-testid="promise">${Live.fmtDateTime(d.promise_date)}</b></div>` +
      `<div class="kpi ${o.late ? "bad" : "good"}"><small>${L().projected}</small><b data-testid="projected">${Live.fmtDateTime(d.projected_completion)}</b></div>` +
      `<div class="kpi"><small>${L().quantity}</small><b>${o.quantity}</b></div></div>` +
      (d.cause ? `<p>${esc(d.cause)}</p>` : "") +
      `<h3>${L().work_orders}</h3>` + d.work_orders.map((w) =>
        `<h4 data-testid="wo-${esc(w.work_order_id)}">${esc(w.work_order_id)} · ${esc(w.product_id)} · ${w.quantity} · ${esc(w.status)} (${w.good}/${w.scrap})</h4>` +
        `<table><tr><th>#</th><th>${L().operations}</th><th>WC</th><th>${L().status}</th><th>${L().machine}</th><th>${L().good}</th><th>plan</th></tr>` +
        w.operations.map((op) => `<tr><td>${op.seq}</td><td>${esc(op.name)}</td><td>${esc(op.workcenter_id)}</td><td>${esc(op.status)}</td>` +
          `<td>${esc(op.machine_id || op.planned_machine_id || "")}</td><td>${op.good}</td>` +
          `<td>${op.planned_start ? Live.fmtDateTime(op.planned_start) + " → " + Live.fmtDateTime(op.planned_end) : ""}</td></tr>`).join("") +
        `</table>`).join("") +
      `<h3>${L().versions}</h3><table>` + d.versions.map((v) =>
        `<tr data-testid="version-${v.version}"><td>v${v.version}</td><td>${esc(v.event_type)}</td><td>${Live.fmtDateTime(v.recorded_at)}</td>` +
        `<td><code>${esc(JSON.stringify(v.snapshot)).slice(0, 200)}</code></td></tr>`).join("") + `</table>`;
  }
  Live.on("orders", () => load());
  Live.start();
})();

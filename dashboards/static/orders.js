/* The order pool: filters in the URL-free form, refetched whenever the live digest changes. */
"use strict";
(() => {
  const L = () => Live.labels;
  const esc = Live.esc;
  const form = document.getElementById("filters");
  async function load() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) params.set(k, v);
    const res = await fetch(`/api/orders?${params}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const rows = await res.json();
    document.getElementById("orders").innerHTML =
      `<tr><th>${L().order}</th><th>${L().customer}</th><th>${L().status}</th><th>${L().priority}</th><th>${L().rush}</th>` +
      `<th>${L().quantity}</th><th>${L().due}</th><th>${L().projected}</th></tr>` +
      rows.map((o) => `<tr data-testid="order-${esc(o.order_id)}" class="${o.late ? "late" : ""}">` +
        `<td><a href="/orders/${encodeURIComponent(o.order_id)}">${esc(o.order_id)}</a></td><td>${esc(o.customer_id)}</td>` +
        `<td>${esc(L()[o.status] || o.status)}</td><td>${o.priority}</td><td>${o.rush ? "●" : ""}</td><td>${o.quantity}</td>` +
        `<td>${Live.fmtDateTime(o.due_date)}</td><td>${Live.fmtDateTime(o.projected)}</td></tr>`).join("");
  }
  form.addEventListener("input", load);
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  Live.on("orders", () => load());
  Live.start();
})();

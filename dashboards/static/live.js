/* One EventSource per page, its event types dispatched to the page's handlers; the freshness badge. */
"use strict";
const Live = (() => {
  const handlers = {};
  let labels = {};
  let status = null;
  let source = null;
  let lastMessage = 0;
  let serverOffsetMs = 0;
  const STATE_COLORS = {
    RUNNING: "#2e7d32", IDLE: "#f9a825", SETUP: "#1e88e5", STOPPED: "#8d6e63",
    MAINTENANCE: "#8e24aa", FAULT: "#d32f2f", OFFLINE: "#616161", NO_DATA: "#37474f",
  };

  function tz() { return document.body.dataset.tz; }
  function fmtTime(iso) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat(document.body.dataset.lang === "zh" ? "zh-CN" : "en-GB", {
      timeZone: tz(), hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).format(new Date(iso));
  }
  function fmtDateTime(iso) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat(document.body.dataset.lang === "zh" ? "zh-CN" : "en-GB", {
      timeZone: tz(), month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(new Date(iso));
  }
  function fmtDuration(seconds) {
    if (seconds == null || seconds < 0) return "";
    const s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
  }
  function serverNow() { return Date.now() + serverOffsetMs; }
  function esc(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function on(type, fn) { handlers[type] = fn; }

  function dispatch(type, raw) {
    lastMessage = performance.now();
    const fn = handlers[type];
    if (!fn) return;
    fn(JSON.parse(raw));
  }

  function connect() {
    const url = document.body.dataset.stream;
    if (!url) return;
    source = new EventSource(url, { withCredentials: true });
    source.addEventListener("status", (e) => {
      status = JSON.parse(e.data);
      serverOffsetMs = new Date(status.now).getTime() - Date.now();
      lastMessage = performance.now();
      render();
    });
    source.addEventListener("ping", () => { lastMessage = performance.now(); });
    for (const type of Object.keys(handlers)) {
      source.addEventListener(type, (e) => dispatch(type, e.data));
    }
    source.onerror = () => {
      render();
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (restarting, or an error status): try again with a fresh snapshot.
        setTimeout(connect, 2000);
      }
    };
  }

  function render() {
    const box = document.getElementById("freshness");
    if (!box) return;
    const heartbeat = Number(document.body.dataset.heartbeatMs || 2000);
    const streamDown = !source || source.readyState !== EventSource.OPEN || performance.now() - lastMessage > 2.5 * heartbeat;
    let reason = "";
    if (streamDown) reason = labels.stream_down;
    else if (!status) reason = "…";
    else if (!status.db_ok) reason = labels.db_down;
    const stale = streamDown || !status || status.stale;
    box.classList.toggle("stale", stale);
    box.classList.toggle("live", !stale);
    document.body.classList.toggle("is-stale", stale);
    box.dataset.state = stale ? "stale" : "live";
    document.getElementById("live-badge").textContent = stale ? labels.stale : labels.live;
    document.getElementById("stale-reason").textContent = reason;
    document.getElementById("updated-at").textContent = status ? fmtTime(status.data_as_of) : "–";
  }

  function start() {
    labels = JSON.parse(document.getElementById("labels").textContent);
    connect();
    setInterval(render, 500);
    render();
  }

  function chart(id) {
    const el = document.getElementById(id);
    let c = echarts.getInstanceByDom(el);
    if (!c) {
      c = echarts.init(el, "dark", { renderer: "canvas" });
      window.addEventListener("resize", () => c.resize());
    }
    return c;
  }

  return {
    on, start, chart, esc, fmtTime, fmtDateTime, fmtDuration, serverNow, STATE_COLORS,
    get labels() { return labels; },
  };
})();

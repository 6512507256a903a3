// orderd operator console: fetches the JSON API and renders it.
// Customer text (senders, Message-IDs, reasons, errors) is hostile: it only ever reaches the page as
// text nodes or attribute values set through the DOM, never through innerHTML.
"use strict";

const REFRESH_MS = 15000;
const SVG_NS = "http://www.w3.org/2000/svg";
const TOKEN = document.querySelector('meta[name="orderd-token"]').content;
// Fixed colours per stage so a stage keeps its colour between refreshes.
const COLOURS = {
  classify: "#8c564b", thread: "#e377c2", extract: "#17becf", resolve: "#bcbd22", key_lookup: "#c5b0d5",
  order_lookup: "#c49c94", sender_company: "#f7b6d2", customer: "#1f77b4", stock: "#ff7f0e", decide: "#9467bd",
  create: "#2ca02c", confirm: "#98df8a", cancel: "#ff9896", reply: "#d62728", chatter: "#dbdb8d",
  activity: "#9edae5", total: "#222222",
};
const EXTRA_COLOURS = ["#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a"];
// Outcome and state words → a badge style; anything unknown gets the neutral one.
const BADGE = {
  order: "ok", sent: "ok", done: "ok", needs_review: "warn", pending: "warn", processing: "info",
  received: "info", not_order: "muted", rejected: "bad", failed: "bad", quarantined: "bad",
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function pad(n) { return String(n).padStart(2, "0"); }

// The viewer's local time; the date only when it is not today (the full UTC time is in the tooltip).
function localTime(iso, withDate) {
  if (!iso) return "";
  const d = new Date(iso);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (withDate === false || d.toDateString() === new Date().toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

function ms(value) {
  if (value === null || value === undefined) return "";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function badge(word) {
  return el("span", { class: `badge ${BADGE[word] || "neutral"}` }, String(word).replace(/_/g, " "));
}

async function api(path, method) {
  const resp = await fetch(path, { method: method || "GET", headers: { Authorization: `Bearer ${TOKEN}` },
    cache: "no-store" });
  if (!resp.ok) {
    let detail = resp.statusText;
    try { detail = (await resp.json()).error || detail; } catch (e) { /* not JSON */ }
    throw new Error(`${path}: ${resp.status} ${detail}`);
  }
  return resp.json();
}

function fillTable(table, headers, rows, empty) {
  table.replaceChildren();
  table.append(el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))));
  const body = el("tbody");
  if (rows.length === 0) {
    body.append(el("tr", { class: "empty" }, el("td", { colspan: headers.length }, empty)));
  }
  for (const cells of rows) body.append(el("tr", {}, ...cells.map((c) => el("td", {}, c))));
  table.append(body);
}

function timingsCell(timings) {
  const stages = Object.entries(timings || {}).filter(([stage]) => stage !== "total");
  const total = (timings || {}).total;
  const cell = el("div", { class: "timings" });
  if (total !== undefined) cell.append(el("strong", {}, `${ms(total)} ms`));
  cell.append(el("div", { class: "stages" },
    stages.map(([stage, value]) => `${stage} ${ms(value)}`).join(" · ")));
  return cell;
}

function renderMessages(data) {
  const rows = data.messages.map((m) => [
    el("span", { title: m.received_at }, localTime(m.received_at)),
    el("span", { class: "addr" }, m.sender || "<>"),
    el("span", { class: "mid", title: m.key }, m.message_id || "(no Message-ID)"),
    el("span", {}, badge(m.outcome), m.attempts > 1 ? el("span", { class: "muted" }, ` ×${m.attempts}`) : null),
    m.order_name ? el("span", { class: "order" }, m.order_name) : el("span", { class: "muted" }, "—"),
    el("ul", { class: "reasons" }, ...m.reasons.map((r) => el("li", {}, r)),
      m.error ? el("li", { class: "error" }, m.error) : null),
    timingsCell(m.timings_ms),
  ]);
  fillTable(document.getElementById("messages-table"),
    ["Received", "From", "Message-ID", "Outcome", "Order", "Reasons", "Timings (ms)"], rows,
    "No messages yet.");
  return data.messages;
}

function renderOutbox(data) {
  const rows = data.outbox.map((o) => [
    el("span", { title: o.created_at || "" }, localTime(o.created_at)),
    badge(o.state),
    el("span", {}, o.kind),
    el("span", { class: "addr" }, o.to.join(", ")),
    el("span", {}, o.subject || ""),
    o.order_name ? el("span", { class: "order" }, o.order_name) : el("span", { class: "muted" }, "—"),
    el("span", {}, String(o.attempts)),
    el("span", { class: o.last_error ? "error" : "muted" }, o.last_error || "—"),
    el("span", {}, o.state === "pending" ? localTime(o.next_attempt_at, false) : localTime(o.sent_at, false)),
  ]);
  fillTable(document.getElementById("outbox-table"),
    ["Created", "State", "Kind", "To", "Subject", "Order", "Attempts", "Last error", "Next try / sent"], rows,
    "The outbox is empty.");
}

function renderLatencyTable(data) {
  const rows = data.stages.map((stage) => {
    const s = data.overall[stage];
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = colourOf(stage, data.stages);
    return [el("span", {}, swatch, stage), ms(s.p50_ms), ms(s.p95_ms), String(s.n)];
  });
  fillTable(document.getElementById("latency-table"), ["Stage", "p50 ms", "p95 ms", "messages"], rows,
    "No timed messages in this window.");
}

function colourOf(stage, stages) {
  if (COLOURS[stage]) return COLOURS[stage];
  const extra = stages.filter((s) => !COLOURS[s]);
  return EXTRA_COLOURS[extra.indexOf(stage) % EXTRA_COLOURS.length];
}

// A line per stage across the time buckets, on a logarithmic axis: stages range from microseconds
// (thread) to hundreds of milliseconds (Odoo calls), and a linear axis would flatten all but two.
function renderChart(data, quantile) {
  const W = 920, H = 300, L = 58, R = 110, T = 14, B = 34;
  const root = svg("svg", { id: "latency-chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `stage latency ${quantile.replace("_ms", "")} per ${data.bucket_seconds / 60} min` });
  // The axis spans whole buckets, so the current (partial) bucket's point stays inside the plot.
  const step = data.bucket_seconds * 1000;
  const t0 = Date.parse(data.buckets[0].start);
  const t1 = Date.parse(data.buckets[data.buckets.length - 1].start) + step;
  const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
  const values = [];
  for (const b of data.buckets) for (const s of Object.values(b.stages)) values.push(s[quantile]);
  const positive = values.filter((v) => v > 0);
  // A little room below the fastest stage so its line does not sit on the axis.
  const lo = Math.floor(Math.log10(positive.length ? Math.min(...positive) * 0.8 : 0.1));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(positive.length ? Math.max(...positive) : 100)));
  const y = (v) => {
    const lv = Math.log10(Math.max(v, 10 ** lo));
    return T + (1 - (lv - lo) / (hi - lo)) * (H - T - B);
  };
  root.append(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "plot" }));
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" },
      v >= 1 ? `${v} ms` : `${v.toFixed(-e)} ms`));
  }
  const tickStep = data.minutes <= 60 ? 10 * 60000 : data.minutes <= 360 ? 60 * 60000 : 3 * 3600000;
  for (let t = Math.ceil(t0 / tickStep) * tickStep; t <= t1; t += tickStep) {
    root.append(svg("line", { x1: x(t), x2: x(t), y1: T, y2: H - B, class: "grid" }));
    root.append(svg("text", { x: x(t), y: H - B + 16, class: "tick", "text-anchor": "middle" },
      localTime(new Date(t).toISOString(), false).slice(0, 5)));
  }
  const half = step / 2;
  data.stages.forEach((stage, i) => {
    const colour = colourOf(stage, data.stages);
    const group = svg("g", { class: `series stage-${i}`, "data-stage": stage });
    let path = "", pen = "M";
    for (const b of data.buckets) {
      const s = b.stages[stage];
      if (!s) { pen = "M"; continue; }  // an empty bucket breaks the line instead of bridging it
      const px = x(Date.parse(b.start) + half), py = y(s[quantile]);
      path += `${pen}${px.toFixed(1)},${py.toFixed(1)} `;
      pen = "L";
      const dot = svg("circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: stage === "total" ? 3.5 : 2.5,
        fill: colour });
      dot.append(svg("title", {}, `${stage} ${localTime(b.start, false)}: p50 ${ms(s.p50_ms)} ms, ` +
        `p95 ${ms(s.p95_ms)} ms (${s.n})`));
      group.append(dot);
    }
    group.prepend(svg("path", { d: path.trim(), stroke: colour, fill: "none",
      "stroke-width": stage === "total" ? 2.5 : 1.5 }));
    root.append(group);
    const ly = T + 6 + i * 16;
    root.append(svg("rect", { x: W - R + 12, y: ly, width: 10, height: 10, fill: colour }));
    root.append(svg("text", { x: W - R + 27, y: ly + 9, class: "legend" }, stage));
  });
  if (data.stages.length === 0) {
    root.append(svg("text", { x: (W - R + L) / 2, y: H / 2, class: "empty", "text-anchor": "middle" },
      "no timed messages in the last hour"));
  }
  const box = document.getElementById("chart");
  box.replaceChildren(root);
  if (data.sampled) box.append(el("p", { class: "muted" }, "Busy hour: computed from the most recent messages."));
}

// A forget button per alias: the wording goes back to a person next time (the console's one action).
function renderAliases(data) {
  const rows = data.aliases.map((a) => {
    const forget = el("button", { type: "button", class: "forget", title: `forget alias ${a.id}` }, "forget");
    forget.addEventListener("click", async () => {
      if (!window.confirm(`Forget that customer ${a.partner_id} means ${a.default_code} by "${a.wording}"?`)) return;
      forget.disabled = true;
      try {
        await api(`/api/aliases/${encodeURIComponent(a.id)}/forget`, "POST");
      } catch (err) {
        document.getElementById("status").textContent = `could not forget: ${err.message}`;
      }
      refresh();
    });
    return [
      el("span", {}, String(a.partner_id)),
      el("span", {}, a.wording),
      el("span", { class: "order" }, a.default_code),
      a.pack ? el("span", {}, `${a.pack} = ${a.pack_size}`) : el("span", { class: "muted" }, "—"),
      el("span", { title: a.learned_at || "" }, a.learned_from || "—"),
      el("span", {}, String(a.times_used)),
      forget,
    ];
  });
  fillTable(document.getElementById("aliases-table"),
    ["Customer", "Their wording", "Product", "Pack", "Learned from", "Used", ""], rows,
    "Nothing learned yet: aliases appear once a salesperson confirms a corrected draft.");
}

function renderSummary(messages, latency, pending) {
  const counts = {};
  for (const m of messages) counts[m.outcome] = (counts[m.outcome] || 0) + 1;
  const parts = [el("span", {}, `${latency.messages} finished in the last hour`),
    el("span", { class: "muted-light" }, `latest ${messages.length}:`)];
  for (const [word, n] of Object.entries(counts)) parts.push(el("span", {}, badge(word), ` ${n}`));
  parts.push(el("span", {}, `outbox pending ${pending}`));
  document.getElementById("summary").replaceChildren(...parts);
}

let lastLatency = null;

async function refresh() {
  const status = document.getElementById("status");
  const msgState = document.getElementById("messages-state").value;
  const outState = document.getElementById("outbox-state").value;
  try {
    const [messages, outbox, latency, aliases] = await Promise.all([
      api(`/api/messages?limit=50${msgState ? `&state=${encodeURIComponent(msgState)}` : ""}`),
      api(`/api/outbox?limit=50${outState ? `&state=${encodeURIComponent(outState)}` : ""}`),
      api("/api/latency?minutes=60"),
      api("/api/aliases"),
    ]);
    const shown = renderMessages(messages);
    renderOutbox(outbox);
    renderAliases(aliases);
    lastLatency = latency;
    renderChart(latency, document.getElementById("latency-q").value);
    renderLatencyTable(latency);
    renderSummary(shown, latency, outbox.pending);
    status.className = "status";
    status.textContent = `updated ${localTime(new Date().toISOString(), false)} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    status.className = "status error";
    status.textContent = `could not load: ${err.message}`;
  }
}

function start() {
  document.getElementById("messages-state").addEventListener("change", refresh);
  document.getElementById("outbox-state").addEventListener("change", refresh);
  document.getElementById("latency-q").addEventListener("change", (ev) => {
    if (lastLatency) renderChart(lastLatency, ev.target.value);
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();

// The tracker's web page: plain browser JavaScript, no build step. It polls
// the REST API (docs/tracker.md) once a second; dagre lays out the graph and
// uPlot draws the charts (both served from node_modules by the tracker).
"use strict";

const POLL_MS = 1000;
const COLORS = ["#2b5ea7", "#2f7d5b", "#c2571a", "#8e44ad", "#b3261e", "#1a8a9c", "#7a5b00", "#4a5163"];
const SVG = "http://www.w3.org/2000/svg";

const ui = {
  selected: null,
  planFor: null,
  plan: null,
  charts: { throughput: null, queue: null, key: "" },
  metrics: null,
  distributed: false,
};

const $ = (id) => document.getElementById(id);

function formatCount(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (Math.abs(n) < 999.5) return String(Math.round(n));
  for (const [div, unit] of [[1e3, "k"], [1e6, "M"], [1e9, "G"]]) {
    const v = n / div;
    if (Math.abs(v) < 999.5 || unit === "G") return `${Number(v.toPrecision(3))}${unit}`;
  }
  return String(n);
}

function formatUptime(ms) {
  const total = Math.floor(ms / 1000);
  const s = String(total % 60).padStart(2, "0");
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

async function api(path, init) {
  const res = await fetch(path, { cache: "no-store", ...init });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

function setConnection(ok, text) {
  const el = $("connection");
  el.textContent = text;
  el.className = `badge ${ok ? "RUNNING" : "offline"}`;
}

function renderList(topologies) {
  const list = $("topology-list");
  $("no-topologies").hidden = topologies.length > 0;
  list.replaceChildren(...topologies.map((t) => {
    const li = document.createElement("li");
    li.dataset.topology = t.name;
    if (t.name === ui.selected) li.className = "selected";
    const name = document.createElement("span");
    name.textContent = t.name;
    const state = document.createElement("span");
    state.className = `badge ${t.state}`;
    state.textContent = t.state;
    li.append(name, state);
    li.addEventListener("click", () => select(t.name));
    return li;
  }));
}

function select(name) {
  if (ui.selected === name) return;
  ui.selected = name;
  ui.planFor = null;
  ui.plan = null;
  history.replaceState(null, "", `#${encodeURIComponent(name)}`);
  void refresh();
}

function groupingLabel(e) {
  const g = e.grouping;
  let text = g.type;
  if (g.fields) text = `${g.type}(${g.fields.join(", ")})`;
  else if (g.name) text = `custom(${g.name})`;
  return e.stream === "default" ? text : `${e.stream}: ${text}`;
}

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderGraph(plan) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 110, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const c of plan.components) g.setNode(c.id, { width: Math.max(130, c.id.length * 8 + 30), height: 58 });
  plan.edges.forEach((e, i) => {
    const label = groupingLabel(e);
    g.setEdge(e.from, e.to, { label, width: label.length * 6.2 + 8, height: 16, labelpos: "c" }, `e${i}`);
  });
  dagre.layout(g);
  const { width, height } = g.graph();
  const svg = el("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "topology graph",
  });
  const defs = el("defs");
  const marker = el("marker", {
    id: "arrow",
    viewBox: "0 0 10 10",
    refX: 10,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: "auto-start-reverse",
  });
  marker.append(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a93a6" }));
  defs.append(marker);
  svg.append(defs);
  plan.edges.forEach((e, i) => {
    const edge = g.edge(e.from, e.to, `e${i}`);
    const group = el("g", { class: "edge", "data-from": e.from, "data-to": e.to });
    const d = edge.points.map((p, j) => `${j === 0 ? "M" : "L"} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(" ");
    group.append(el("path", { d, "marker-end": "url(#arrow)" }));
    if (edge.x !== undefined) {
      group.append(el("text", { x: edge.x, y: edge.y + 4, "text-anchor": "middle" }, edge.label));
    }
    svg.append(group);
  });
  for (const c of plan.components) {
    const n = g.node(c.id);
    const group = el("g", {
      class: `node ${c.kind}`,
      "data-component": c.id,
      transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`,
    });
    group.append(el("rect", { width: n.width, height: n.height, rx: c.kind === "spout" ? 22 : 6, fill: "white" }));
    group.append(el("text", { x: n.width / 2, y: 19, "text-anchor": "middle", class: "name" }, c.id));
    group.append(
      el("text", { x: n.width / 2, y: 35, "text-anchor": "middle", class: "muted" }, `${c.kind} ×${c.parallelism}`),
    );
    group.append(el("text", { x: n.width / 2, y: 50, "text-anchor": "middle", class: "live" }, ""));
    svg.append(group);
  }
  $("graph").replaceChildren(svg);
}

function lastRate(series, component, field) {
  const s = series?.components?.[component]?.[field];
  if (!s) return null;
  for (let i = s.length - 1; i >= 0; i--) if (s[i] !== null) return s[i];
  return null;
}

function colourValue(m, component, by) {
  const c = m.components[component];
  if (!c || by === "none") return 0;
  if (by === "emitRate") return lastRate(m.series, component, "emitRate") ?? 0;
  return c[by] ?? 0;
}

function heat(f) {
  // white → amber → red
  const t = Math.max(0, Math.min(1, f));
  const r = 255;
  const g = Math.round(255 - t * 150);
  const b = Math.round(255 - t * 215);
  return `rgb(${r},${g},${b})`;
}

function updateGraph(m) {
  const by = $("color-by").value;
  const values = Object.keys(m.components).map((c) => colourValue(m, c, by));
  const max = Math.max(0, ...values);
  for (const node of document.querySelectorAll("#graph .node")) {
    const id = node.dataset.component;
    const c = m.components[id];
    if (!c) continue;
    const rate = lastRate(m.series, id, "emitRate");
    const live = node.querySelector(".live");
    live.textContent = c.kind === "bolt"
      ? `${formatCount(rate ?? 0)}/s · q ${formatCount(c.queued)}`
      : `${formatCount(rate ?? 0)}/s · ${formatCount(c.pending)} in flight`;
    const v = colourValue(m, id, by);
    node.querySelector("rect").setAttribute("fill", max > 0 ? heat(v / max) : "white");
  }
}

const TABLE_FIELDS = [
  "kind",
  "tasks",
  "emitted",
  "executed",
  "acked",
  "failed",
  "timedOut",
  "queued",
  "pending",
  "completeLatencyMs",
  "p50",
  "p99",
  "processP99",
  "nextTupleCount",
  "capacity",
  "restarts",
  "userMetrics",
  "lastError",
];
const TASK_FIELDS = [
  "component",
  "kind",
  "emitted",
  "executed",
  "acked",
  "failed",
  "timedOut",
  "queued",
  "nextTupleCount",
  "capacity",
  "meanLatency",
  "restarts",
  "errors",
  "userMetrics",
];

// User metrics in one line ("words=1.2k · depth=3 · size p99=7 (40) · hits 12/s"); every value in the title.
function formatUserMetrics(u) {
  if (!u) return { text: "", title: "" };
  const parts = [];
  const full = [];
  for (const [k, v] of Object.entries(u.counters ?? {})) {
    parts.push(`${k}=${formatCount(v)}`);
    full.push(`counter ${k} = ${v}`);
  }
  for (const [k, v] of Object.entries(u.gauges ?? {})) {
    parts.push(`${k}=${Number.isInteger(v) ? formatCount(v) : v.toFixed(3)}`);
    full.push(`gauge ${k} = ${v}`);
  }
  for (const [k, v] of Object.entries(u.meters ?? {})) {
    parts.push(`${k} ${v.ratePerSec.toFixed(1)}/s`);
    full.push(`meter ${k}: ${v.count} events, ${v.ratePerSec.toFixed(3)}/s`);
  }
  for (const [k, v] of Object.entries(u.histograms ?? {})) {
    const w = v.window;
    parts.push(w ? `${k} p99=${w.p99}` : `${k} (${formatCount(v.count)})`);
    full.push(
      `histogram ${k}: ${v.count} values, sum ${v.sum}` +
        (w
          ? `; window: ${w.count} values, min ${w.min}, p50 ${w.p50}, p99 ${w.p99}, p99.9 ${w.p999}, max ${w.max}`
          : ""),
    );
  }
  for (const [k, v] of Object.entries(u.metrics ?? {})) {
    const text = typeof v === "number" ? String(v) : Object.entries(v).map(([kk, x]) => `${kk}:${x}`).join(",");
    parts.push(`${k}=${text}`);
    full.push(`metric ${k} = ${text}`);
  }
  return { text: parts.join(" · "), title: full.join("\n") };
}

// Sampled percentiles: execute latency for bolts, complete latency for spouts.
function latencyOf(c) {
  return c.kind === "bolt" ? c.executeLatency : c.completeLatency;
}

function cell(field, text, title) {
  const td = document.createElement("td");
  td.dataset.field = field;
  td.textContent = text;
  if (title !== undefined) td.title = title;
  return td;
}

function updateTasks(m) {
  const rows = Object.entries(m.tasks ?? {}).sort(([a], [b]) => Number(a) - Number(b)).map(([id, t]) => {
    const tr = document.createElement("tr");
    tr.dataset.task = id;
    tr.append(cell("task", id));
    for (const f of TASK_FIELDS) {
      const v = t[f];
      if ((f === "executed" || f === "queued" || f === "capacity") && t.kind === "spout") tr.append(cell(f, "–"));
      else if ((f === "timedOut" || f === "nextTupleCount") && t.kind === "bolt") tr.append(cell(f, "–"));
      else if (f === "userMetrics") {
        const u = formatUserMetrics(v);
        tr.append(cell(f, u.text, u.title));
      } else if (f === "meanLatency") {
        // Whole-run mean of the samples: execute latency (bolts), complete latency (spouts).
        const l = t.kind === "bolt" ? t.allTime?.executeLatency : t.allTime?.completeLatency;
        tr.append(l ? cell(f, l.meanMs.toFixed(3), `${l.count} samples, max ${l.maxMs} ms`) : cell(f, "–"));
      } else if (v === undefined) tr.append(cell(f, "–"));
      else if (f === "capacity") tr.append(cell(f, v.toFixed(3), String(v)));
      else if (typeof v === "number") tr.append(cell(f, formatCount(v), String(v)));
      else tr.append(cell(f, String(v)));
    }
    return tr;
  });
  document.querySelector("#tasks-table tbody").replaceChildren(...rows);
}

function updateTable(m) {
  const rows = Object.entries(m.components).sort(([a], [b]) => a.localeCompare(b)).map(([id, c]) => {
    const tr = document.createElement("tr");
    tr.dataset.component = id;
    const name = document.createElement("td");
    name.textContent = id;
    tr.append(name);
    for (const f of TABLE_FIELDS) {
      const td = document.createElement("td");
      td.dataset.field = f;
      let v = c[f];
      if (f === "executed" && c.kind === "spout") v = "–";
      else if (
        (f === "timedOut" || f === "pending" || f === "completeLatencyMs" || f === "nextTupleCount") &&
        c.kind === "bolt"
      ) v = "–";
      else if (f === "processP99") {
        const l = c.kind === "bolt" ? c.processLatency : null;
        v = l ? l.p99Ms.toFixed(3) : "–";
        if (l) td.title = `${l.count} samples; p50 ${l.p50Ms} ms, p99.9 ${l.p999Ms} ms, max ${l.maxMs} ms`;
      } else if (f === "userMetrics") {
        const u = formatUserMetrics(v);
        v = u.text;
        td.className = "user";
        td.title = u.title;
      } else if (v === undefined) v = "–";
      else if (f === "queued" && c.kind === "spout") v = "–";
      else if (f === "completeLatencyMs") v = v.toFixed(2);
      else if (f === "p50" || f === "p99") {
        const l = latencyOf(c);
        v = l ? (f === "p50" ? l.p50Ms : l.p99Ms).toFixed(3) : "–";
        if (l) td.title = `${l.count} samples; p99.9 ${l.p999Ms} ms, max ${l.maxMs} ms`;
      } else if (f === "capacity") v = c.kind === "bolt" && typeof v === "number" ? v.toFixed(3) : "–";
      else if (f === "lastError") {
        v = v ?? "";
        td.className = "error";
        td.title = v;
      } else if (typeof v === "number" && f !== "tasks") {
        td.title = String(v);
        v = formatCount(v);
      }
      td.textContent = String(v);
      tr.append(td);
    }
    return tr;
  });
  document.querySelector("#components-table tbody").replaceChildren(...rows);
}

function updateSummary(m) {
  const t = m.topology;
  $("topology-name").textContent = m.name;
  const state = $("topology-state");
  state.textContent = t.state;
  state.className = `badge ${t.state}`;
  const live = t.state === "RUNNING" || t.state === "PAUSED";
  $("btn-activate").disabled = t.state !== "PAUSED";
  $("btn-deactivate").disabled = t.state !== "RUNNING";
  $("btn-kill").disabled = !live;
  const rate = Object.keys(m.components).reduce((sum, c) => sum + (lastRate(m.series, c, "emitRate") ?? 0), 0);
  const items = [
    ["uptime", formatUptime(t.uptimeMs)],
    ["emitted/s", formatCount(rate)],
    ["emitted", formatCount(t.emitted)],
    ["acked", formatCount(t.acked)],
    ["failed", formatCount(t.failed)],
    ["timed out", formatCount(t.timedOut)],
    ["in flight", formatCount(t.pending)],
    ["restarts", String(t.restarts)],
    ["backpressure", t.backpressure ? "ON" : "off"],
  ];
  $("totals").replaceChildren(...items.map(([k, v]) => {
    const div = document.createElement("div");
    div.dataset.total = k;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    div.append(dt, dd);
    return div;
  }));
  $("backpressure").textContent = `${
    t.backpressure ? "ON now" : "off now"
  }; raised ${t.backpressureEpisodes} time(s), ${formatCount(t.backpressureMs / 1000)} s held back in total.`;
}

function muted(text) {
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = text;
  return li;
}

/** Exceptions per component (GET …/exceptions): counts, the last error, its stack and container. */
function updateExceptions(list, distributed) {
  const errs = list.filter((e) => e.count > 0 || e.restarts > 0 || e.lastError);
  if (errs.length === 0) return $("exceptions").replaceChildren(muted("none"));
  $("exceptions").replaceChildren(...errs.map((e) => {
    const li = document.createElement("li");
    li.dataset.component = e.component;
    const head = document.createElement("strong");
    head.textContent = `${e.component}: ${e.count} error(s), ${e.restarts} restart(s)`;
    li.append(head);
    if (e.lastError) {
      const where = [
        distributed && e.container !== null ? `container ${e.container}` : "",
        e.lastErrorAt ? new Date(e.lastErrorAt).toLocaleTimeString() : "",
      ].filter(Boolean).join(", ");
      const msg = document.createElement(e.stack ? "details" : "div");
      msg.className = "error";
      if (e.stack) {
        const summary = document.createElement("summary");
        summary.textContent = `${e.lastError}${where ? ` (${where})` : ""}`;
        const pre = document.createElement("pre");
        pre.textContent = e.stack;
        msg.append(summary, pre);
      } else msg.textContent = `${e.lastError}${where ? ` (${where})` : ""}`;
      li.append(msg);
    }
    return li;
  }));
}

/** The latest backpressure episodes (GET …/backpressure), newest first. */
function updateEpisodes(bp) {
  const recent = bp.history.slice(-8).reverse();
  $("backpressure-episodes").replaceChildren(...recent.map((e) => {
    const li = document.createElement("li");
    const by = e.component ? ` by ${e.component}` : "";
    const span = e.end === null
      ? `since ${new Date(e.start).toLocaleTimeString()} (ongoing)`
      : `${new Date(e.start).toLocaleTimeString()}, ${(e.durationMs / 1000).toFixed(1)} s`;
    li.textContent = `container ${e.container}${by}: ${span}`;
    return li;
  }));
}

/** The physical plan (GET …/containers): one row per container. */
function updateContainers(containers, distributed) {
  $("containers-mode").textContent = distributed ? "" : "(embedded: this process)";
  const rows = containers.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.container = String(c.id);
    const queued = Object.values(c.mailboxes).reduce((a, b) => a + b, 0);
    const tasks = c.tasks.map((t) => `${t.component}:${t.id}`).join(" ");
    const values = [
      ["id", String(c.id)],
      ["state", c.state],
      ["host", c.host],
      ["pid", String(c.pid)],
      ["tasks", tasks],
      ["queued", formatCount(queued)],
      ["backpressure", c.backpressure ? `ON${c.backpressureBy ? ` (${c.backpressureBy})` : ""}` : "off"],
      ["dropped", formatCount(c.dropped)],
      ["framesIn", formatCount(c.framesIn)],
      ["framesOut", formatCount(c.framesOut)],
      ["bytesIn", formatCount(c.bytesIn)],
      ["bytesOut", formatCount(c.bytesOut)],
      ["restarts", String(c.restarts)],
      ["reportAge", c.reportAgeMs === null ? "–" : (c.reportAgeMs / 1000).toFixed(1)],
    ];
    for (const [f, v] of values) {
      const td = cell(f, v);
      if (f === "state") td.className = `state ${c.state}`;
      tr.append(td);
    }
    return tr;
  });
  document.querySelector("#containers-table tbody").replaceChildren(...rows);
}

function makeChart(target, components, yLabel) {
  const width = Math.max(240, target.clientWidth || 400);
  return new uPlot(
    {
      width,
      height: 200,
      scales: { x: { time: true } },
      axes: [{}, { label: yLabel, size: 60 }],
      series: [
        {},
        ...components.map((c, i) => ({ label: c, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true })),
      ],
      legend: { live: false },
    },
    [[], ...components.map(() => [])],
    target,
  );
}

function updateCharts(m) {
  const s = m.series;
  const components = Object.keys(s.components).sort();
  const bolts = components.filter((c) => m.components[c]?.kind === "bolt");
  const key = `${m.name}|${components.join(",")}`;
  if (ui.charts.key !== key) {
    ui.charts.throughput?.destroy();
    ui.charts.queue?.destroy();
    ui.charts.throughput = makeChart($("chart-throughput"), components, "tuples/s");
    ui.charts.queue = makeChart($("chart-queue"), components, "tuples");
    ui.charts.key = key;
    ui.charts.components = components;
  }
  const xs = s.t.map((t) => t / 1000);
  ui.charts.throughput.setData([xs, ...components.map((c) => s.components[c].emitRate)]);
  ui.charts.queue.setData([
    xs,
    ...components.map((c) => (bolts.includes(c) ? s.components[c].queued : s.components[c].pending)),
  ]);
}

async function refresh() {
  let list;
  try {
    list = (await api("/api/v1/topologies")).topologies;
    setConnection(true, "live");
  } catch {
    setConnection(false, "offline");
    return;
  }
  if (ui.selected === null || !list.some((t) => t.name === ui.selected)) {
    const fromHash = decodeURIComponent(location.hash.slice(1));
    const pick = list.find((t) => t.name === fromHash) ?? list.find((t) =>
      t.state === "RUNNING" || t.state === "PAUSED"
    ) ?? list[0];
    ui.selected = pick?.name ?? null;
    ui.planFor = null;
  }
  renderList(list);
  $("detail").hidden = ui.selected === null;
  if (ui.selected === null) return;
  const name = ui.selected;
  try {
    if (ui.planFor !== name) {
      const detail = await api(`/api/v1/topologies/${encodeURIComponent(name)}`);
      ui.plan = detail.plan;
      ui.distributed = detail.mode === "distributed";
      ui.planFor = name;
      if (ui.plan) renderGraph(ui.plan);
      else $("graph").textContent = "This topology's plan is not available.";
    }
    const base = `/api/v1/topologies/${encodeURIComponent(name)}`;
    const [m, phys, bp, ex] = await Promise.all([
      api(`${base}/metrics`),
      api(`${base}/containers`),
      api(`${base}/backpressure`),
      api(`${base}/exceptions`),
    ]);
    if (ui.selected !== name) return;
    ui.metrics = m;
    updateSummary(m);
    updateGraph(m);
    updateTable(m);
    updateTasks(m);
    updateCharts(m);
    updateContainers(phys.containers, ui.distributed);
    updateEpisodes(bp);
    updateExceptions(ex.exceptions, ui.distributed);
  } catch (e) {
    setConnection(false, String(e.message ?? e));
  }
}

async function act(action) {
  const name = ui.selected;
  if (name === null) return;
  const questions = {
    activate: `Activate topology "${name}"? Its spouts resume.`,
    deactivate: `Deactivate topology "${name}"? Its spouts pause; tuples in flight are still processed.`,
    kill: `Kill topology "${name}"? It stops at once and cannot be resumed.`,
  };
  if (!confirm(questions[action])) return;
  try {
    const r = await api(`/api/v1/topologies/${encodeURIComponent(name)}/${action}`, {
      method: "POST",
      // The tracker refuses a control POST without it: a cross-site form cannot send a custom header.
      headers: { "x-ardea-control": "1" },
    });
    // Shown at once: after a kill that ends its last topology, `ardea run` exits and the next poll fails.
    const state = $("topology-state");
    state.textContent = r.state;
    state.className = `badge ${r.state}`;
    $("btn-activate").disabled = r.state !== "PAUSED";
    $("btn-deactivate").disabled = r.state !== "RUNNING";
    $("btn-kill").disabled = r.state !== "RUNNING" && r.state !== "PAUSED";
  } catch (e) {
    alert(`${action} failed: ${e.message}`);
    return;
  }
  if (action !== "kill") await refresh();
}

$("btn-activate").addEventListener("click", () => act("activate"));
$("btn-deactivate").addEventListener("click", () => act("deactivate"));
$("btn-kill").addEventListener("click", () => act("kill"));
$("color-by").addEventListener("change", () => ui.metrics && updateGraph(ui.metrics));
void refresh();
setInterval(refresh, POLL_MS);

// GET /admin: the dashboard page, plain HTML/CSS/JS written here and served
// as is (no framework, no CDN, nothing fetched but its own stream). It reads
// the key from `?key=` once, opens GET /admin/stream with it (EventSource,
// which resumes by Last-Event-ID on its own) and sends it as a Bearer token
// with each action. Everything the server sends is put on screen with
// textContent, never as HTML: channel names and user ids come from clients.
// The inline script and style are allowed by hash in the page's
// Content-Security-Policy, so nothing else can run on it.
import { createHash } from 'node:crypto';

const STYLE = `
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f6f8fa; color: #1f2328; }
  header { display: flex; align-items: center; gap: 1rem; padding: .6rem 1rem; background: #24292f; color: #fff; }
  header h1 { font-size: 1.05rem; margin: 0; white-space: nowrap; }
  header h1 span { font-weight: 400; opacity: .7; }
  #node { flex: 1; opacity: .85; font-size: .9rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  #uptime { opacity: .85; font-size: .9rem; white-space: nowrap; }
  #status { padding: .15rem .65rem; border-radius: 1rem; font-size: .8rem; font-weight: 600; background: #6e7781; white-space: nowrap; }
  #status[data-status="live"] { background: #1a7f37; }
  #status[data-status="reconnecting"] { background: #9a6700; }
  #status[data-status="refused"] { background: #cf222e; }
  #banner { margin: .75rem 1rem 0; padding: .5rem .75rem; border-radius: .4rem; background: #fff8c5; border: 1px solid #d4a72c; }
  main { padding: .75rem 1rem 1.25rem; display: grid; gap: .75rem; }
  tr.total td { font-weight: 600; border-top: 2px solid #d0d7de; }
  .row { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); align-items: start; }
  .tiles { grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); align-items: stretch; }
  .card { background: #fff; border: 1px solid #d0d7de; border-radius: .5rem; padding: .6rem .8rem; min-width: 0; }
  h2 { font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: #57606a; margin: 0 0 .2rem; font-weight: 600; }
  .big { font-size: 1.75rem; font-weight: 600; font-variant-numeric: tabular-nums; line-height: 1.2; }
  .unit { color: #57606a; font-size: .95rem; margin-left: .2rem; }
  .hint { color: #57606a; font-size: .8rem; margin: .1rem 0 .4rem; }
  .tile .hint { margin: .2rem 0 0; }
  .tile b { font-variant-numeric: tabular-nums; }
  .swatch { display: inline-block; width: .7rem; height: .7rem; border-radius: .15rem; margin: 0 .25rem 0 .6rem; vertical-align: -1px; }
  .legend { font-size: .8rem; color: #57606a; }
  .legend b { color: #1f2328; }
  .s-in { background: #0969da; } .s-out { background: #1a7f37; } .s-p50 { background: #8250df; } .s-p99 { background: #cf222e; }
  .s-ws { background: #1a7f37; } .s-sse { background: #0969da; } .s-poll { background: #bc4c00; }
  svg { width: 100%; height: 160px; display: block; }
  svg text { font-size: 10px; fill: #57606a; }
  svg .grid { stroke: #eaeef2; stroke-width: 1; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; table-layout: fixed; }
  th { text-align: left; font-weight: 600; color: #57606a; font-size: .75rem; border-bottom: 1px solid #d0d7de; padding: .2rem .35rem; }
  td { padding: .25rem .35rem; border-bottom: 1px solid #eaeef2; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .num { text-align: right; }
  .scroll { max-height: 21rem; overflow-y: auto; }
  .scroll thead th { position: sticky; top: 0; background: #fff; }
  .w-time { width: 5.5rem; } .w-token { width: 7rem; } .w-transport { width: 7rem; } .w-user { width: 22%; } .w-button { width: 6.5rem; }
  .trouble { margin: .1rem 0 0; padding: 0; list-style: none; }
  .trouble li { border: 0; padding: 0; color: #57606a; font-size: .85rem; }
  .trouble b { display: inline-block; min-width: 2.2rem; font-size: 1.15rem; color: #1f2328; }
  .row.main-first { grid-template-columns: 2fr 1fr 1fr; }
  @media (max-width: 60rem) { .row.main-first { grid-template-columns: 1fr; } }
  .barcell { width: 35%; }
  .bar { height: .5rem; border-radius: .25rem; background: #0969da; min-width: 2px; }
  .bar.rate { background: #1a7f37; }
  ol { list-style: none; margin: 0; padding: 0; max-height: 16rem; overflow-y: auto; }
  li { padding: .25rem 0; border-bottom: 1px solid #eaeef2; overflow-wrap: anywhere; }
  time { color: #57606a; font-variant-numeric: tabular-nums; margin-right: .4rem; font-size: .8rem; }
  .tag { display: inline-block; font-size: .7rem; font-weight: 600; padding: 0 .4rem; border-radius: .25rem; color: #fff; margin-right: .35rem; }
  .t-ws { background: #1a7f37; } .t-sse { background: #0969da; } .t-poll { background: #bc4c00; }
  .k-drop { background: #cf222e; } .k-gap { background: #9a6700; } .k-http { background: #6e7781; }
  .ok { color: #1a7f37; } .fail { color: #cf222e; }
  .empty { color: #8c959f; font-style: italic; }
  .muted { color: #8c959f; }
  button { font: inherit; font-size: .8rem; padding: .15rem .6rem; border: 1px solid #d0d7de; border-radius: .35rem; background: #f6f8fa; color: #1f2328; cursor: pointer; }
  button.danger { color: #cf222e; }
  button.primary { background: #1f883d; border-color: #1f883d; color: #fff; padding: .3rem .9rem; }
  input, select { font: inherit; padding: .25rem .45rem; border: 1px solid #d0d7de; border-radius: .35rem; min-width: 0; }
  label { display: grid; gap: .15rem; font-size: .8rem; color: #57606a; }
  form { display: grid; gap: .5rem; }
  .controls { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-bottom: .4rem; font-size: .85rem; }
  footer { color: #8c959f; font-size: .8rem; padding: 0 1rem 1rem; }
`;

const SCRIPT = `
"use strict";
const key = new URLSearchParams(location.search).get("key") || "";
const WINDOW_MS = 5 * 60 * 1000;
const COLORS = { in: "#0969da", out: "#1a7f37", p50: "#8250df", p99: "#cf222e", ws: "#1a7f37", sse: "#0969da", poll: "#bc4c00" };
const TRANSPORTS = { ws: "WebSocket", sse: "SSE", poll: "long-poll" };
// Close codes an operator may want, and what pushwire's browser client does after each.
const CODES = [
  [1012, "1012 service restart", "the client reconnects and resumes"],
  [1001, "1001 going away", "the client reconnects and resumes"],
  [1013, "1013 try again later", "the client reconnects after its backoff and resumes"],
  [1000, "1000 normal closure", "the client reconnects and resumes"],
  [1008, "1008 policy violation", "pushwire's browser client stops: it does not reconnect"],
  [4403, "4403 forbidden", "pushwire's browser client stops: it does not reconnect"],
];
const samples = [];
let state = null;
let lastId = "";
let renderQueued = false;
const shown = {};

const $ = (id) => document.getElementById(id);
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const name in props || {}) {
    if (name === "text") node.textContent = props[name];
    else if (name === "class") node.className = props[name];
    else if (name === "onclick") node.addEventListener("click", props[name]);
    else node.setAttribute(name, props[name]);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
function svgEl(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const name in attrs) node.setAttribute(name, attrs[name]);
  return node;
}
function setText(id, value) {
  const node = $(id);
  if (node.textContent !== value) node.textContent = value;
}

function num(n) {
  if (n === null || n === undefined) return "–";
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (abs >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (abs >= 1e4) return (n / 1e3).toFixed(1) + "k";
  if (abs >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return n.toFixed(1);
}
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit++; }
  return (unit === 0 ? String(n) : n.toFixed(n >= 100 ? 0 : 1)) + " " + units[unit];
}
function ms(n) { return n === null || n === undefined ? "–" : num(n) + " ms"; }
function duration(millis) {
  const s = Math.max(0, Math.floor(millis / 1000));
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min " + (s % 60) + " s";
  const h = Math.floor(m / 60);
  if (h < 48) return h + " h " + (m % 60) + " min";
  return Math.floor(h / 24) + " d " + (h % 24) + " h";
}
function clock(t) { return new Date(t).toLocaleTimeString([], { hour12: false }); }
function plural(n, one, many) { return num(n) + " " + (n === 1 ? one : many || one + "s"); }
function who(session) {
  return "session " + session.token + "… (" + TRANSPORTS[session.transport] + (session.uid === null ? "" : ", user " + session.uid) + ")";
}

// ---- the stream ----

function connect() {
  const url = "/admin/stream?key=" + encodeURIComponent(key) + (lastId ? "&lastEventId=" + encodeURIComponent(lastId) : "");
  const source = new EventSource(url);
  setStatus("connecting", "connecting…");
  source.onopen = () => { setStatus("live", "live"); banner("stream", null); };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (401, 403, 503): EventSource gives up, so try again later ourselves.
      setStatus("refused", "refused");
      banner("stream", "The server refused the dashboard's stream: the key is missing or wrong (open /admin?key=…), or too many dashboards are open. Trying again every 5 s.");
      setTimeout(connect, 5000);
    } else {
      setStatus("reconnecting", "reconnecting…");
    }
  };
  source.addEventListener("sample", (event) => {
    lastId = event.lastEventId;
    samples.push(JSON.parse(event.data));
    const newest = samples[samples.length - 1].t;
    while (samples[0].t < newest - WINDOW_MS) samples.shift();
    queueRender();
  });
  source.addEventListener("state", (event) => {
    state = JSON.parse(event.data);
    queueRender();
  });
  source.addEventListener("reset", () => { samples.length = 0; });
}
function setStatus(status, label) {
  $("status").dataset.status = status;
  setText("status", label);
}
const banners = {};
function banner(topic, message) {
  banners[topic] = message;
  const text = Object.values(banners).filter(Boolean).join(" ");
  $("banner").hidden = text === "";
  setText("banner", text);
}
// A fresh page gets up to 300 samples at once: draw once for all of them.
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => { renderQueued = false; renderSamples(); if (state) renderState(); }, 0);
}

// ---- numbers and charts ----

function renderSamples() {
  const last = samples[samples.length - 1];
  if (!last) return;
  setText("sessions-total", num(last.ws + last.sse + last.poll));
  setText("sessions-ws", num(last.ws));
  setText("sessions-sse", num(last.sse));
  setText("sessions-poll", num(last.poll));
  setText("rate-in", num(last.in));
  setText("total-in", num(last.published));
  setText("rate-out", num(last.out));
  setText("total-out", num(last.delivered));
  setText("commands", num(last.commands));
  setText("p50", ms(last.p50));
  setText("p99", ms(last.p99));
  setText("rss", bytes(last.rss));
  setText("heap", bytes(last.heapUsed) + " of " + bytes(last.heapTotal));
  setText("drops", num(last.drops));
  setText("gaps", num(last.gaps));
  setText("errors", num(last.httpErrors));
  if (state) setText("uptime", "up " + duration(last.t - state.node.startedAt));
  setText("legend-in", num(last.in) + "/s");
  setText("legend-out", num(last.out) + "/s");
  setText("legend-p50", ms(last.p50));
  setText("legend-p99", ms(last.p99));
  setText("legend-ws", num(last.ws));
  setText("legend-sse", num(last.sse));
  setText("legend-poll", num(last.poll));
  drawChart($("chart-rates"), ["in", "out"], num);
  drawChart($("chart-latency"), ["p50", "p99"], ms);
  drawChart($("chart-sessions"), ["ws", "sse", "poll"], num);
}

function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

// One line per series over the last minutes, drawn in the SVG's own pixels
// (text stays crisp at any width). A line breaks where a value is missing
// (no delivery to time that second) or where sampling paused (no dashboard open).
function drawChart(svg, keys, format) {
  const width = svg.clientWidth || 400;
  const height = svg.clientHeight || 160;
  const left = 52, right = 10, top = 8, bottom = 18;
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.replaceChildren();
  const now = samples[samples.length - 1].t;
  const span = Math.min(WINDOW_MS, Math.max(60000, now - samples[0].t));
  let max = 0;
  for (const sample of samples) for (const key of keys) if (sample[key] !== null && sample[key] > max) max = sample[key];
  max = niceCeiling(max);
  const x = (t) => left + ((t - (now - span)) / span) * (width - left - right);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  for (const fraction of [0, 0.5, 1]) {
    const v = max * fraction;
    svg.append(svgEl("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }));
    const label = svgEl("text", { x: left - 6, y: y(v) + 3, "text-anchor": "end" });
    label.textContent = format(v);
    svg.append(label);
  }
  const ago = svgEl("text", { x: left, y: height - 4 });
  ago.textContent = span >= 120000 ? Math.round(span / 60000) + " min ago" : Math.round(span / 1000) + " s ago";
  const nowLabel = svgEl("text", { x: width - right, y: height - 4, "text-anchor": "end" });
  nowLabel.textContent = "now";
  svg.append(ago, nowLabel);
  for (const key of keys) {
    let points = [];
    const flush = () => {
      if (points.length > 1) svg.append(svgEl("polyline", { points: points.join(" "), fill: "none", stroke: COLORS[key], "stroke-width": 2, "stroke-linejoin": "round", "data-series": key }));
      else if (points.length === 1) {
        const [cx, cy] = points[0].split(",");
        svg.append(svgEl("circle", { cx, cy, r: 2, fill: COLORS[key], "data-series": key }));
      }
      points = [];
    };
    let previous = null;
    for (const sample of samples) {
      if (sample[key] === null || (previous !== null && sample.t - previous > 2500)) flush();
      if (sample[key] !== null) points.push(x(sample.t).toFixed(1) + "," + y(sample[key]).toFixed(1));
      previous = sample.t;
    }
    flush();
  }
}

// ---- lists ----

// Rebuild a list only when its data changed: a button must not be replaced under the pointer.
function renderIf(id, data, build) {
  const json = JSON.stringify(data);
  if (shown[id] === json) return;
  shown[id] = json;
  $(id).replaceChildren(...build(data));
}
function emptyRow(columns, text) {
  return [el("tr", {}, el("td", { class: "empty", colspan: columns, text }))];
}
function tag(transport) { return el("span", { class: "tag t-" + transport, text: TRANSPORTS[transport] }); }

function renderState() {
  const { node, nodes, sessions, channels, scheduled, events } = state;
  const processes = node.redis ? " · " + (node.processes === null ? "? processes" : plural(node.processes, "process", "processes")) + " share Redis" : "";
  setText("node", node.name + " · pid " + node.pid + processes);
  document.title = "pushwire admin · " + node.name;
  banner("redis", node.degraded ? "Redis is unreachable (" + node.degraded + "): publishes are refused with 503 until it is back." : null);
  setText("channels-total", plural(channels.total, "channel") + " with subscribers here");
  $("processes-card").hidden = !node.redis;
  if (node.redis) renderIf("processes", nodes, (list) => {
    if (list === null) return emptyRow(7, "Redis did not answer");
    const total = { ws: 0, sse: 0, poll: 0, published: 0, delivered: 0, rss: 0 };
    for (const each of list) for (const key of Object.keys(total)) total[key] += each[key];
    const row = (name, figures, attrs) => el("tr", attrs,
      name,
      el("td", { class: "num", text: num(figures.ws) }), el("td", { class: "num", text: num(figures.sse) }), el("td", { class: "num", text: num(figures.poll) }),
      el("td", { class: "num", text: num(figures.published) }), el("td", { class: "num", text: num(figures.delivered) }),
      el("td", { class: "num", text: Math.round(figures.rss / 1048576) + " MiB" }));
    return [
      ...list.map((each) => row(el("td", { text: each.name + (each.self ? " (this one)" : ""), title: each.node }), each, {})),
      row(el("td", { text: "all " + list.length }), total, { class: "total" }),
    ];
  });

  renderIf("top-subscribers", channels.bySubscribers, (rows) => {
    if (rows.length === 0) return emptyRow(3, "No channel has subscribers");
    const most = rows[0].sessions;
    return rows.map((row) => el("tr", {},
      el("td", { text: row.channel, title: row.channel }),
      el("td", { class: "barcell" }, bar(row.sessions / most, "")),
      el("td", { class: "num", text: num(row.sessions) })));
  });
  renderIf("top-rate", channels.byRate, (rows) => {
    if (rows.length === 0) return emptyRow(3, "Nothing published in the last 10 s");
    const most = rows[0].rate;
    const names = { users: "to user ids", broadcast: "broadcast", other: "other channels" };
    return rows.map((row) => el("tr", {},
      row.channel === null ? el("td", { class: "muted", text: names[row.kind] }) : el("td", { text: row.channel, title: row.channel }),
      el("td", { class: "barcell" }, bar(row.rate / most, "rate")),
      el("td", { class: "num", text: num(row.rate) + "/s" })));
  });
  renderIf("events", events, (list) => {
    if (list.length === 0) return [el("li", { class: "empty", text: "Nothing yet: slow consumers cut, resumes that met a gap and HTTP errors appear here" })];
    return list.slice().reverse().map(describeEvent);
  });
  setText("sessions-count", sessions.total > sessions.list.length ? "the oldest " + sessions.list.length + " of " + num(sessions.total) : plural(sessions.total, "session"));
  renderIf("sessions", sessions.list, (list) => {
    if (list.length === 0) return emptyRow(5, "No sessions are open");
    return list.map((session) => el("tr", { "data-session": session.id },
      el("td", { text: session.token + "…", title: "session number " + session.id }),
      el("td", {}, tag(session.transport)),
      el("td", session.uid === null ? { class: "muted", text: "anonymous" } : { text: session.uid, title: session.uid }),
      el("td", { text: session.channels.join(", ") + (session.channelCount > session.channels.length ? " +" + (session.channelCount - session.channels.length) : ""), title: session.channels.join(", ") }),
      el("td", { class: "num" }, el("button", { class: "danger", text: "Disconnect", onclick: () => disconnect(session) }))));
  });
  setText("scheduled-count", scheduled.total === null ? "unknown: " + scheduled.error : scheduled.total > scheduled.list.length ? "the first " + scheduled.list.length + " of " + num(scheduled.total) : plural(scheduled.total, "publish", "publishes") + " waiting");
  renderIf("scheduled", scheduled.list, (list) => {
    if (list.length === 0) return emptyRow(4, "Nothing is scheduled");
    return list.map((item) => el("tr", { "data-scheduled": item.id },
      el("td", { text: clock(item.at), title: new Date(item.at).toString() }),
      el("td", { text: target(item) + (item.event ? " · " + item.event : "") }),
      el("td", { text: item.data, title: item.data }),
      el("td", { class: "num" }, el("button", { class: "danger", text: "Cancel", onclick: () => cancel(item) }))));
  });
}
function bar(fraction, kind) {
  const node = el("div", { class: "bar " + kind });
  node.style.width = Math.max(1, Math.round(fraction * 100)) + "%";
  return node;
}
function target(item) {
  if (item.channel !== undefined) return "channel " + item.channel;
  if (item.uid !== undefined) return "user " + item.uid;
  return "everyone";
}
function describeEvent(event) {
  const user = (uid) => (uid === null ? "" : " (user " + uid + ")");
  let label, text;
  if (event.kind === "drop") {
    label = "slow consumer";
    text = TRANSPORTS[event.transport] + " session " + event.session + "…" + user(event.uid) + " could not keep up and was cut; it resumes when it reconnects";
  } else if (event.kind === "gap") {
    label = "resume gap";
    text = TRANSPORTS[event.transport] + " session" + user(event.uid) + " resumed from " + event.since + ", older than history: it was told of the gap";
  } else {
    label = "HTTP " + event.status;
    text = event.method + " " + event.path;
  }
  return el("li", {}, el("time", { text: clock(event.t) }), el("span", { class: "tag k-" + event.kind, text: label }), text);
}

// ---- actions: confirmed, sent with the key, logged ----

function logAction(text, ok) {
  const list = $("actions");
  list.querySelector(".empty")?.remove();
  list.prepend(el("li", { class: ok ? "ok" : "fail" }, el("time", { text: clock(Date.now()) }), text));
}
async function act(what, path, body, describe) {
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) logAction(what + ": " + describe(answer), true);
    else logAction(what + ": refused, " + response.status + " " + (answer.error || ""), false);
  } catch (error) {
    logAction(what + ": failed, " + error.message, false);
  }
}
function disconnect(session) {
  const code = Number($("close-code").value);
  const how = session.transport === "ws" ? " with close code " + code : " (an SSE or long-poll session has no close code: it is ended)";
  if (!confirm("Disconnect " + who(session) + how + "?")) return;
  act("Disconnect " + who(session), "/admin/disconnect", { session: session.id, code }, (answer) =>
    answer.code === null ? "ended" : "closed with code " + answer.code);
}
function cancel(item) {
  if (!confirm("Cancel scheduled publish " + item.id + " to " + target(item) + " at " + clock(item.at) + "?")) return;
  act("Cancel " + item.id, "/admin/cancel", { id: item.id }, () => "cancelled");
}
$("publish").addEventListener("submit", (event) => {
  event.preventDefault();
  const channel = $("publish-channel").value.trim();
  const eventName = $("publish-event").value.trim();
  const text = $("publish-data").value;
  let data;
  try { data = JSON.parse(text); } catch { data = text; } // not JSON: sent as a string
  if (!confirm("Publish to channel " + channel + "? Every subscriber receives it.")) return;
  const body = eventName === "" ? { channel, data } : { channel, event: eventName, data };
  act("Publish to " + channel, "/admin/publish", body, (answer) =>
    "id " + answer.id + ", delivered to " + plural(answer.delivered, "session") + " here");
});

for (const [code, label, hint] of CODES) $("close-code").append(el("option", { value: code, text: label, "data-hint": hint }));
const showHint = () => setText("code-hint", $("close-code").selectedOptions[0].dataset.hint);
$("close-code").addEventListener("change", showHint);
showHint();
connect();
`;

const BODY = `
<header>
  <h1>pushwire <span>admin</span></h1>
  <span id="node">…</span>
  <span id="uptime"></span>
  <span id="status" data-status="connecting">connecting…</span>
</header>
<div id="banner" hidden></div>
<main>
  <section class="row tiles" aria-label="Now">
    <div class="card tile">
      <h2>Connections</h2>
      <div class="big" id="sessions-total">–</div>
      <p class="hint"><span class="tag t-ws">WebSocket</span><b id="sessions-ws">–</b> <span class="tag t-sse">SSE</span><b id="sessions-sse">–</b> <span class="tag t-poll">long-poll</span><b id="sessions-poll">–</b></p>
    </div>
    <div class="card tile">
      <h2>Messages in</h2>
      <div><span class="big" id="rate-in">–</span><span class="unit">/s</span></div>
      <p class="hint">published through this process · <b id="total-in">–</b> since start</p>
    </div>
    <div class="card tile">
      <h2>Messages out</h2>
      <div><span class="big" id="rate-out">–</span><span class="unit">/s</span></div>
      <p class="hint">written to sessions · <b id="total-out">–</b> since start · <b id="commands">–</b>/s commands from clients</p>
    </div>
    <div class="card tile">
      <h2>Delivery latency</h2>
      <div class="big"><span id="p50">–</span> <span class="unit">p50</span></div>
      <p class="hint">p99 <b id="p99">–</b> · publish → session's socket, over the last second</p>
    </div>
    <div class="card tile">
      <h2>Memory</h2>
      <div class="big" id="rss">–</div>
      <p class="hint">resident (RSS) · JavaScript heap <b id="heap">–</b></p>
    </div>
    <div class="card tile">
      <h2>Trouble since start</h2>
      <ul class="trouble">
        <li><b id="drops">–</b>slow consumers cut</li>
        <li><b id="gaps">–</b>resume gaps</li>
        <li><b id="errors">–</b>HTTP errors</li>
      </ul>
    </div>
  </section>
  <section class="row" aria-label="The last minutes">
    <div class="card">
      <h2>Messages per second</h2>
      <div class="legend"><span class="swatch s-in"></span>in <b id="legend-in">–</b><span class="swatch s-out"></span>out <b id="legend-out">–</b></div>
      <svg id="chart-rates" role="img" aria-label="messages in and out per second"></svg>
    </div>
    <div class="card">
      <h2>Delivery latency</h2>
      <div class="legend"><span class="swatch s-p50"></span>p50 <b id="legend-p50">–</b><span class="swatch s-p99"></span>p99 <b id="legend-p99">–</b></div>
      <svg id="chart-latency" role="img" aria-label="publish to delivery latency, p50 and p99"></svg>
    </div>
    <div class="card">
      <h2>Connections</h2>
      <div class="legend"><span class="swatch s-ws"></span>WebSocket <b id="legend-ws">–</b><span class="swatch s-sse"></span>SSE <b id="legend-sse">–</b><span class="swatch s-poll"></span>long-poll <b id="legend-poll">–</b></div>
      <svg id="chart-sessions" role="img" aria-label="open sessions by transport"></svg>
    </div>
  </section>
  <section class="row">
    <div class="card">
      <h2>Top channels by subscribers</h2>
      <p class="hint" id="channels-total">sessions subscribed here</p>
      <table><tbody id="top-subscribers"></tbody></table>
    </div>
    <div class="card">
      <h2>Top channels by publish rate</h2>
      <p class="hint">messages per second over the last 10 s, published through this process</p>
      <table><tbody id="top-rate"></tbody></table>
    </div>
    <div class="card">
      <h2>Recent events</h2>
      <p class="hint">newest first: slow consumers cut, resume gaps, HTTP errors</p>
      <ol id="events"></ol>
    </div>
  </section>
  <section class="card" id="processes-card" hidden>
    <h2>Processes sharing Redis</h2>
    <p class="hint">each one's sessions and messages since it started, from the snapshots they write every 2 s</p>
    <table>
      <thead><tr><th>Process</th><th class="num">WebSocket</th><th class="num">SSE</th><th class="num">long-poll</th><th class="num">published</th><th class="num">delivered</th><th class="num">RSS</th></tr></thead>
      <tbody id="processes"></tbody>
    </table>
  </section>
  <section class="card">
    <h2>Sessions</h2>
    <div class="controls">
      <span class="hint" id="sessions-count">–</span>
      <label>Close code for Disconnect <select id="close-code"></select></label>
      <span class="hint" id="code-hint"></span>
    </div>
    <div class="scroll">
      <table>
        <thead><tr><th class="w-token">Session</th><th class="w-transport">Transport</th><th class="w-user">User</th><th>Channels</th><th class="w-button"></th></tr></thead>
        <tbody id="sessions"></tbody>
      </table>
    </div>
  </section>
  <section class="row main-first">
    <div class="card">
      <h2>Scheduled publishes</h2>
      <p class="hint" id="scheduled-count">–</p>
      <table>
        <thead><tr><th class="w-time">When</th><th>To</th><th>Data</th><th class="w-button"></th></tr></thead>
        <tbody id="scheduled"></tbody>
      </table>
    </div>
    <div class="card">
      <h2>Test publish</h2>
      <form id="publish">
        <label>Channel <input id="publish-channel" required placeholder="news" autocomplete="off"></label>
        <label>Event (optional) <input id="publish-event" placeholder="test" autocomplete="off"></label>
        <label>Data (JSON, or plain text) <input id="publish-data" value='{"text":"hello from the admin dashboard"}' autocomplete="off"></label>
        <div><button class="primary">Publish</button></div>
      </form>
    </div>
    <div class="card">
      <h2>Action log</h2>
      <p class="hint">what this page did; the server logs each action on stderr</p>
      <ol id="actions"><li class="empty">No actions yet</li></ol>
    </div>
  </section>
</main>
<footer>One sample a second over <code>GET /admin/stream</code> (Server-Sent Events) while a dashboard is open; nothing is measured while none is.</footer>
`;

/** The dashboard page. */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pushwire admin</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own script and style (by hash) and
 * requests to its own origin; no other script, no frames around it (the
 * actions must not be clickjacked), no form posting elsewhere.
 */
export const ADMIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// Reservoir console: plain JS, no library, nothing fetched but this
// server's own routes. The admin key lives in sessionStorage (this tab
// only) and goes out as the Admin-Key header, never in a URL.
"use strict";

const KEY_SLOT = "reservoir.adminKey";
const POLL_MS = 1000;
const HISTORY_POINTS = 120; // two minutes of one-second samples
const SEATS_DRAWN_MAX = 5000; // a bigger schedule shows its first seats
const DATA_SHOWN_CHARS = 240; // of an event's data in the table

// The server labels each request series by kind (api/metrics.h route_kind):
// "query" (a dialect's GET route), "command", or "other" (health, metrics,
// the console itself, unknown paths). Queries/s sums kind="query"; commands
// come from reservoir_commands_total (every domain's writer).
const isQuery = (l) => l.kind === "query";
// The console's own polling (and 404s) is not traffic worth charting.
const traffic = (l) => l.kind === "query" || l.kind === "command";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function adminKey() { return sessionStorage.getItem(KEY_SLOT); }

// GET of a JSON route with the key; resolves to {status, body} (body null
// when it is not JSON), never rejects on an HTTP status.
async function getJson(path, withKey) {
  const headers = { Accept: "application/json" };
  if (withKey && adminKey() !== null) headers["Admin-Key"] = adminKey();
  const res = await fetch(path, { headers, cache: "no-store" });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  return { status: res.status, body };
}

// ---------------------------------------------------------------- sign in ---

async function tryKey(key) {
  sessionStorage.setItem(KEY_SLOT, key);
  const r = await getJson("/admin/waiting-room", true);
  if (r.status === 200) return r;
  sessionStorage.removeItem(KEY_SLOT);
  const code = r.body && r.body.error ? r.body.error.code : "";
  $("login-error").textContent = `Refused: ${r.status} ${code}`.trim();
  return null;
}

function showConsole(first) {
  $("login").hidden = true;
  $("console").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = "signed in (admin)";
  startPolling(first);
}

function signOut() {
  sessionStorage.removeItem(KEY_SLOT);
  location.reload();
}

// ------------------------------------------------------------- /metrics ---

// Prometheus text -> [{name, labels, value}]; lines it cannot read are skipped.
function parseMetrics(text) {
  const out = [];
  const re = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = re.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    const value = Number(m[4] === "+Inf" ? Infinity : m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

function sumOf(samples, name, keep) {
  let total = null;
  for (const s of samples) {
    if (s.name === name && (!keep || keep(s.labels))) total = (total || 0) + s.value;
  }
  return total;
}

// Cumulative buckets {le -> count} of histogram `base`, summed over series.
function bucketsOf(samples, base, keep) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== base + "_bucket" || (keep && !keep(s.labels))) continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) || 0) + s.value);
  }
  return buckets.size ? buckets : null;
}

// The q-quantile of the observations between two scrapes (bucket deltas),
// interpolated inside its bucket; null when nothing was observed.
function quantile(now, before, q) {
  if (!now) return null;
  const les = [...now.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => now.get(le) - ((before && before.get(le)) || 0));
  const total = counts[counts.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (counts[i] >= rank) {
      const lo = i === 0 ? 0 : les[i - 1], loCount = i === 0 ? 0 : counts[i - 1];
      if (les[i] === Infinity) return lo;
      const inBucket = counts[i] - loCount;
      return lo + (les[i] - lo) * (inBucket > 0 ? (rank - loCount) / inBucket : 1);
    }
  }
  return les[les.length - 2] || null;
}

const history = { rates: [[], []], latency: [[], []], lag: [[], []] };
let lastScrape = null;

function push(series, value) {
  series.push(value);
  if (series.length > HISTORY_POINTS) series.shift();
}

function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
  if (unit === "s") return v < 1 ? `${(v * 1000).toPrecision(3)} ms` : `${v.toFixed(2)} s`;
  const text = v >= 100 ? v.toFixed(0) : v >= 1 || v === 0 ? v.toFixed(1) : v.toPrecision(2);
  return `${text}${unit ? " " + unit : ""}`;
}

function readScrape(samples, at) {
  return {
    at,
    commands: sumOf(samples, "reservoir_commands_total"),
    queries: sumOf(samples, "reservoir_http_requests_total", isQuery),
    latency: bucketsOf(samples, "reservoir_http_request_duration_seconds", traffic),
    lagEvents: sumOf(samples, "reservoir_projection_lag_events"),
    lagSeconds: bucketsOf(samples, "reservoir_projection_lag_seconds") ||
      msToSeconds(bucketsOf(samples, "reservoir_projection_lag_ms")),
  };
}

function msToSeconds(buckets) {
  if (!buckets) return null;
  return new Map([...buckets].map(([le, n]) => [le / 1000, n]));
}

function rate(now, before, key) {
  if (!before || now[key] === null || before[key] === null) return null;
  const dt = (now.at - before.at) / 1000;
  return dt > 0 ? Math.max(0, (now[key] - before[key]) / dt) : null;
}

async function pollMetrics() {
  const res = await fetch("/metrics", { cache: "no-store" });
  if (!res.ok) return;
  const now = readScrape(parseMetrics(await res.text()), Date.now());
  const before = lastScrape;
  lastScrape = now;
  const cmd = rate(now, before, "commands"), qry = rate(now, before, "queries");
  const p50 = quantile(now.latency, before && before.latency, 0.5);
  const p99 = quantile(now.latency, before && before.latency, 0.99);
  const lag99 = quantile(now.lagSeconds, before && before.lagSeconds, 0.99);
  push(history.rates[0], cmd); push(history.rates[1], qry);
  push(history.latency[0], p50); push(history.latency[1], p99);
  push(history.lag[0], now.lagEvents); push(history.lag[1], lag99);
  $("rates-now").textContent = `commands ${fmt(cmd, "/s")} · queries ${fmt(qry, "/s")}`;
  $("latency-now").textContent = now.latency
    ? `p50 ${fmt(p50, "s")} · p99 ${fmt(p99, "s")}` : "n/a (no latency histogram)";
  $("lag-now").textContent = `${fmt(now.lagEvents, "events")} · p99 ${fmt(lag99, "s")}`;
  drawChart($("chart-rates"), [["commands/s", "#2f6fd0", history.rates[0]],
                               ["queries/s", "#3a9d5d", history.rates[1]]], "");
  drawChart($("chart-latency"), [["p50", "#2f6fd0", history.latency[0]],
                                 ["p99", "#c0392b", history.latency[1]]], "s");
  drawChart($("chart-lag"), [["events", "#8e44ad", history.lag[0]],
                             ["p99 s", "#e0a526", history.lag[1]]], "");
}

// Line chart of up to HISTORY_POINTS samples per series (null: a gap),
// scaled to the largest value shown.
function drawChart(svg, series, unit) {
  const W = 360, H = 140, L = 44, B = 16, T = 8;
  svg.replaceChildren();
  let max = 0;
  for (const [, , values] of series) for (const v of values) if (v !== null) max = Math.max(max, v);
  if (max === 0) max = 1;
  svg.append(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W, y2: H - B }));
  svg.append(svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  svg.append(svgEl("text", { class: "label", x: 2, y: T + 8 }, fmt(max, unit)));
  svg.append(svgEl("text", { class: "label", x: 2, y: H - B }, "0"));
  series.forEach(([name, color, values], k) => {
    svg.append(svgEl("text", { class: "label", x: L + 6 + k * 80, y: H - 3, fill: color }, name));
    let d = "";
    values.forEach((v, i) => {
      if (v === null) { d += " "; return; }
      const x = L + ((W - L) * (i + HISTORY_POINTS - values.length)) / (HISTORY_POINTS - 1);
      const y = H - B - ((H - B - T) * v) / max;
      d += (d === "" || d.endsWith(" ") ? "M" : "L") + x.toFixed(1) + "," + y.toFixed(1);
    });
    if (d.trim() !== "") svg.append(svgEl("path", { class: "line", d: d.trim(), stroke: color }));
  });
}

// ------------------------------------------------------------- seat map ---

const STATUS_CLASS = { AVAILABLE: "free", HELD: "held", SOLD: "sold" };

async function loadConcerts() {
  const r = await getJson("/api/v1/concerts", false);
  const select = $("concert");
  select.replaceChildren();
  for (const c of (r.body && r.body.data) || []) {
    select.append(new Option(`${c.title} (${c.concertId})`, c.concertId));
  }
  await loadSchedules();
}

async function loadSchedules() {
  const concert = $("concert").value;
  const select = $("schedule");
  select.replaceChildren();
  if (!concert) return;
  const r = await getJson(`/api/v1/concerts/${encodeURIComponent(concert)}/schedules`, false);
  for (const s of (r.body && r.body.data) || []) {
    select.append(new Option(`${s.concertScheduleId} · ${s.startsAt}`, s.concertScheduleId));
  }
  await pollSeats();
}

async function pollSeats() {
  const concert = $("concert").value, schedule = $("schedule").value;
  if (!concert || !schedule) return;
  const r = await getJson(`/api/v1/concerts/${encodeURIComponent(concert)}/schedules/` +
                          `${encodeURIComponent(schedule)}/seats`, false);
  if (r.status !== 200 || !r.body) return;
  drawSeats(r.body.data || []);
}

function drawSeats(seats) {
  const svg = $("seats");
  const shown = seats.slice(0, SEATS_DRAWN_MAX);
  const cols = shown.length <= 60 ? 10 : Math.ceil(Math.sqrt(shown.length * 2));
  const size = 24, gap = 4, rows = Math.max(1, Math.ceil(shown.length / cols));
  svg.setAttribute("viewBox", `0 0 ${cols * (size + gap)} ${rows * (size + gap)}`);
  const counts = { free: 0, held: 0, sold: 0 };
  const old = new Map([...svg.querySelectorAll("rect.seat")].map((el) => [el.dataset.seat, el]));
  const keep = new Set();
  shown.forEach((seat, i) => {
    const cls = STATUS_CLASS[seat.status] || "sold";
    counts[cls]++;
    let rect = old.get(seat.seatId);
    if (!rect) {
      rect = svgEl("rect", { rx: 3, width: size, height: size });
      rect.dataset.seat = seat.seatId;
      rect.append(svgEl("title"));
      svg.append(rect);
    }
    keep.add(seat.seatId);
    rect.setAttribute("x", (i % cols) * (size + gap));
    rect.setAttribute("y", Math.floor(i / cols) * (size + gap));
    rect.setAttribute("class", `seat ${cls}`);
    rect.dataset.status = seat.status;
    rect.firstChild.textContent = `${seat.seatId}: ${seat.status} (${seat.price})`;
  });
  for (const [id, el] of old) if (!keep.has(id)) el.remove();
  const more = seats.length > shown.length ? ` · first ${shown.length} of ${seats.length}` : "";
  $("seat-counts").textContent = `— ${counts.free} free, ${counts.held} held, ${counts.sold} sold${more}`;
}

// --------------------------------------------------- waiting room, clinic ---

let clinicServed = false;

async function pollWaiting() {
  const r = await getJson("/admin/waiting-room", true);
  if (r.status !== 200 || !r.body) return;
  const d = r.body.data;
  clinicServed = d.clinicServed === true;
  $("waiting").textContent = d.waiting === null ? "…" : String(d.waiting);
  $("waiting-detail").textContent =
    `WAITING tokens · highest issued #${d.issuedSeq}, highest admitted #${d.admittedSeq}`;
}

async function pollClinic() {
  const note = $("timeline-note");
  if (!clinicServed) {
    note.textContent = "This server does not serve the clinic domain (serve --api …,clinic).";
    $("timeline").replaceChildren();
    return;
  }
  const zone = $("zone").value.trim(), day = $("day").value;
  if (!zone || !day) return;
  const r = await getJson(`/admin/clinic/zones/${encodeURIComponent(zone)}/day?date=${day}`, true);
  if (r.status !== 200 || !r.body) {
    note.textContent = `No day: ${r.status} ${r.body && r.body.error ? r.body.error.message : ""}`;
    $("timeline").replaceChildren();
    return;
  }
  drawTimeline(r.body.data);
}

// The zone's day, 00:00-24:00 UTC, one block per booked resource.
function drawTimeline(day) {
  const svg = $("timeline");
  const W = 360, L = 4, top = 18, h = 34;
  svg.replaceChildren();
  const start = Date.parse(`${day.date}T00:00:00Z`);
  const x = (t) => L + ((W - 2 * L) * Math.min(Math.max(t - start, 0), 86400000)) / 86400000;
  for (let hour = 0; hour <= 24; hour += 3) {
    svg.append(svgEl("line", { class: "axis", x1: x(start + hour * 3600000), y1: top - 4,
                               x2: x(start + hour * 3600000), y2: top + h }));
    const at = Math.min(Math.max(x(start + hour * 3600000) - 6, 1), W - 16);
    svg.append(svgEl("text", { class: "label", x: at, y: 10 }, `${hour}h`));
  }
  for (const item of day.items || []) {
    const a = Date.parse(item.startDateTimeUtc), b = Date.parse(item.endDateTimeUtc);
    const block = svgEl("rect", { class: "block", x: x(a), y: top, width: Math.max(1, x(b) - x(a)),
                                  height: h, rx: 2 });
    block.append(svgEl("title", {}, `${item.scheduleId} · ${item.visitorId} · ` +
                                    `${item.startDateTimeUtc} – ${item.endDateTimeUtc}`));
    svg.append(block);
  }
  $("timeline-note").textContent = `${(day.items || []).length} booked · capacity ` +
    `${day.capacity === null ? "unbounded" : day.capacity} · times in UTC`;
}

// --------------------------------------------------------------- events ---

function eventQuery(from) {
  const p = new URLSearchParams();
  p.set("domain", $("f-domain").value);
  p.set("from", String(from));
  p.set("limit", $("f-limit").value || "50");
  for (const f of ["type", "user", "reservation", "visitor", "schedule"]) {
    const v = $(`f-${f}`).value.trim();
    if (v) p.set(f, v);
  }
  return `/admin/events?${p}`;
}

let nextFrom = 0;

async function searchEvents(from) {
  const r = await getJson(eventQuery(from), true);
  const tbody = $("events").tBodies[0];
  if (r.status !== 200 || !r.body) {
    $("events-note").textContent = `Refused: ${r.status} ` +
      `${r.body && r.body.error ? r.body.error.message : ""}`;
    return;
  }
  const d = r.body.data;
  tbody.replaceChildren();
  for (const e of d.events) {
    const tr = document.createElement("tr");
    tr.dataset.offset = e.offset;
    const data = JSON.stringify(e.data);
    for (const text of [e.offset, e.time, e.type, data]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    // A catalog event lists every seat: the cell shows its start, the
    // tooltip all of it.
    if (data.length > DATA_SHOWN_CHARS) {
      tr.lastChild.textContent = data.slice(0, DATA_SHOWN_CHARS) + " …";
      tr.lastChild.title = data;
    }
    tr.lastChild.className = "data";
    tbody.append(tr);
  }
  nextFrom = d.next;
  $("f-from").value = String(from);
  $("events-note").textContent = `${d.events.length} event(s) from offset ${from}; ` +
    (d.next < d.end ? `next page from ${d.next}` : "end of the log reached") + ` (log end ${d.end})`;
}

// --------------------------------------------------------------- wiring ---

function every(ms, fn) {
  const run = () => fn().catch((e) => { console.warn("poll:", e.message); });
  run();
  return setInterval(run, ms);
}

function startPolling() {
  $("day").value = new Date().toISOString().slice(0, 10);
  loadConcerts().catch((e) => console.warn("concerts:", e.message));
  every(POLL_MS, pollMetrics);
  every(POLL_MS, pollSeats);
  every(POLL_MS, async () => { await pollWaiting(); await pollClinic(); });
  searchEvents(0).catch((e) => console.warn("events:", e.message));
}

document.addEventListener("DOMContentLoaded", async () => {
  $("sign-out").addEventListener("click", signOut);
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    if (await tryKey($("key").value)) showConsole();
  });
  $("concert").addEventListener("change", () => loadSchedules());
  $("schedule").addEventListener("change", () => pollSeats());
  $("event-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    searchEvents(Number($("f-from").value) || 0);
  });
  $("next-page").addEventListener("click", () => searchEvents(nextFrom));
  if (adminKey() !== null && (await tryKey(adminKey()))) showConsole();
});

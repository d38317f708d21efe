// The console (SPEC §8) in a real headless Chromium, driven with
// puppeteer-core: the page loads without console errors, its seat map
// turns a seat from free to held after a hold made through the HTTP API,
// the event browser filtered by that reservation shows the hold's events,
// queries/s counts GETs made through the API, and a wrong key is refused. Run by tools/browser-test.sh:
//   RESERVOIR_BIN=… PUPPETEER_DIR=… CHROMIUM=… node console_test.mjs [--screenshot FILE]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(join(process.env.PUPPETEER_DIR, "node_modules") + "/");
const puppeteer = require("puppeteer-core");

const KEY = "browser-test-admin-key";
const BOUND_MS = 15000; // each wait for the page; it polls every second
const screenshotAt = process.argv.indexOf("--screenshot");
const screenshot = screenshotAt > 0 ? process.argv[screenshotAt + 1] : null;

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

// `reservoir serve --demo` on a free port; resolves to its base URL.
function startServer(dir) {
  const server = spawn(process.env.RESERVOIR_BIN,
    ["serve", "--demo", "--admin-key", KEY, "--port", "0", "--data", join(dir, "data")],
    { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  server.stderr.on("data", (d) => { err += d; });
  const base = new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/[^ ]+)/.exec(out);
      if (m) resolve(m[1].replace("0.0.0.0", "127.0.0.1"));
    });
    server.on("exit", (code) => reject(new Error(`server exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20000);
  });
  return { server, base };
}

async function api(base, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// Records every console error, uncaught exception and failed request of `page`.
function watch(page, errors) {
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
}

async function signIn(page, base, key) {
  await page.goto(base + "/console", { waitUntil: "domcontentloaded" });
  await page.type("#key", key);
  await page.click("#login-form button[type=submit]");
}

const seatState = (page, seat) => page.$eval(`#seats rect[data-seat="${seat}"]`,
  (el) => ({ status: el.dataset.status, fill: getComputedStyle(el).fill }));

async function run(browser, base) {
  // A wrong key: refused, and nothing of the console shows.
  const refused = await browser.newPage();
  await signIn(refused, base, "not-the-key");
  await refused.waitForFunction(() => document.getElementById("login-error").textContent !== "",
    { timeout: BOUND_MS });
  const refusal = await refused.$eval("#login-error", (el) => el.textContent);
  check(refusal.includes("401"), `a wrong key is refused ("${refusal}")`);
  check(await refused.$eval("#console", (el) => el.hidden), "the console stays hidden");
  const direct = await api(base, "/admin/events", undefined, { "Admin-Key": "not-the-key" });
  check(direct.status === 401, `/admin/events with a wrong key: ${direct.status}`);
  await refused.close();

  const errors = [];
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1100 });
  watch(page, errors);
  await signIn(page, base, KEY);
  await page.waitForFunction(() => document.querySelector('#concert option[value="demo-concert"]'),
    { timeout: BOUND_MS });
  await page.select("#concert", "demo-concert");
  await page.waitForFunction(() => document.querySelectorAll("#seats rect.seat").length === 50 &&
    document.querySelector('#seats rect[data-seat="A1"]'), { timeout: BOUND_MS });
  check(true, "the seat map of demo-schedule-1 shows its 50 seats");
  const before = await seatState(page, "A1");
  check(before.status === "AVAILABLE", `seat A1 starts ${before.status} (${before.fill})`);

  const token = await api(base, "/api/v1/queue/token", { userId: "alice" });
  const hold = await api(base, "/api/v1/reservations",
    { concertScheduleId: "demo-schedule-1", seatIds: ["A1", "A2"] },
    { "Queue-Token": token.json.data.token });
  check(hold.status === 200, `a hold of A1 and A2 through the API: ${hold.status}`);
  const reservation = hold.json.data.reservationId;
  await page.waitForFunction(() => {
    const el = document.querySelector('#seats rect[data-seat="A1"]');
    return el && el.dataset.status === "HELD";
  }, { timeout: BOUND_MS });
  const after = await seatState(page, "A1");
  check(after.fill !== before.fill, `seat A1 changed colour: ${before.fill} -> ${after.fill}`);

  await page.$eval("#f-reservation", (el, v) => { el.value = v; }, reservation);
  await page.click("#event-filters button[type=submit]");
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll("#events tbody tr")];
    return rows.length > 0 && rows.every((r) => r.textContent.includes(id));
  }, { timeout: BOUND_MS }, reservation);
  const rows = await page.$$eval("#events tbody tr", (trs) => trs.map((r) => r.textContent));
  check(rows.some((r) => r.includes("SeatsHeld")),
    `the event browser shows the hold's events (${rows.length} row(s), SeatsHeld among them)`);

  // Let the charts gather a few samples, then the page must still be clean.
  await page.waitForFunction(() => document.querySelectorAll("#chart-rates path").length > 0,
    { timeout: BOUND_MS });
  check(true, "the rate chart draws");
  // Queries/s comes from the request counter's kind="query" label: a steady
  // trickle of GETs through the API shows up there.
  const trickle = setInterval(() => { api(base, "/api/v1/concerts").catch(() => {}); }, 100);
  try {
    await page.waitForFunction(() => {
      const m = /queries ([\d.]+)/.exec(document.getElementById("rates-now").textContent);
      return m !== null && Number(m[1]) > 0;
    }, { timeout: BOUND_MS });
  } finally {
    clearInterval(trickle);
  }
  const rates = await page.$eval("#rates-now", (el) => el.textContent);
  check(true, `queries/s counts the API's GETs (${rates})`);
  const waiting = await page.$eval("#waiting", (el) => el.textContent);
  check(/^\d+$/.test(waiting), `the waiting room shows a number (${waiting})`);
  if (screenshot) {
    // Some traffic for the charts, a sold seat and a clinic day, then the picture.
    const bob = await api(base, "/api/v1/queue/token", { userId: "bob" });
    const sold = await api(base, "/api/v1/reservations",
      { concertScheduleId: "demo-schedule-1", seatIds: ["C5", "C6"] },
      { "Queue-Token": bob.json.data.token });
    await api(base, "/api/v1/payments", { reservationId: sold.json.data.reservationId },
      { "Queue-Token": bob.json.data.token });
    const day = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    for (const [visitor, from, to] of [["v1", "09:00", "10:30"], ["v2", "13:00", "14:00"],
                                       ["v1", "15:30", "16:00"]]) {
      await api(base, "/schedule/open/v1/commands/reserve-by-visitor-id", {
        visitorId: visitor, reservationGroupId: "group-consult", zoneId: "zone-consult",
        startDateTimeUtc: `${day}T${from}:00Z`, endDateTimeUtc: `${day}T${to}:00Z` });
    }
    await page.$eval("#day", (el, v) => { el.value = v; }, day);
    let busy = true;
    const traffic = (async () => {
      for (let i = 0; busy; i++) {
        await api(base, "/api/v1/concerts/demo-concert/schedules/demo-schedule-2/seats");
        if (i % 8 === 0) await api(base, "/api/v1/balance/charge", { userId: "carol", amount: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 12000));
    await page.$eval("#f-reservation", (el) => { el.value = ""; });
    await page.$eval("#f-from", (el) => { el.value = "14"; });
    await page.$eval("#f-limit", (el) => { el.value = "12"; });
    await page.click("#event-filters button[type=submit]");
    await new Promise((r) => setTimeout(r, 1500));
    await page.screenshot({ path: screenshot, fullPage: true });
    busy = false;
    await traffic;
    console.log(`screenshot: ${screenshot}`);
  }
  check(errors.length === 0, `no console errors (${errors.join("; ") || "none"})`);
}

const dir = mkdtempSync(join(tmpdir(), "reservoir-browser-"));
const { server, base } = startServer(dir);
let browser = null;
try {
  const url = await base;
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  await run(browser, url);
} catch (e) {
  check(false, `the test ran: ${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => (server.exitCode !== null ? r() : server.on("exit", r)));
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures === 0 ? "browser test: all checks passed" : `browser test: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);

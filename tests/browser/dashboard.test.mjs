// Browser tests of trackerd's web dashboard (issue 14): a real trackerd,
// Debian's headless Chromium driven by playwright-core, axe-core for
// accessibility. Run by scripts/test ("browser tests") after the cargo
// build; by hand: `cd tests/browser && npm ci && npm test`.
//
// Screenshots of every page (desktop and phone widths, light and dark) go
// to target/screenshots/ (P2P_SCREENSHOTS overrides).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import net from "node:net";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = process.env.P2P_SCREENSHOTS || path.join(ROOT, "target/screenshots");
const CHROMIUM = process.env.P2P_CHROMIUM || "/usr/bin/chromium";
const PASSWORD = "correct horse battery";
const WAIT_MS = 10_000;

let tracker; // { proc, base, direct, dir }: browsers use `base` (through the proxy)
let browser;
const dialogs = [];
const problems = []; // console errors and CSP violations, per page

// ---------- trackerd ----------

function trackerdBinary() {
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, "target");
  const bin = path.join(target, "debug", "trackerd");
  if (!process.env.P2P_TESTS_PREBUILT) {
    const built = spawnSync("cargo", ["build", "-p", "trackerd", "--locked"], {
      cwd: ROOT,
      stdio: "inherit",
    });
    assert.equal(built.status, 0, "cargo build -p trackerd failed");
  }
  assert.ok(existsSync(bin), `no trackerd binary at ${bin} (build it, or unset P2P_TESTS_PREBUILT)`);
  return bin;
}

async function startTracker() {
  const dir = mkdtempSync(path.join(tmpdir(), "p2p-browser-"));
  const config = path.join(dir, "trackerd.toml");
  writeFileSync(
    config,
    ['[accounts]', 'admins = ["olivia"]', "session_ttl_secs = 3600", ""].join("\n"),
  );
  const proc = spawn(
    trackerdBinary(),
    ["--config", config, "--listen", "127.0.0.1:0", "--data-dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trackerd did not start:\n${log}`)), WAIT_MS);
    const read = (chunk) => {
      log += chunk;
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout.on("data", read);
    proc.stderr.on("data", read);
    proc.on("exit", (code) => reject(new Error(`trackerd exited (${code}):\n${log}`)));
  });
  const port = Number(new URL(base).port);
  const proxy = await startProxy(port);
  return { proc, base: `http://127.0.0.1:${proxy.port}`, direct: base, dir, proxy };
}

// The browsers reach trackerd through this TCP proxy, so a test can cut
// their connections (as a network drop would) and hold new ones off.
async function startProxy(targetPort) {
  const open = new Set();
  const proxy = { port: 0, refusing: false };
  const server = net.createServer((client) => {
    if (proxy.refusing) { client.destroy(); return; }
    const upstream = net.connect(targetPort, "127.0.0.1");
    open.add(client);
    open.add(upstream);
    const close = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = server.address().port;
  /** Drops every open connection and refuses new ones until `restore`. */
  proxy.cut = () => { proxy.refusing = true; for (const s of open) s.destroy(); open.clear(); };
  proxy.restore = () => { proxy.refusing = false; };
  proxy.close = () => { proxy.cut(); server.close(); };
  return proxy;
}

// ---------- the JSON API, for the users the browsers do not drive ----------

async function api(method, route, { token, body, raw } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload;
  if (raw) payload = raw;
  else if (body) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(tracker.direct + route, { method, headers, body: payload });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) };
}

async function apiUser(name) {
  const reg = await api("POST", "/api/v1/register", { body: { username: name, password: PASSWORD } });
  assert.equal(reg.status, 201, reg.text);
  const login = await api("POST", "/api/v1/login", { body: { username: name, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  return login.json().token;
}

// ---------- .torrent files, by hand ----------

function bstr(s) {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from(`${b.length}:`), b]);
}

/** A single-file public .torrent named `name` (distinct per `salt`). */
function torrentFile(name, salt) {
  const pieces = createHash("sha1").update(`piece ${salt}`).digest();
  const info = Buffer.concat([
    Buffer.from("d6:lengthi"), Buffer.from(String(1000 + salt)), Buffer.from("e4:name"), bstr(name),
    Buffer.from("12:piece lengthi16384e6:pieces20:"), pieces, Buffer.from("e"),
  ]);
  const bytes = Buffer.concat([
    Buffer.from("d8:announce"), bstr("http://original.invalid/announce"), Buffer.from("4:info"), info, Buffer.from("e"),
  ]);
  return { bytes, infoHash: createHash("sha1").update(info).digest("hex") };
}

/** Bencode: the value at `i` and where it ends (strings as Buffers). */
function decode(buf, i = 0) {
  const c = buf[i];
  if (c === 0x69) { // i
    const end = buf.indexOf(0x65, i);
    return { value: Number(buf.subarray(i + 1, end).toString()), end: end + 1 };
  }
  if (c === 0x6c) { // l
    const list = [];
    i += 1;
    while (buf[i] !== 0x65) { const d = decode(buf, i); list.push(d.value); i = d.end; }
    return { value: list, end: i + 1 };
  }
  if (c === 0x64) { // d: values, and the byte span of each
    const dict = {}, spans = {};
    i += 1;
    while (buf[i] !== 0x65) {
      const k = decode(buf, i);
      const v = decode(buf, k.end);
      dict[k.value.toString()] = v.value;
      spans[k.value.toString()] = [k.end, v.end];
      i = v.end;
    }
    return { value: Object.assign(dict, { __spans: spans }), end: i + 1 };
  }
  const colon = buf.indexOf(0x3a, i);
  const len = Number(buf.subarray(i, colon).toString());
  return { value: buf.subarray(colon + 1, colon + 1 + len), end: colon + 1 + len };
}

// ---------- pages ----------

async function newPage({ width = 1280, height = 800, scheme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: scheme, acceptDownloads: true });
  const page = await context.newPage();
  page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.on("console", (m) => { if (m.type() === "error") problems.push(`${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  return page;
}

async function go(page, route) {
  const r = await page.goto(tracker.base + route);
  return r.status();
}

async function register(page, name) {
  await go(page, "/account");
  await page.fill("#reg-user", name);
  await page.fill("#reg-password", PASSWORD);
  await Promise.all([page.waitForURL(/\/account\?done=registered/), page.click("form[action='/register'] button")]);
}

async function logIn(page, name) {
  await go(page, "/account");
  await page.fill("#login-user", name);
  await page.fill("#login-password", PASSWORD);
  await Promise.all([page.waitForURL(tracker.base + "/"), page.click("form[action='/login'] button")]);
  assert.match(await page.textContent(".who"), new RegExp(`Logged in as ${name}`));
}

async function axeCheck(page, label) {
  // Evaluated through the DevTools protocol, so the page's CSP (which
  // rightly forbids injected scripts) does not apply to the checker.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `${label}: serious or critical accessibility violations`,
  );
}

/** Loads `route` with the cache off; the requests finished and the bytes
 *  they took on the wire (headers included, compressed as sent) up to the
 *  load event, which comes after the first paint. */
async function coldLoad(page, route) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const seen = { requests: 0, bytes: 0 };
  cdp.on("Network.loadingFinished", (e) => { seen.requests += 1; seen.bytes += e.encodedDataLength; });
  const status = await go(page, route);
  await page.waitForLoadState("load");
  const measured = { ...seen, status };
  await cdp.detach();
  return measured;
}

function p95(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
}

// ---------- the tests ----------

before(async () => {
  tracker = await startTracker();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (tracker) {
    tracker.proxy.close();
    tracker.proc.kill("SIGTERM");
    rmSync(tracker.dir, { recursive: true, force: true });
  }
});

const state = {};

test("register and log in through the forms", async () => {
  const alice = await newPage();
  await register(alice, "alice");
  assert.match(await alice.textContent(".notice.ok"), /Registered/);
  await logIn(alice, "alice");
  assert.ok(await alice.isVisible("nav a[href='/publish']"), "members see Publish");
  state.alice = alice;
  for (const name of ["bob", "carol", "olivia"]) {
    const page = await newPage();
    await register(page, name);
    await logIn(page, name);
    state[name] = page;
  }
  state.dave = await apiUser("dave"); // publishes through the API
});

test("a torrent another user publishes appears in the open table without a reload", async () => {
  const alice = state.alice;
  await go(alice, "/torrents");
  await alice.waitForSelector("#torrents");
  await alice.evaluate(() => { window.__notReloaded = true; });
  const delays = [];
  for (let i = 0; i < 6; i++) {
    const t = torrentFile(`live-${i}.iso`, i);
    const started = Date.now();
    const r = await api("POST", "/api/v1/public/torrents", { token: state.dave, raw: t.bytes });
    assert.equal(r.status, 201, r.text);
    await alice.waitForSelector(`#torrents a[href='/t/${t.infoHash}']`, { timeout: WAIT_MS });
    delays.push(Date.now() - started);
  }
  assert.equal(await alice.evaluate(() => window.__notReloaded), true, "the page was not reloaded");
  console.log(`# published -> shown in the table: p95 ${p95(delays)} ms (${delays.join(", ")} ms)`);
  state.liveP95 = p95(delays);
});

test("an owner accepts a join request and the new member sees the group", async () => {
  const { alice, carol } = state;
  await go(alice, "/groups");
  await alice.fill("#new-group", "team");
  await Promise.all([alice.waitForURL(/done=group/), alice.click("form[action='/groups'] button")]);
  await go(carol, "/groups");
  await carol.fill("#join-group", "team");
  await Promise.all([carol.waitForURL(/done=requested/), carol.click("form[action='/groups/join'] button")]);
  await go(alice, "/groups");
  await Promise.all([alice.waitForURL(/done=accepted/), alice.click("button:has-text('Accept carol')")]);
  await go(carol, "/groups");
  assert.ok(await carol.isVisible("h2#group-team"), "carol is now in team");
});

test("a share page downloads the personalised .torrent with the right info-hash and passkey", async () => {
  const alice = state.alice;
  await go(alice, "/publish");
  const t = torrentFile("holiday-photos.zip", 100);
  await alice.selectOption("#scope", "-public");
  await alice.setInputFiles("#torrent", { name: "holiday.torrent", mimeType: "application/x-bittorrent", buffer: t.bytes });
  await Promise.all([alice.waitForURL(new RegExp(`/t/${t.infoHash}$`)), alice.click("form[action='/publish'] button")]);
  assert.equal(await alice.textContent("#info-hash"), t.infoHash);
  const [download] = await Promise.all([alice.waitForEvent("download"), alice.click("#download")]);
  const file = readFileSync(await download.path());
  const top = decode(file).value;
  const [from, to] = top.__spans.info;
  assert.equal(createHash("sha1").update(file.subarray(from, to)).digest("hex"), t.infoHash);
  const announce = top.announce.toString();
  await go(alice, "/account");
  const mine = (await alice.textContent("dd code")).trim();
  assert.equal(announce, mine, "the announce URL carries alice's passkey");
  assert.match(announce, /\/announce\/[0-9a-f]{32}$/);
  state.shareHash = t.infoHash;
});

test("the event log updates live and resumes after a lost connection with no gap and no repeat", async () => {
  const alice = state.alice;
  await go(alice, "/log");
  await alice.waitForFunction(() => document.getElementById("live").textContent.startsWith("Live"));
  const publish = async (i) => {
    const t = torrentFile(`log-${i}.bin`, 200 + i);
    const r = await api("POST", "/api/v1/public/torrents", { token: state.dave, raw: t.bytes });
    assert.equal(r.status, 201, r.text);
    return t.infoHash;
  };
  const first = await publish(0);
  await alice.waitForSelector(`#log a[href='/t/${first}']`, { timeout: WAIT_MS });

  // Kill the page's connection and hold it off while events happen.
  tracker.proxy.cut();
  await alice.waitForFunction(() => document.getElementById("live").textContent.startsWith("Connection lost"), null, { timeout: WAIT_MS });
  const missed = [];
  for (let i = 1; i <= 3; i++) missed.push(await publish(i));
  tracker.proxy.restore();
  for (const h of missed) await alice.waitForSelector(`#log a[href='/t/${h}']`, { timeout: 30_000 });
  const after = await publish(4);
  await alice.waitForSelector(`#log a[href='/t/${after}']`, { timeout: WAIT_MS });

  const live = await alice.$$eval("#log tbody tr", (rows) => rows.map((r) => Number(r.dataset.id)));
  assert.equal(new Set(live).size, live.length, `no event twice: ${live}`);
  for (const h of [first, ...missed, after]) {
    assert.equal(await alice.locator(`#log a[href='/t/${h}']`).count(), 1, `${h} shown once`);
  }
  // What the page gathered live is what the server shows on a fresh load.
  await go(alice, "/log");
  const fresh = await alice.$$eval("#log tbody tr", (rows) => rows.map((r) => Number(r.dataset.id)));
  const oldest = Math.min(...fresh);
  assert.deepEqual(live.filter((id) => id >= oldest), fresh, "no gap and no repeat across the reconnect");
});

test("hostile names are shown as text and never run", async () => {
  const { alice } = state;
  const t = torrentFile("<script>alert(1)</script>", 300);
  const r = await api("POST", "/api/v1/public/torrents", { token: state.dave, raw: t.bytes });
  assert.equal(r.status, 201, r.text);
  await go(alice, "/torrents");
  await go(alice, `/t/${t.infoHash}`);
  await go(alice, "/torrents?q=" + encodeURIComponent("<script>alert(1)</script>"));
  assert.equal(await alice.inputValue("#q"), "<script>alert(1)</script>");
  await go(alice, "/groups");
  await alice.fill("#new-group", "\"><img src=x onerror=alert(1)>");
  await alice.click("form[action='/groups'] button");
  await alice.waitForSelector(".notice.error");
  assert.match(await alice.textContent(".notice.error"), /"><img src=x onerror=alert\(1\)>/);
  assert.equal(await alice.locator("main img").count(), 0);
  await go(alice, "/log");
  assert.deepEqual(dialogs, [], "no dialog opened");
});

test("a non-member gets 404 for a group torrent and never sees the group", async () => {
  const { bob } = state;
  // carol (a member of team) shares a group torrent through the API rules:
  // private, with the group's name as source.
  const carolToken = await apiUser("erin");
  const join = await api("POST", "/api/v1/groups/team/join", { token: carolToken });
  assert.equal(join.status, 202, join.text);
  await go(state.alice, "/groups");
  await state.alice.click("button:has-text('Accept erin')");
  const info = Buffer.concat([
    Buffer.from("d6:lengthi5000e4:name"), bstr("team-secret-plans.pdf"), Buffer.from("12:piece lengthi16384e6:pieces20:"),
    createHash("sha1").update("secret").digest(), Buffer.from("7:privatei1e6:source"), bstr("team"), Buffer.from("e"),
  ]);
  const bytes = Buffer.concat([Buffer.from("d8:announce"), bstr("http://x.invalid/announce"), Buffer.from("4:info"), info, Buffer.from("e")]);
  const h = createHash("sha1").update(info).digest("hex");
  const r = await api("POST", "/api/v1/groups/team/torrents", { token: carolToken, raw: bytes });
  assert.equal(r.status, 201, r.text);

  assert.equal(await go(bob, `/t/${h}`), 404);
  for (const route of ["/", "/torrents", "/torrents?sort=seeders", "/torrents?q=secret", "/log", "/groups", "/online"]) {
    await go(bob, route);
    const text = await bob.textContent("main");
    assert.ok(!text.includes("team-secret-plans"), `${route} names the torrent`);
    assert.ok(!/\bteam\b/.test(text), `${route} names the group: ${text}`);
  }
  assert.equal(await go(state.carol, `/t/${h}`), 200, "a member opens it");
  assert.equal(await go(state.olivia, `/t/${h}`), 200, "an admin opens it");
});

const PAGES = () => [
  ["overview", "/"],
  ["torrents", "/torrents"],
  ["share", `/t/${state.shareHash}`],
  ["publish", "/publish"],
  ["groups", "/groups"],
  ["online", "/online"],
  ["log", "/log"],
  ["account", "/account"],
];

test("every page passes axe, keeps to the first-paint budget, and is screenshot at both widths in both schemes", async () => {
  const budgets = [];
  // A group of olivia's with a member and a pending request, so the groups
  // page shows its controls.
  const o = await api("POST", "/api/v1/login", { body: { username: "olivia", password: PASSWORD, takeover: true } });
  assert.equal(o.status, 200, o.text);
  const olivia = o.json().token;
  assert.equal((await api("POST", "/api/v1/groups", { token: olivia, body: { name: "ops" } })).status, 201);
  for (const name of ["frank", "grace"]) {
    const token = await apiUser(name);
    assert.equal((await api("POST", "/api/v1/groups/ops/join", { token })).status, 202);
  }
  assert.equal((await api("POST", "/api/v1/groups/ops/requests/frank/accept", { token: olivia })).status, 200);
  for (const [scheme, width, height] of [["light", 1280, 800], ["dark", 1280, 800], ["light", 390, 844], ["dark", 390, 844]]) {
    const page = await newPage({ width, height, scheme });
    await logIn(page, "olivia"); // the admin: every control shows
    for (const [name, route] of PAGES()) {
      if (scheme === "light" && width > 1000) {
        const b = await coldLoad(page, route);
        assert.equal(b.status, 200, route);
        budgets.push(`${name} ${b.requests} requests ${b.bytes} B`);
        assert.ok(b.requests <= 4, `${name}: ${b.requests} requests before first paint`);
        assert.ok(b.bytes <= 60_000, `${name}: ${b.bytes} bytes before first paint`);
      } else {
        assert.equal(await go(page, route), 200, route);
        await page.waitForLoadState("load");
      }
      await axeCheck(page, `${name} (${scheme}, ${width}px)`);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${width}-${scheme}.png`), fullPage: true });
    }
    await page.context().close();
  }
  // The logged-out account page too.
  const anon = await newPage();
  await go(anon, "/account");
  await axeCheck(anon, "account (logged out)");
  await anon.screenshot({ path: path.join(SHOTS, "login-1280-light.png"), fullPage: true });
  console.log(`# first paint (cold cache): ${budgets.join("; ")}`);
});

test("log out ends the session", async () => {
  const { alice } = state;
  await go(alice, "/account");
  await Promise.all([alice.waitForURL(/done=logged_out/), alice.click("#logout")]);
  assert.match(await alice.textContent(".notice.ok"), /Logged out/);
  assert.equal(await alice.isVisible("nav a[href='/publish']"), false);
  assert.equal(await go(alice, "/groups"), 401);
});

test("no page logged a script error or a CSP violation", () => {
  // Failed loads are expected (the 404s and 400s above, the cut stream);
  // a script error or a refused script or style is not.
  assert.deepEqual(problems.filter((p) => !p.includes("Failed to load resource")), []);
});

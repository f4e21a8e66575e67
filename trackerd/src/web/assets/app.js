// trackerd dashboard: live updates from the event stream (no framework).
// The log table gets new rows; the torrents table is fetched again when a
// torrent is published or withdrawn. EventSource reconnects by itself and
// sends Last-Event-ID, so the server resumes right after the last event
// seen; when it gives up (an error status), we reconnect from the last id.
"use strict";
(function () {
  const log = document.getElementById("log");
  const torrents = document.getElementById("torrents");
  const anchor = log || (torrents && document.getElementById("stream"));
  if (!anchor) return;
  const status = document.getElementById("live");
  const say = (text) => { if (status) status.textContent = text; };
  let lastId = Number(log ? log.dataset.after : 0) || 0;
  const kind = log ? log.dataset.kind : undefined;
  let source = null;
  let retry = 1000;
  let ended = false;

  const labels = log ? Array.from(log.tHead.rows[0].cells, (th) => th.textContent) : [];

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.dataset.label = labels[tr.cells.length] || "";
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function addRow(e) {
    const body = log.tBodies[0];
    if (body.querySelector('tr[data-id="' + e.id + '"]')) return;
    const tr = document.createElement("tr");
    tr.dataset.id = e.id;
    tr.dataset.kind = e.kind;
    tr.className = "fresh";
    cell(tr, String(e.id), "num");
    const when = new Date(e.at * 1000).toISOString();
    const td = cell(tr, "");
    const time = document.createElement("time");
    time.dateTime = when.replace(/\.\d+Z$/, "Z");
    time.textContent = when.slice(0, 16).replace("T", " ");
    td.appendChild(time);
    cell(tr, e.kind);
    cell(tr, e.username || "");
    cell(tr, e.group || "");
    const detail = cell(tr, e.detail || "");
    if (e.info_hash) {
      const a = document.createElement("a");
      a.href = "/t/" + encodeURIComponent(e.info_hash);
      a.textContent = "torrent";
      detail.append(" ", a);
    }
    body.insertBefore(tr, body.firstChild);
  }

  let refreshing = null;
  function refreshTorrents() {
    if (refreshing) return;
    const url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    refreshing = fetch(url, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        if (!html) return;
        const doc = new DOMParser().parseFromString(html, "text/html");
        const fresh = doc.getElementById("torrents");
        const current = document.getElementById("torrents");
        if (fresh && current) current.replaceWith(fresh);
      })
      .finally(() => { refreshing = null; });
  }

  function onEvent(msg) {
    let e;
    try { e = JSON.parse(msg.data); } catch (_) { return; }
    if (typeof e.id === "number") lastId = Math.max(lastId, e.id);
    if (log && (!kind || e.kind === kind)) addRow(e);
    if (torrents && (e.kind === "publish" || e.kind === "withdraw")) refreshTorrents();
  }

  function connect() {
    if (ended) return;
    const url = anchor.dataset.stream + "?after=" + lastId;
    source = new EventSource(url);
    source.addEventListener("open", () => { retry = 1000; say("Live: new events appear here as they happen."); });
    source.addEventListener("event", onEvent);
    source.addEventListener("lagged", () => say("Some events were missed; reload to see them all."));
    for (const name of ["session_ended", "shutdown"]) {
      source.addEventListener(name, () => {
        ended = true;
        source.close();
        say(name === "shutdown" ? "The tracker stopped." : "Your session ended; log in again.");
      });
    }
    source.addEventListener("error", () => {
      if (ended) return;
      say("Connection lost; reconnecting…");
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    });
  }
  connect();
})();

/**
 * The operator dashboard: one HTML page, one stylesheet, one script, all served by the keeper itself (no CDN,
 * no build step). The script renders /api/status pushed over server-sent events (/events), falling back to
 * polling; every value goes in through textContent, never as HTML.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lumora keeper</title>
<link rel="stylesheet" href="/dashboard.css">
</head>
<body>
<header>
  <h1>Lumora keeper</h1>
  <div class="who"><code id="self-id">…</code> <span id="live" class="badge off">connecting</span></div>
  <div class="addrs" id="self-addrs"></div>
</header>
<main>
  <section class="cards">
    <div class="card"><div class="k">Peers</div><div class="v" id="peer-count">–</div><div class="s" id="peer-sub"></div></div>
    <div class="card"><div class="k">DHT table</div><div class="v" id="dht-size">–</div><div class="s">routing table peers</div></div>
    <div class="card"><div class="k">Queued</div><div class="v" id="tasks-queued">–</div><div class="s">tasks waiting</div></div>
    <div class="card"><div class="k">In flight</div><div class="v" id="tasks-inflight">–</div><div class="s">assigned + running</div></div>
    <div class="card"><div class="k">Reassigned</div><div class="v" id="tasks-reassigned">–</div><div class="s" id="reassign-sub"></div></div>
    <div class="card"><div class="k">Done</div><div class="v" id="tasks-done">–</div><div class="s" id="done-sub"></div></div>
    <div class="card"><div class="k">Throughput</div><div class="v" id="throughput">–</div><div class="s" id="bytes-sub"></div></div>
    <div class="card"><div class="k">Epoch</div><div class="v" id="epoch">–</div><div class="s" id="uptime"></div></div>
  </section>

  <section>
    <h2>Peers</h2>
    <table id="peers"><thead><tr>
      <th>Peer</th><th>Roles</th><th title="advertised bandwidth">B</th><th title="DHT hops">P</th><th title="smoothed RTT">L</th>
      <th>Score</th><th>Shard</th><th>Load</th><th>Health</th><th>Reputation</th>
    </tr></thead><tbody></tbody></table>
    <p class="empty" id="peers-empty">No peers discovered yet.</p>
  </section>

  <section>
    <h2>Tasks</h2>
    <table id="tasks"><thead><tr>
      <th>Task</th><th>Status</th><th>Executor</th><th>Attempts</th><th>Size</th><th>Moved</th><th>Ended</th>
    </tr></thead><tbody></tbody></table>
    <p class="empty" id="tasks-empty">No tasks coordinated here yet.</p>
  </section>

  <section>
    <h2>Transfers</h2>
    <table id="transfers"><thead><tr>
      <th>Object</th><th>Kind</th><th>Size</th><th>Parts</th><th>Progress</th>
    </tr></thead><tbody></tbody></table>
    <p class="empty" id="transfers-empty">No transfers yet.</p>
  </section>

  <section class="two">
    <div>
      <h2>Epochs</h2>
      <table id="epochs"><thead><tr><th>Epoch</th><th>Status</th><th>Tasks</th><th>Reward</th><th>Transactions</th></tr></thead><tbody></tbody></table>
      <p class="empty" id="epochs-empty">No epochs closed or published yet.</p>
    </div>
    <div>
      <h2>Rewards</h2>
      <table id="rewards"><thead><tr><th>Epoch</th><th>Contribution</th><th>Amount</th></tr></thead><tbody></tbody></table>
      <p class="empty" id="rewards-empty">No rewards for <code id="reward-address"></code> yet.</p>
    </div>
  </section>
</main>
<footer>JSON: <a href="/api/status">/api/status</a> · <a href="/api/peers">/api/peers</a> · <a href="/api/tasks">/api/tasks</a> · <a href="/api/epochs">/api/epochs</a> · <a href="/metrics">/metrics</a></footer>
<script src="/dashboard.js"></script>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { --bg:#0f1419; --panel:#171d24; --line:#26303a; --fg:#e6e9ee; --dim:#8b96a3; --acc:#4fb3ff; --ok:#3ecf8e; --warn:#f5b942; --bad:#ff6b6b; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, sans-serif; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 12px 20px; }
h1 { font-size: 20px; margin: 8px 0 4px; } h2 { font-size: 15px; color: var(--dim); text-transform: uppercase; letter-spacing: .05em; }
code { font: 12px ui-monospace, monospace; color: var(--acc); }
.addrs { color: var(--dim); font: 12px ui-monospace, monospace; }
.badge { font-size: 11px; padding: 2px 8px; border-radius: 10px; background: var(--line); }
.badge.on { background: #134e36; color: var(--ok); } .badge.off { background: #4e1a1a; color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .k { color: var(--dim); font-size: 12px; } .card .v { font-size: 24px; font-weight: 600; } .card .s { color: var(--dim); font-size: 11px; }
table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--dim); font-weight: 500; font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: var(--dim); font-style: italic; }
.st-succeeded, .st-alive, .st-ok { color: var(--ok); } .st-failed, .st-expired, .st-flagged { color: var(--bad); }
.st-running, .st-assigned, .st-suspect { color: var(--warn); } .st-queued { color: var(--acc); }
progress { width: 160px; height: 10px; accent-color: var(--acc); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
footer { color: var(--dim); font-size: 12px; } footer a { color: var(--acc); }
`;

export const DASHBOARD_JS = `"use strict";
const $ = (id) => document.getElementById(id);
const short = (id) => (id && id.length > 16 ? id.slice(0, 8) + "…" + id.slice(-6) : id || "–");
const bytes = (n) => { if (n == null) return "–"; const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : String(n)) + " " + u[i]; };
const num = (n, d) => (n == null ? "–" : Number(n).toFixed(d));
const when = (ms) => (ms ? new Date(ms).toLocaleTimeString() : "–");
function cell(tr, text, cls, title) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; if (title) td.title = title; tr.appendChild(td); return td; }
function fill(table, emptyId, rows, render) {
  const body = document.querySelector("#" + table + " tbody");
  body.replaceChildren(...rows.map((r) => { const tr = document.createElement("tr"); render(tr, r); return tr; }));
  $(table).style.display = rows.length ? "" : "none";
  $(emptyId).style.display = rows.length ? "none" : "";
}
function render(s) {
  $("self-id").textContent = s.peerId;
  $("self-addrs").textContent = s.addresses.join("  ");
  $("reward-address").textContent = s.rewardAddress;
  $("peer-count").textContent = s.peers.length;
  $("peer-sub").textContent = s.connections + " connected, " + s.peers.filter((p) => p.flagged).length + " flagged";
  $("dht-size").textContent = s.dht.routingTableSize;
  const t = s.tasks.byState;
  $("tasks-queued").textContent = t.queued;
  $("tasks-inflight").textContent = t.assigned + t.running;
  $("tasks-reassigned").textContent = s.tasks.reassigned;
  $("reassign-sub").textContent = s.tasks.reassignments + " extra attempts";
  $("tasks-done").textContent = t.succeeded;
  $("done-sub").textContent = t.failed + " failed, " + t.expired + " expired";
  $("throughput").textContent = bytes(Math.round(s.transfers.throughputBps)) + "/s";
  $("bytes-sub").textContent = bytes(s.transfers.bytesServed) + " served, " + bytes(s.transfers.bytesFetched) + " fetched";
  $("epoch").textContent = s.epoch;
  $("uptime").textContent = "up " + Math.round((s.now - s.startedAt) / 1000) + " s";
  fill("peers", "peers-empty", s.peers, (tr, p) => {
    cell(tr, short(p.peerId), "", p.peerId).dataset.peer = p.peerId;
    cell(tr, p.capabilities.join(", "));
    cell(tr, bytes(p.bandwidthBps) + "/s", "num");
    cell(tr, p.proximity == null ? "–" : String(p.proximity), "num");
    cell(tr, p.latencyMs == null ? "–" : num(p.latencyMs, 1) + " ms", "num");
    cell(tr, num(p.score, 3), "num");
    cell(tr, p.shard == null ? "–" : String(p.shard), "num");
    cell(tr, p.load + "/" + p.capacity, "num");
    cell(tr, p.health + (p.connected ? "" : " (not connected)"), "st-" + p.health);
    cell(tr, p.flagged ? "flagged" : "ok " + p.successes + "✓ " + p.failures + "✗", p.flagged ? "st-flagged" : "st-ok");
  });
  fill("tasks", "tasks-empty", s.tasks.recent, (tr, k) => {
    cell(tr, k.id, "", k.id);
    cell(tr, k.status, "st-" + k.status, k.reason || "");
    cell(tr, short(k.executor), "", k.executor || "");
    cell(tr, String(k.attempts), "num");
    cell(tr, bytes(k.size), "num");
    cell(tr, bytes(k.bytes), "num");
    cell(tr, when(k.endedAt));
  });
  fill("transfers", "transfers-empty", s.transfers.items, (tr, x) => {
    cell(tr, short(x.objectId), "", x.objectId);
    cell(tr, x.kind === "published" ? "serving" : "download");
    cell(tr, bytes(x.size), "num");
    cell(tr, x.partsDone + "/" + x.parts, "num");
    const td = cell(tr, "");
    const bar = document.createElement("progress"); bar.max = x.parts || 1; bar.value = x.partsDone; td.appendChild(bar);
    td.append(" " + (x.parts ? Math.round((100 * x.partsDone) / x.parts) : 100) + "%");
  });
  fill("epochs", "epochs-empty", s.epochs, (tr, e) => {
    cell(tr, String(e.epoch), "num");
    cell(tr, e.claimable === true ? "claimable" : e.claimable === false ? "pending" : e.status);
    cell(tr, e.tasks == null ? "–" : String(e.tasks), "num");
    cell(tr, e.rewardTotal || "–", "num");
    const txs = e.transactions ? [e.transactions.taskLog, e.transactions.rewardPool, ...(e.transactions.reputation || [])].filter(Boolean) : [];
    cell(tr, txs.length ? txs.map(short).join(" ") : "–", "", txs.join("\\n"));
  });
  fill("rewards", "rewards-empty", s.rewards, (tr, r) => {
    cell(tr, String(r.epoch), "num"); cell(tr, r.contribution, "num"); cell(tr, r.amount || "–", "num");
  });
}
function live(on) { const b = $("live"); b.textContent = on ? "live" : "reconnecting"; b.className = "badge " + (on ? "on" : "off"); }
let pollTimer;
function poll() {
  fetch("/api/status").then((r) => r.json()).then((s) => { render(s); live(true); }).catch(() => live(false));
  pollTimer = setTimeout(poll, 2000);
}
if (window.EventSource) {
  const es = new EventSource("/events");
  es.addEventListener("status", (ev) => { render(JSON.parse(ev.data)); live(true); });
  es.onerror = () => { live(false); if (es.readyState === EventSource.CLOSED && !pollTimer) poll(); };
} else poll();
`;

/** /metrics in the Prometheus text format, and the JSON endpoints' shapes, on one live keeper. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { apiServer, type ApiServer } from "../../../keeper/api/index.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { collectingLogger } from "../helpers.ts";

/** A GET with an explicit Host header (null: none at all), as a rebinding browser or raw client sends it. */
function get(
  url: string,
  host: string | null = new URL(url).host,
): Promise<{ status: number; json(): Promise<unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: "GET", setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: async () => JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
          }),
        );
      },
    );
    req.on("error", reject);
    if (host !== null) req.setHeader("host", host);
    req.end();
  });
}

const logger = createLogger("test", { level: "silent" });

describe("api server", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-api-"));
  let keeper: Keeper;
  let server: ApiServer;

  before(async () => {
    keeper = await startKeeper({
      dataDir: dir,
      capabilities: ["executor"],
      bandwidthBps: 1e6,
      capacity: 2,
      rewardAddress: "0x" + "1".padStart(40, "0"),
      logger,
    });
    server = apiServer({ port: 0 })({ keeper, logger });
    await server.start();
  });
  after(async () => {
    await server?.stop();
    await keeper?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves /metrics in the text exposition format with every metric typed and documented", async () => {
    server.counters.inc("chainRpcErrors", 3);
    const res = await fetch(server.url + "/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.ok(text.endsWith("\n"), "ends with a newline");
    const typed = new Map<string, string>();
    const helped = new Set<string>();
    for (const line of text.trimEnd().split("\n")) {
      let m: RegExpExecArray | null;
      if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line))) helped.add(m[1]!);
      else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$/.exec(line))) typed.set(m[1]!, m[2]!);
      else {
        m =
          /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (-?[0-9.e+]+)$/.exec(
            line,
          );
        assert.ok(m, `sample line is well-formed: ${line}`);
        assert.ok(typed.has(m[1]!) && helped.has(m[1]!), `${m[1]} has HELP and TYPE before its samples`);
        if (typed.get(m[1]!) === "counter") assert.match(m[1]!, /_total$/, `counter ${m[1]} ends in _total`);
      }
    }
    for (const name of [
      "lumora_peers",
      "lumora_dht_routing_table_size",
      "lumora_tasks",
      "lumora_task_reassignments_total",
      "lumora_transfer_bytes_served_total",
      "lumora_transfer_throughput_bytes_per_second",
      "lumora_epoch_submissions_total",
      "lumora_epoch_submission_failures_total",
      "lumora_chain_rpc_errors_total",
      "lumora_bans_total",
      "lumora_bans_active",
      "lumora_limit_hits_total",
      "lumora_audits_total",
    ]) {
      assert.ok(typed.has(name), `${name} exported`);
    }
    // Every failure-detection counter of /api/status is in /metrics too, with the same value.
    const status = (await (await fetch(server.url + "/api/status")).json()) as { health: Record<string, number> };
    const health = [...text.matchAll(/^lumora_health_[a-z_]+_total\{[a-z]+="[a-z_]+"\} (\d+)$/gm)];
    assert.equal(
      health.length,
      Object.keys(status.health).length - 1,
      `every health counter but the awareness gauge is exported (${health.length})`,
    );
    assert.match(text, /^lumora_health_syncs_total\{kind="served"\} \d+$/m);
    assert.match(text, /^lumora_health_checks_total\{kind="out_of_turn"\} \d+$/m);
    assert.match(text, /^lumora_health_events_total\{event="forgotten"\} 0$/m);
    for (const state of ["alive", "suspect", "failed", "forgotten"])
      assert.match(text, new RegExp(`^lumora_health_members\\{state="${state}"\\} 0$`, "m"), state);
    assert.match(text, /^lumora_tasks\{state="queued"\} 0$/m);
    assert.match(text, /^lumora_chain_rpc_errors_total 3$/m);
    for (const outcome of ["pass", "corrupt", "refused", "slow", "unreachable"])
      assert.match(text, new RegExp(`^lumora_audits_total\\{outcome="${outcome}"\\} 0$`, "m"), outcome);
    // Bans and cap hits, read from the keeper's ban list and modules.
    keeper.bans.ban("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", "test");
    const after = await (await fetch(server.url + "/metrics")).text();
    assert.match(after, /^lumora_bans_total 1$/m);
    assert.match(after, /^lumora_bans_active 1$/m);
    for (const limit of [
      "connections.perIp",
      "transfer.maxSessions",
      "recordLookups.maxQueue",
      "exchange.maxWindowMs",
      "payment.unfundedBudgetBytes",
    ])
      assert.match(
        after,
        new RegExp(`^lumora_limit_hits_total\\{limit="${limit.replace(".", "\\.")}"\\} 0$`, "m"),
        limit,
      );
  });

  it("answers only to its own Host names (DNS rebinding), on every route", async () => {
    const port = Number(new URL(server.url).port);
    const cases: Array<[string | null, number]> = [
      [`127.0.0.1:${port}`, 200],
      [`localhost:${port}`, 200],
      [`[::1]:${port}`, 200],
      [`evil.example:${port}`, 421],
      ["evil.example", 421],
      [`127.0.0.1:${port + 1}`, 421],
      [`localhost.evil.example:${port}`, 421],
      [null, 400], // node:http itself refuses an HTTP/1.1 request without Host
    ];
    for (const path of ["/api/status", "/healthz", "/metrics"]) {
      for (const [host, status] of cases) {
        assert.equal((await get(server.url + path, host)).status, status, `${path} with Host ${host ?? "(none)"}`);
      }
    }
    const named = apiServer({ port: 0, allowedHosts: ["keeper.example"] })({ keeper, logger });
    await named.start();
    try {
      assert.equal((await get(named.url + "/healthz", "keeper.example")).status, 200, "a configured name");
      assert.equal((await get(named.url + "/healthz", "keeper.example:8443")).status, 200, "on any port");
    } finally {
      await named.stop();
    }
  });

  it("answers 400, not 500, to a malformed percent-encoding in a proofs path, and logs no error", async () => {
    const { log, lines } = collectingLogger();
    const proofs = apiServer({ port: 0, epochsDir: join(dir, "epochs") })({ keeper, logger: log });
    await proofs.start();
    try {
      const res = await get(proofs.url + "/proofs/1/%E0%A4%A");
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "BAD_REQUEST");
      assert.deepEqual(
        lines.filter((l) => l.level === "error"),
        [],
      );
    } finally {
      await proofs.stop();
    }
  });

  it("answers the JSON endpoints, 404 for unknown paths and 405 for writes", async () => {
    const status = (await (await fetch(server.url + "/api/status")).json()) as {
      peerId: string;
      tasks: { byState: Record<string, number> };
    };
    assert.equal(status.peerId, keeper.peerId.toString());
    assert.equal(status.tasks.byState.succeeded, 0);
    for (const path of ["/api/peers", "/api/tasks", "/api/epochs", "/api/rewards", "/healthz", "/"]) {
      assert.equal((await fetch(server.url + path)).status, 200, `${path} answers 200`);
    }
    assert.equal((await fetch(server.url + "/nope")).status, 404);
    assert.equal((await fetch(server.url + "/api/status", { method: "POST" })).status, 405);
  });
});

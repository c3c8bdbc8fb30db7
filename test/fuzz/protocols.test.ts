/**
 * Fuzzes every /lumora protocol of a real keeper (issue 13) from bare libp2p nodes with fresh identities: random
 * bytes, framed garbage and mutations of valid first frames, each case on its own stream, half of them left
 * half-open. After each protocol: the keeper still runs, a valid request from a fresh peer is still answered,
 * open fds, live buffers and log volume stay bounded. Peers the keeper bans are unbanned by the harness so the
 * run goes on (a real attacker would mint a fresh identity instead — the ban itself is what is counted).
 *
 * Seeded by LUMORA_TEST_SEED (test/seed.ts); LUMORA_FUZZ_CASES sets the cases per protocol (default below keeps
 * the whole fuzz suite near 30 s on a loaded 2-core machine).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import type { Stream } from "@libp2p/interface";

import { PROOFS_PROTOCOL } from "../../keeper/epochs/epoch-constants.ts";
import { EPOCH_PROTOCOL } from "../../keeper/epochs/exchange.ts";
import { TASK_PROTOCOL } from "../../keeper/execution/index.ts";
import { TaskRequest } from "../../keeper/execution/pb/execution.ts";
import { HEALTH_PROTOCOL } from "../../keeper/health/index.ts";
import { Ack, Probe } from "../../keeper/health/pb/health.ts";
import { startKeeper, type Keeper } from "../../keeper/keeper.ts";
import { createLogger } from "../../keeper/logger.ts";
import { DHT_PROTOCOL } from "../../keeper/p2p/node.ts";
import { PROTOCOL as TRANSFER_PROTOCOL, PROTOCOL_VERSION } from "../../keeper/transfer/constants.ts";
import { ConsumerFrame, ProviderFrame } from "../../keeper/transfer/pb/transfer.ts";
import { Uint8ArrayList } from "uint8arraylist";
import { mulberry32, testSeed } from "../seed.ts";
import { framed, input, int, type Rng } from "./mutate.ts";
import { bufferBytes, dialRetry, openFds, rawPeer, rawStream, stopAll, type RawPeer } from "./raw-peer.ts";

const CASES = Number(process.env.LUMORA_FUZZ_CASES ?? 200);
const ATTACKERS = 24;
const CONCURRENCY = ATTACKERS;
const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const json = (v: unknown) => encoder.encode(JSON.stringify(v));

/** Everything the stream yields within `ms` (at most 256 KiB), then the stream is aborted. The deadline races the
 * iterator rather than relying on the abort to end it: a stream reset before iteration began never yields. */
async function drain(stream: Stream, ms: number): Promise<Uint8ArrayList> {
  const got = new Uint8ArrayList();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, ms, "timeout")));
  const it = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      const r = await Promise.race([it.next(), deadline]);
      if (r === "timeout" || r.done === true) break;
      got.append(r.value);
      if (got.byteLength > 256 * 1024) break;
    }
  } catch {
    // reset by the keeper
  } finally {
    clearTimeout(timer);
    stream.abort(new Error("case over"));
  }
  return got;
}

/** The body of the first varint-framed frame in `bytes`, if complete. */
function firstFrame(bytes: Uint8ArrayList): Uint8Array | undefined {
  const b = bytes.subarray();
  let len = 0;
  let shift = 0;
  for (let i = 0; i < Math.min(b.length, 5); i++) {
    len += (b[i]! & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b[i]! & 0x80) === 0) return b.length >= i + 1 + len ? b.subarray(i + 1, i + 1 + len) : undefined;
  }
  return undefined;
}

describe("fuzzing every /lumora protocol of a live keeper", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-fuzz-"));
  const warnLines: string[] = [];
  let keeper: Keeper;
  let addr: string;
  let objectId: string;
  const attackers: RawPeer[] = [];
  let fds0 = 0;
  let buffers0 = 0;
  const seed = testSeed();

  before(async () => {
    keeper = await startKeeper({
      dataDir: join(dir, "keeper"),
      capabilities: ["provider", "executor", "coordinator"],
      bandwidthBps: 1e7,
      capacity: 2,
      rewardAddress: "0x" + "ab".repeat(20),
      logger: createLogger("keeper", {
        level: "warn",
        format: "json",
        sink: (l) => warnLines.push(l),
      }),
      limits: { transfer: { writeTimeoutMs: 1_000, idleTimeoutMs: 1_000 } },
    });
    addr = keeper.addresses[0]!;
    const file = join(dir, "object.bin");
    writeFileSync(file, randomBytes(3 * MiB));
    // Not announced: alone, a DHT announcement only waits for its timeout.
    objectId = (await keeper.transfer.publish(file, { announce: false })).objectId;
    for (let i = 0; i < ATTACKERS; i++) attackers.push(await rawPeer());
    for (const a of attackers) await dialRetry(a, addr);
    fds0 = openFds();
    buffers0 = bufferBytes();
  });
  after(async () => {
    await stopAll(attackers);
    await keeper?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const hello = () =>
    framed(
      ConsumerFrame.encode({
        hello: { version: PROTOCOL_VERSION, objectId: Buffer.from(objectId, "hex"), ephemeralKey: randomBytes(32) },
      }),
    );
  const probe = () =>
    framed(Probe.encode({ seq: 1n, target: new Uint8Array(0), incarnation: 0n, load: 0, capacity: 1, updates: [] }));

  const protocols: Array<{
    name: string;
    protocol: string;
    valid: () => Uint8Array[];
    /** A valid request from a fresh peer and a check of its answer. */
    answers?: (reply: Uint8ArrayList) => void;
    request?: () => Uint8Array;
  }> = [
    {
      name: "transfer",
      protocol: TRANSFER_PROTOCOL,
      valid: () => [
        hello(),
        new Uint8Array([...hello(), ...framed(ConsumerFrame.encode({ request: { index: 0 } }))]),
        framed(ConsumerFrame.encode({ request: { index: 1 } })),
      ],
      request: hello,
      answers: (reply) => {
        const body = firstFrame(reply);
        assert.ok(body !== undefined, "a frame came back");
        assert.ok(ProviderFrame.decode(body).welcome !== undefined, "a Welcome");
      },
    },
    {
      name: "health",
      protocol: HEALTH_PROTOCOL,
      valid: () => [probe()],
      request: probe,
      answers: (reply) => {
        const body = firstFrame(reply);
        assert.ok(body !== undefined, "a frame came back");
        assert.equal(Ack.decode(body).seq, 1n);
      },
    },
    {
      name: "task",
      protocol: TASK_PROTOCOL,
      valid: () => [
        framed(
          TaskRequest.encode({
            taskId: "fuzz",
            objectId: randomBytes(32),
            size: 10n,
            providers: [addr],
            deadlineMs: 1n,
          }),
        ),
      ],
    },
    {
      name: "epoch",
      protocol: EPOCH_PROTOCOL,
      valid: () => [
        framed(json({ v: 1, toMs: Date.now() })),
        framed(json({ v: 1, kind: "tasks", fromMs: 0, toMs: Date.now(), cursor: 5 })),
      ],
      request: () => framed(json({ v: 1, toMs: Date.now() })),
      answers: (reply) => {
        const body = firstFrame(reply);
        assert.ok(body !== undefined, "a frame came back");
        assert.deepEqual(JSON.parse(new TextDecoder().decode(body)), { error: "not a registered keeper" });
      },
    },
    {
      name: "proofs",
      protocol: PROOFS_PROTOCOL,
      valid: () => [framed(json({ epoch: 1, account: "0x" + "cd".repeat(20) }))],
      request: () => framed(json({ epoch: 1, account: "0x" + "cd".repeat(20) })),
      answers: (reply) => {
        const body = firstFrame(reply);
        assert.ok(body !== undefined, "a frame came back");
        assert.equal(typeof JSON.parse(new TextDecoder().decode(body)), "object");
      },
    },
    {
      name: "kad",
      protocol: DHT_PROTOCOL,
      // Message{type: FIND_NODE, key: 32 bytes} and {type: GET_VALUE, key: /lumora-peer/…}
      valid: () => [
        framed(new Uint8Array([0x08, 0x04, 0x12, 0x20, ...randomBytes(32)])),
        framed(new Uint8Array([0x08, 0x01, 0x12, 0x0d, ...encoder.encode("/lumora-peer/")])),
      ],
    },
  ];

  /** Per protocol: streams opened (the input reached the handler) and refused (stream limit, ban). */
  const outcome = { opened: 0, refused: 0, answered: 0 };

  /** One case: a stream, the input (in one or two writes), half-closed or left open, the answer drained. */
  async function runCase(peer: RawPeer, protocol: string, data: Uint8Array, rng: Rng): Promise<void> {
    let stream: Stream;
    try {
      stream = await rawStream(peer, addr, protocol, AbortSignal.timeout(5_000));
    } catch {
      outcome.refused++;
      // Refused (a ban hung up, a stream limit): the next case starts on a fresh connection, not on one that is
      // still closing on our side.
      for (const c of peer.getConnections()) c.abort(new Error("refused"));
      return;
    }
    outcome.opened++;
    try {
      const cut = int(rng, 0, data.length);
      stream.send(data.subarray(0, cut));
      if (cut < data.length) stream.send(data.subarray(cut));
      if (rng() < 0.5) await stream.close({ signal: AbortSignal.timeout(1_000) });
    } catch {
      // the keeper reset the stream
    }
    if ((await drain(stream, 40)).byteLength > 0) outcome.answered++;
  }

  /** A valid request from a fresh identity, answered. */
  async function stillAnswers(protocol: string, request: () => Uint8Array, check: (r: Uint8ArrayList) => void) {
    const fresh = await rawPeer();
    try {
      await dialRetry(fresh, addr);
      const stream = await rawStream(fresh, addr, protocol);
      try {
        stream.send(request());
        await stream.close({ signal: AbortSignal.timeout(5_000) });
      } catch {
        // a keeper refusing a stranger answers and resets without reading the request
      }
      check(await drain(stream, 3_000));
    } finally {
      await stopAll([fresh]);
    }
  }

  for (const p of protocols) {
    it(`${p.name}: ${CASES} fuzzed requests, then still answering and bounded`, async () => {
      const rng = mulberry32(seed ^ [...p.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7));
      const valid = p.valid();
      let bans = 0;
      let next = 0;
      Object.assign(outcome, { opened: 0, refused: 0, answered: 0 });
      const started = Date.now();
      const worker = async (w: number) => {
        // Worker w always uses attacker w: one stream per connection at a time, within every protocol's
        // per-connection stream limit (health allows 4), so cases reach the handlers instead of being refused.
        const peer = attackers[w % ATTACKERS]!;
        for (let i = next++; i < CASES; i = next++) {
          await runCase(peer, p.protocol, input(rng, valid), rng);
          if (keeper.bans.isBanned(peer.peerId)) {
            bans++;
            for (const c of peer.getConnections()) c.abort(new Error("banned"));
            keeper.bans.unban(peer.peerId);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
      assert.equal(keeper.node.status, "started", "the keeper still runs");
      if (p.request !== undefined && p.answers !== undefined) await stillAnswers(p.protocol, p.request, p.answers);
      else await stillAnswers(HEALTH_PROTOCOL, probe, protocols[1]!.answers!);
      // Sessions, streams and their buffers are released: fds back near the baseline, buffers bounded.
      const deadline = Date.now() + 15_000;
      while (openFds() > fds0 + 2 * ATTACKERS + 8 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const fds = openFds();
      const buffers = bufferBytes();
      console.log(
        `fuzz ${p.name}: ${CASES} cases in ${Date.now() - started} ms (${outcome.opened} streams opened, ` +
          `${outcome.answered} answered, ${outcome.refused} refused), ${bans} bans lifted, fds ${fds0}→${fds}, ` +
          `buffers ${((buffers - buffers0) / MiB).toFixed(1)} MiB over start, warn lines so far ${warnLines.length}`,
      );
      assert.ok(fds <= fds0 + 2 * ATTACKERS + 8, `fds bounded: ${fds0} → ${fds}`);
      assert.ok(buffers - buffers0 <= 64 * MiB, `buffers bounded: +${((buffers - buffers0) / MiB).toFixed(1)} MiB`);
      // Log lines about peers are rate-limited: a handful per kind of line per minute, whatever the case count.
      assert.ok(warnLines.length <= 60 * protocols.length, `log volume bounded: ${warnLines.length} lines`);
    });
  }
});

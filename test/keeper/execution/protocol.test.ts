/**
 * `/lumora/task/1.0.0` between a coordinator and an executor on 127.0.0.1: request validation, a round trip,
 * refusals (capacity, failed work), a forged checksum, malformed frames and an executor that dies mid-task.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import type { PeerId } from "@libp2p/interface";

import {
  MAX_PROVIDER_BYTES,
  MAX_PROVIDERS,
  MAX_TASK_ID_BYTES,
  MAX_TASK_MESSAGE_BYTES,
  TASK_PROTOCOL,
  TaskExecutionService,
  TaskMessageInvalidError,
  TaskPayloads,
  TaskRejectedError,
  TaskResultMismatchError,
  validateRequest,
  type TaskWork,
} from "../../../keeper/execution/index.ts";
import type { PeerRecordData } from "../../../keeper/discovery/record.ts";
import { Admission } from "../../../keeper/execution/admission.ts";
import { TaskRequest } from "../../../keeper/execution/pb/execution.ts";
import type { Logger } from "../../../keeper/logger.ts";
import { openStore, type Store } from "../../../keeper/store/index.ts";
import type { ExecutionResult, Task } from "../../../keeper/tasks/types.ts";
import { encodeVarint, frame } from "../../../keeper/wire/index.ts";
import { collectingLogger, silent, startNode, waitFor, type TestKeeper } from "../helpers.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function validRequest(now: number): TaskRequest {
  return {
    taskId: "task-1",
    objectId: new Uint8Array(32).fill(7),
    size: 1024n,
    providers: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWExample"],
    deadlineMs: BigInt(now + 60_000),
  };
}

function assertInvalid(req: TaskRequest, field: string, now: number): void {
  assert.throws(
    () => validateRequest(req, now),
    (err: unknown) => {
      assert.ok(err instanceof TaskMessageInvalidError, `expected TaskMessageInvalidError, got ${String(err)}`);
      assert.equal(err.field, field);
      assert.match(err.message, new RegExp(`field ${field}`));
      assert.equal(err.penalise, true, "an invalid request is the peer's fault");
      return true;
    },
  );
}

describe("validateRequest", () => {
  const now = 1_700_000_000_000;

  it("accepts a well-formed request", () => {
    validateRequest(validRequest(now), now);
  });

  it("names task_id when the task id is empty or longer than its limit", () => {
    assertInvalid({ ...validRequest(now), taskId: "" }, "task_id", now);
    assertInvalid({ ...validRequest(now), taskId: "x".repeat(MAX_TASK_ID_BYTES + 1) }, "task_id", now);
    // The limit is in UTF-8 bytes: 43 three-byte characters are 129 bytes.
    assertInvalid({ ...validRequest(now), taskId: "€".repeat(Math.ceil((MAX_TASK_ID_BYTES + 1) / 3)) }, "task_id", now);
    validateRequest({ ...validRequest(now), taskId: "x".repeat(MAX_TASK_ID_BYTES) }, now);
  });

  it("names object_id when the object id is not 32 bytes", () => {
    for (const len of [0, 31, 33, 64]) {
      assert.throws(
        () => validateRequest({ ...validRequest(now), objectId: new Uint8Array(len) }, now),
        (err: unknown) => err instanceof TaskMessageInvalidError && err.field === "object_id",
        `object id of ${len} bytes is rejected`,
      );
    }
  });

  it("names providers when there are none, too many, or an entry is empty or oversized", () => {
    assertInvalid({ ...validRequest(now), providers: [] }, "providers", now);
    assertInvalid(
      { ...validRequest(now), providers: Array.from({ length: MAX_PROVIDERS + 1 }, (_, i) => `p${i}`) },
      "providers",
      now,
    );
    assertInvalid({ ...validRequest(now), providers: ["p", "x".repeat(MAX_PROVIDER_BYTES + 1)] }, "providers", now);
    assertInvalid({ ...validRequest(now), providers: [""] }, "providers", now);
    validateRequest(
      { ...validRequest(now), providers: Array.from({ length: MAX_PROVIDERS }, () => "x".repeat(MAX_PROVIDER_BYTES)) },
      now,
    );
  });

  it("names size when it cannot be a safe integer", () => {
    assertInvalid({ ...validRequest(now), size: BigInt(Number.MAX_SAFE_INTEGER) + 1n }, "size", now);
  });

  it("names deadline_ms when the deadline already passed", () => {
    assertInvalid({ ...validRequest(now), deadlineMs: BigInt(now - 1) }, "deadline_ms", now);
    assertInvalid({ ...validRequest(now), deadlineMs: BigInt(now) }, "deadline_ms", now);
    assertInvalid({ ...validRequest(now), deadlineMs: 0n }, "deadline_ms", now);
  });
});

interface Side {
  peer: TestKeeper;
  store: Store;
  payloads: TaskPayloads;
  service: TaskExecutionService;
  penalised: { peer: string; err: Error }[];
  performed: TaskWork[];
}

type Perform = (work: TaskWork, options: { signal: AbortSignal }) => Promise<ExecutionResult>;

describe("task execution protocol", { timeout: 180_000 }, () => {
  const peers: TestKeeper[] = [];
  const services: TaskExecutionService[] = [];
  const stores: Store[] = [];
  const dirs: string[] = [];
  const releases: Array<() => void> = [];

  afterEach(async () => {
    for (const r of releases.splice(0)) r();
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(peers.splice(0).map((p) => p.node.stop()));
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function side(
    opts: { perform?: Perform; maxConcurrent?: number; logger?: Logger; admission?: Admission } = {},
  ): Promise<Side> {
    const peer = await startNode();
    peers.push(peer);
    const dir = mkdtempSync(join(tmpdir(), "lumora-exec-"));
    dirs.push(dir);
    const store = openStore(join(dir, "keeper.db"));
    stores.push(store);
    const payloads = new TaskPayloads(store);
    const penalised: Side["penalised"] = [];
    const performed: TaskWork[] = [];
    const perform: Perform = opts.perform ?? (() => Promise.reject(new Error("this side executes nothing")));
    const service = new TaskExecutionService(
      {
        node: peer.node,
        logger: opts.logger ?? silent,
        payloads,
        perform: (work, o) => {
          performed.push(work);
          return perform(work, o);
        },
        penalise: (p: PeerId, err: Error) => penalised.push({ peer: p.toString(), err }),
        ...(opts.admission !== undefined && { admission: opts.admission }),
      },
      { maxConcurrent: opts.maxConcurrent },
    );
    services.push(service);
    await service.start();
    return { peer, store, payloads, service, penalised, performed };
  }

  /** Registers a payload for `id` on the coordinator and returns the task the manager would hand over. */
  function task(coordinator: Side, id: string, data: Uint8Array, deadlineInMs = 30_000): Task {
    coordinator.payloads.put(id, {
      objectId: sha256(data),
      size: data.byteLength,
      providers: ["/ip4/127.0.0.1/tcp/1/p2p/x"],
    });
    return {
      id,
      priority: 1,
      size: data.byteLength,
      source: coordinator.peer.node.peerId.toString(),
      deadline: Date.now() + deadlineInMs,
      requirements: { capabilities: ["executor"], minBandwidth: 0 },
      status: "assigned",
      seq: 1,
      primary: undefined,
      backups: [],
      attempts: 0,
      tried: new Set(),
      providers: [],
      createdAt: Date.now(),
      startedAt: undefined,
      endedAt: undefined,
      executor: undefined,
      bytes: undefined,
      sha256: undefined,
      reason: undefined,
    };
  }

  /** A perform that blocks until released (or aborted); resolves to the object's verified result. */
  function blocking(data: Uint8Array): { perform: Perform; started: Promise<void>; release: () => void } {
    let release!: () => void;
    let onStart!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const started = new Promise<void>((r) => (onStart = r));
    releases.push(() => release());
    return {
      started,
      release: () => release(),
      perform: async (_work, { signal }) => {
        onStart();
        await new Promise<void>((resolve, reject) => {
          void released.then(resolve);
          signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
        });
        return { bytes: data.byteLength, sha256: sha256(data) };
      },
    };
  }

  async function connect(from: Side, to: Side): Promise<string> {
    await from.peer.node.dial(to.peer.node.getMultiaddrs()[0]!);
    return to.peer.node.peerId.toString();
  }

  it("runs a task on the executor and returns its verified result", async () => {
    const data = randomBytes(4096);
    const evidence = "0x" + "5e".repeat(32);
    const executor = await side({ perform: async (w) => ({ bytes: w.size, sha256: sha256(data), evidence }) });
    const coordinator = await side();
    const peerId = await connect(coordinator, executor);
    const t = task(coordinator, "task-happy", data);
    let started = 0;
    const result = await coordinator.service.executeOn(t, peerId, {
      signal: AbortSignal.timeout(10_000),
      onStarted: () => started++,
    });

    assert.deepEqual(result, { bytes: data.byteLength, sha256: sha256(data), evidence }, "the evidence hash crosses");
    assert.equal(started, 1, "onStarted is called once, when the executor accepted");
    assert.equal(executor.performed.length, 1);
    const work = executor.performed[0]!;
    assert.equal(work.taskId, "task-happy");
    assert.equal(work.objectId, sha256(data));
    assert.equal(work.size, data.byteLength);
    assert.deepEqual(work.providers, ["/ip4/127.0.0.1/tcp/1/p2p/x"]);
    assert.equal(work.deadlineMs, t.deadline);
    assert.equal(work.coordinator, coordinator.peer.node.peerId.toString());
    assert.equal(executor.service.load, 0, "no task left running on the executor");
    assert.deepEqual(coordinator.penalised, []);
    assert.deepEqual(executor.penalised, []);
  });

  it("refuses a task when at capacity without doing its work; the coordinator gets TaskRejectedError", async () => {
    const data = randomBytes(1024);
    const gate = blocking(data);
    const executor = await side({ perform: gate.perform, maxConcurrent: 1 });
    const coordinator = await side();
    const peerId = await connect(coordinator, executor);

    const first = coordinator.service.executeOn(task(coordinator, "task-busy", data), peerId, {
      signal: AbortSignal.timeout(20_000),
    });
    await gate.started;
    assert.equal(executor.service.load, 1);

    let started = 0;
    await assert.rejects(
      coordinator.service.executeOn(task(coordinator, "task-refused", data), peerId, {
        signal: AbortSignal.timeout(10_000),
        onStarted: () => started++,
      }),
      (err: unknown) => {
        assert.ok(err instanceof TaskRejectedError, `expected TaskRejectedError, got ${String(err)}`);
        assert.equal(err.taskId, "task-refused");
        assert.equal(err.peerId, peerId);
        assert.match(err.reason, /at capacity \(1 tasks\)/);
        return true;
      },
    );
    assert.equal(started, 0, "a refused task never counts as started");
    assert.deepEqual(
      executor.performed.map((w) => w.taskId),
      ["task-busy"],
      "the refused task's work is not done",
    );
    assert.deepEqual(coordinator.penalised, [], "a refusal is not a protocol violation");

    gate.release();
    assert.deepEqual(await first, { bytes: data.byteLength, sha256: sha256(data) });
    assert.equal(executor.service.load, 0);
  });

  it("holds its capacity while admissions are pending: concurrent requests from many identities cannot all pass", async () => {
    const data = randomBytes(1024);
    const gate = blocking(data);
    // Every requester and provider is "registered", but each lookup waits until the test lets it answer: all
    // requests are inside admission at once, after the capacity check (the window a fleet of identities uses).
    let answer!: () => void;
    const lookups = new Promise<void>((r) => (answer = r));
    releases.push(() => answer());
    const admission = new Admission({
      record: async (peerId) => {
        await lookups;
        return { peerId } as PeerRecordData;
      },
    });
    const executor = await side({ perform: gate.perform, maxConcurrent: 2, admission });
    const coordinators = await Promise.all([1, 2, 3, 4, 5].map(() => side()));
    const provider = coordinators[0]!.peer.node.peerId.toString();
    let settled = 0;
    const outcomes = coordinators.map(async (c, i) => {
      const peerId = await connect(c, executor);
      const t = task(c, `task-fleet-${i}`, data);
      c.payloads.put(t.id, { objectId: sha256(data), size: data.byteLength, providers: [provider] });
      return c.service
        .executeOn(t, peerId, { signal: AbortSignal.timeout(20_000) })
        .then(
          () => "done",
          (err: unknown) => (err instanceof TaskRejectedError ? err.reason : String(err)),
        )
        .finally(() => settled++);
    });
    await waitFor(() => executor.service.load === 2, 15_000, "two requests holding the executor's two slots");
    // The other three are answered while the first two are still inside admission.
    await waitFor(() => settled === 3, 15_000, "three requests answered while two admissions are pending");
    answer();
    await gate.started;
    gate.release();
    const results = await Promise.all(outcomes);
    assert.equal(executor.performed.length, 2, `at most maxConcurrent tasks run (results: ${results.join("; ")})`);
    assert.equal(results.filter((r) => /at capacity \(2 tasks\)/.test(r)).length, 3, results.join("; "));
    assert.equal(executor.service.load, 0);
  });

  it("reports a perform that throws as TaskRejectedError carrying the reason", async () => {
    const data = randomBytes(1024);
    const executor = await side({
      perform: async () => {
        throw new Error("every provider refused the object");
      },
    });
    const coordinator = await side();
    const peerId = await connect(coordinator, executor);
    let started = 0;
    await assert.rejects(
      coordinator.service.executeOn(task(coordinator, "task-fails", data), peerId, {
        signal: AbortSignal.timeout(10_000),
        onStarted: () => started++,
      }),
      (err: unknown) => {
        assert.ok(err instanceof TaskRejectedError, `expected TaskRejectedError, got ${String(err)}`);
        assert.equal(err.reason, "every provider refused the object");
        assert.equal(err.penalise, false);
        return true;
      },
    );
    assert.equal(started, 1, "the executor had accepted before it failed");
    assert.equal(executor.service.load, 0, "the failed task no longer counts as running");
    assert.deepEqual(coordinator.penalised, []);
  });

  it("rejects a result whose checksum differs from the object id with TaskResultMismatchError and penalises", async () => {
    const data = randomBytes(1024);
    const executor = await side({ perform: async (w) => ({ bytes: w.size, sha256: sha256(randomBytes(16)) }) });
    const coordinator = await side();
    const peerId = await connect(coordinator, executor);
    await assert.rejects(
      coordinator.service.executeOn(task(coordinator, "task-forged", data), peerId, {
        signal: AbortSignal.timeout(10_000),
      }),
      (err: unknown) => {
        assert.ok(err instanceof TaskResultMismatchError, `expected TaskResultMismatchError, got ${String(err)}`);
        assert.equal(err.taskId, "task-forged");
        assert.match(err.message, /checksum differs from the object id/);
        return true;
      },
    );
    assert.deepEqual(
      coordinator.penalised.map((p) => p.peer),
      [peerId],
      "the executor that returned a forged checksum is penalised",
    );
  });

  it("rejects malformed and oversized raw frames with a logged reason and keeps serving", async () => {
    const data = randomBytes(2048);
    const { log, lines } = collectingLogger();
    const executor = await side({ perform: async (w) => ({ bytes: w.size, sha256: sha256(data) }), logger: log });
    const attacker = await side();
    const coordinator = await side();
    const addr = executor.peer.node.getMultiaddrs()[0]!;
    const attackerId = attacker.peer.node.peerId.toString();

    const expiredRequest = TaskRequest.encode({ ...validRequest(Date.now()), deadlineMs: 1n });
    const cases: { name: string; bytes: Uint8Array; code: string; reason: RegExp }[] = [
      {
        name: "length prefix above the frame limit",
        bytes: Uint8Array.from([...encodeVarint(MAX_TASK_MESSAGE_BYTES + 1), 1, 2, 3]),
        code: "ERR_MESSAGE_TOO_LARGE",
        reason: new RegExp(`exceeds the limit of ${MAX_TASK_MESSAGE_BYTES} bytes`),
      },
      {
        name: "body that is not protobuf",
        bytes: frame(Uint8Array.from([0xff, 0xff, 0xff])),
        code: "ERR_MALFORMED_MESSAGE",
        reason: /malformed message/,
      },
      {
        name: "length prefix longer than 5 bytes",
        bytes: Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]),
        code: "ERR_MALFORMED_MESSAGE",
        reason: /length prefix longer than 5 bytes/,
      },
      {
        name: "empty request",
        bytes: frame(new Uint8Array(0)),
        code: "TASK_MESSAGE_INVALID",
        reason: /field task_id/,
      },
      {
        name: "request whose deadline passed",
        bytes: frame(expiredRequest),
        code: "TASK_MESSAGE_INVALID",
        reason: /field deadline_ms/,
      },
    ];

    for (const c of cases) {
      const before = lines.length;
      const stream = await attacker.peer.node.dialProtocol(addr, TASK_PROTOCOL);
      stream.send(c.bytes);
      await waitFor(
        () => lines.slice(before).some((l) => l.msg === "task request rejected"),
        15_000,
        `rejection of ${c.name}`,
      );
      const line = lines.slice(before).find((l) => l.msg === "task request rejected")!;
      assert.equal(line.code, c.code, `${c.name}: logged code`);
      assert.match(String(line.reason), c.reason, `${c.name}: logged reason`);
      assert.equal(line.coordinator, attackerId, `${c.name}: logged sender`);
      // The executor hangs up: the sender never receives an answer.
      const answer = await (async () => {
        try {
          for await (const chunk of stream) return chunk;
          return undefined;
        } catch {
          return undefined;
        }
      })();
      assert.equal(answer, undefined, `${c.name}: no answer is sent`);
    }
    assert.deepEqual(executor.performed, [], "no malformed request reached perform");
    assert.equal(executor.penalised.length, cases.length, "every malformed request is penalised");
    for (const p of executor.penalised) assert.equal(p.peer, attackerId, `penalised ${p.peer} for ${p.err.message}`);

    // Still serving: a valid request afterwards succeeds.
    const peerId = await connect(coordinator, executor);
    const result = await coordinator.service.executeOn(task(coordinator, "task-after-garbage", data), peerId, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.deepEqual(result, { bytes: data.byteLength, sha256: sha256(data) });
  });

  it("rejects executeOn promptly when the executor dies mid-task", async () => {
    const data = randomBytes(1024);
    const gate = blocking(data);
    const executor = await side({ perform: gate.perform });
    const coordinator = await side();
    const peerId = await connect(coordinator, executor);
    let started = 0;
    const attempt = coordinator.service.executeOn(task(coordinator, "task-orphaned", data, 60_000), peerId, {
      signal: AbortSignal.timeout(45_000),
      onStarted: () => started++,
    });
    attempt.catch(() => {});
    await gate.started;
    await waitFor(() => started === 1, 15_000, "the coordinator seeing the task accepted");

    // A crash: the TCP connections drop without a goodbye, then the node is gone.
    const diedAt = Date.now();
    for (const c of executor.peer.node.getConnections()) c.abort(new Error("executor crashed"));
    await executor.peer.node.stop();

    const hang = new Promise<"hang">((r) => setTimeout(() => r("hang"), 10_000).unref());
    const settled = await Promise.race([
      attempt.then(
        () => "resolved" as const,
        () => "rejected" as const,
      ),
      hang,
    ]);
    assert.equal(settled, "rejected", "executeOn rejects instead of resolving or hanging");
    assert.ok(Date.now() - diedAt < 10_000, `rejected ${Date.now() - diedAt} ms after the executor died`);
    assert.deepEqual(coordinator.penalised, [], "a dead executor is not penalised as a cheater");
  });
});

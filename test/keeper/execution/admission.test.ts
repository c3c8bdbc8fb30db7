/**
 * Admission: who may make an executor work, and how much. Strangers are refused after one lookup (remembered),
 * providers must be named by peer id with a record, and each requester's tasks, bytes in flight, object size and
 * deadline horizon are bounded; every refusal is counted by code.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import type { PeerRecordData } from "../../../keeper/discovery/record.ts";
import { Admission, isRefusal, type Admitted, type Refusal } from "../../../keeper/execution/admission.ts";
import { UNKNOWN_PEER_TTL_MS } from "../../../keeper/execution/constants.ts";

const newId = async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();

describe("execution/admission", () => {
  const setup = async (init: ConstructorParameters<typeof Admission>[1] = {}) => {
    const [requester, provider, stranger] = await Promise.all([newId(), newId(), newId()]);
    const known = new Set([requester, provider]);
    const lookups: string[] = [];
    const admission = new Admission(
      {
        record: async (id) => {
          lookups.push(id);
          return known.has(id) ? ({ peerId: id } as PeerRecordData) : undefined;
        },
      },
      init,
    );
    return { admission, requester, provider, stranger, lookups };
  };
  const task = (provider: string, size = 1_000, deadlineMs = Date.now() + 60_000) => ({
    size,
    deadlineMs,
    providers: [`/ip4/10.0.0.1/tcp/4001/p2p/${provider}`],
  });

  it("admits a registered requester and returns the providers as peer ids (their addresses are not used)", async () => {
    const { admission, requester, provider } = await setup();
    const verdict = await admission.admit(requester, task(provider));
    assert.ok(!isRefusal(verdict));
    assert.deepEqual((verdict as Admitted).providers, [provider]);
  });

  it("refuses a stranger after one lookup, and does not look it up again for a while", async () => {
    const { admission, stranger, provider, lookups } = await setup();
    const first = (await admission.admit(stranger, task(provider))) as Refusal;
    assert.equal(first.code, "NOT_REGISTERED");
    const now = Date.now();
    for (let i = 0; i < 100; i++) {
      const r = (await admission.admit(stranger, task(provider), now + 1_000)) as Refusal;
      assert.equal(r.code, "NOT_REGISTERED", `request ${i}`);
    }
    assert.equal(lookups.filter((l) => l === stranger).length, 1, "one lookup for 101 requests");
    await admission.admit(stranger, task(provider), now + UNKNOWN_PEER_TTL_MS + 1);
    assert.equal(lookups.filter((l) => l === stranger).length, 2, "looked up again after the TTL");
    assert.equal(admission.refusals().NOT_REGISTERED, 102);
  });

  it("refuses providers given only as an address, or without a record", async () => {
    const { admission, requester, stranger } = await setup();
    const byAddress = (await admission.admit(requester, {
      size: 1,
      deadlineMs: Date.now() + 1_000,
      providers: ["/ip4/127.0.0.1/tcp/22"],
    })) as Refusal;
    assert.equal(byAddress.code, "PROVIDER_UNKNOWN");
    const unknown = (await admission.admit(requester, task(stranger))) as Refusal;
    assert.equal(unknown.code, "PROVIDER_UNKNOWN");
  });

  it("bounds object size and deadline horizon", async () => {
    const { admission, requester, provider } = await setup({ maxObjectBytes: 1_000_000, maxDeadlineMs: 60_000 });
    assert.equal(
      ((await admission.admit(requester, task(provider, 256 * 1024 ** 2))) as Refusal).code,
      "OBJECT_TOO_LARGE",
    );
    assert.equal(
      ((await admission.admit(requester, task(provider, 10, Date.now() + 3_600_000))) as Refusal).code,
      "DEADLINE_TOO_FAR",
    );
  });

  it("bounds each requester's tasks and bytes in flight, and frees them on release", async () => {
    const { admission, requester, provider } = await setup({
      maxTasksPerRequester: 2,
      maxBytesInFlightPerRequester: 5_000,
    });
    const a = (await admission.admit(requester, task(provider, 2_000))) as Admitted;
    const b = (await admission.admit(requester, task(provider, 2_000))) as Admitted;
    assert.equal(((await admission.admit(requester, task(provider, 10))) as Refusal).code, "TOO_MANY_TASKS");
    a.release();
    a.release(); // twice is harmless
    assert.equal(((await admission.admit(requester, task(provider, 4_000))) as Refusal).code, "TOO_MANY_BYTES");
    const c = await admission.admit(requester, task(provider, 3_000));
    assert.ok(!isRefusal(c), "room again after a release");
    b.release();
    (c as Admitted).release();
    assert.deepEqual(
      Object.entries(admission.refusals()).filter(([, n]) => n > 0),
      [
        ["TOO_MANY_TASKS", 1],
        ["TOO_MANY_BYTES", 1],
      ],
    );
  });
});

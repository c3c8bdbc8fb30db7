/**
 * The executor's `perform` (keeper/execution/perform.ts) over real transfer services on 127.0.0.1: a provider
 * that executes moves nothing; an executor that already holds the object must still get a provider's proof
 * (one part, compared with its own copy), and fails when no provider is alive; a fetch with every provider
 * gone fails as "no live provider".
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { afterEach, describe, it } from "node:test";

import { TaskNoLiveProviderError } from "../../../keeper/execution/errors.ts";
import { transferPerformer } from "../../../keeper/execution/perform.ts";
import type { TaskWork } from "../../../keeper/execution/protocol.ts";
import { TASK_NO_LIVE_PROVIDER } from "../../../keeper/tasks/errors.ts";
import { Wallet, keccak256 } from "ethers";

import { PaymentStore, VoucherPayer } from "../../../keeper/payment/index.ts";
import { receiptId, receiptsEvidence, verifyReceipt } from "../../../keeper/transfer/receipt.ts";
import { silent } from "../helpers.ts";
import { Harness, randomData, type Peer } from "../transfer/helpers.ts";

const PART = 64 * 1024;

describe("executor perform", { timeout: 60_000 }, () => {
  const h = new Harness();
  afterEach(() => h.cleanup());

  /** A provider serving a 5-part object, and that object's bytes. */
  async function published(): Promise<{ provider: Peer; data: Buffer; objectId: string; path: string }> {
    const data = randomData(4 * PART + 123);
    const provider = await h.peer({ init: { partSize: PART } });
    const path = await h.file(data);
    const r = await provider.transfer.publish(path, { announce: false });
    return { provider, data, objectId: r.objectId, path };
  }

  async function performer(executor: Peer) {
    return transferPerformer({ dataDir: await h.dir() })({
      transfer: executor.transfer,
      selfPeerId: executor.id,
      logger: silent,
    });
  }

  const work = (objectId: string, size: number, providers: string[]): TaskWork => ({
    taskId: `task-${Math.random().toString(36).slice(2)}`,
    objectId,
    size,
    providers,
    deadlineMs: Date.now() + 30_000,
    coordinator: "coordinator",
  });
  const signal = () => AbortSignal.timeout(20_000);

  it("fetches the whole object from a live provider and serves it afterwards", async () => {
    const { provider, data, objectId } = await published();
    const executor = await h.peer();
    const perform = await performer(executor);
    const r = await perform(work(objectId, data.length, [provider.addr]), { signal: signal() });
    assert.deepEqual({ bytes: r.bytes, sha256: r.sha256 }, { bytes: data.length, sha256: objectId });
    assert.equal(executor.transfer.held(objectId), data.length, "the executor serves its verified copy");
    const receipts = executor.transfer.receipts({ objectId });
    assert.equal(receipts.length, 1);
    assert.equal(r.evidence, receiptsEvidence(receipts), "the task's evidence: the hash of its receipts");
  });

  it("paying as it fetches, its task's evidence covers the receipt and the voucher inside it", async () => {
    const domain = { chainId: 31337n, vault: Wallet.createRandom().address };
    const account = Wallet.createRandom().address;
    const data = randomData(4 * PART);
    const provider = await h.peer({
      init: { partSize: PART },
      payment: (store) => ({
        store: new PaymentStore(store),
        terms: { account, domain, weiPerGiB: 10n ** 16n, unpaidAllowanceBytes: 16 * PART },
      }),
    });
    const { objectId } = await provider.transfer.publish(await h.file(data), { announce: false });
    const wallet = Wallet.createRandom();
    const executor = await h.peer({
      payment: (store, peerId) => {
        const payments = new PaymentStore(store);
        return {
          store: payments,
          payer: new VoucherPayer(
            { store: payments, signer: wallet, peerId, accountOf: () => account },
            { domain, weiPerGiB: 10n ** 16n },
          ),
        };
      },
    });
    const r = await (await performer(executor))(work(objectId, data.length, [provider.addr]), { signal: signal() });
    const [receipt] = executor.transfer.receipts({ objectId });
    const voucher = (await verifyReceipt(receipt!)).voucher;
    assert.ok(
      voucher !== undefined && voucher.consumer === wallet.address,
      "the receipt carries the executor's voucher",
    );
    assert.equal(
      r.evidence,
      keccak256(Buffer.from(receiptId(receipt!.body).slice(2), "hex")),
      "keccak256 of the one receipt id",
    );
  });

  it("as one of the request's providers, reports 0 bytes: nothing crosses the network", async () => {
    const { provider, data, objectId } = await published();
    const other = await published(); // an unrelated provider, to show nothing is fetched from anyone
    const perform = await performer(provider);
    const before = provider.transfer.providerStats;
    const r = await perform(work(objectId, data.length, [provider.addr, other.provider.addr]), { signal: signal() });
    assert.deepEqual(r, { bytes: 0, sha256: objectId });
    assert.deepEqual(provider.transfer.providerStats, before);
    assert.equal(other.provider.transfer.contributions().length, 0);
  });

  it("two tasks for one object at once: one fetches it, the other waits and proves a provider serves it", async () => {
    const { provider, data, objectId } = await published();
    const executor = await h.peer();
    const perform = await performer(executor);
    // Before, both fetched into the same partial file and the second rename failed (ENOENT).
    const [a, b] = await Promise.all([
      perform(work(objectId, data.length, [provider.addr]), { signal: signal() }),
      perform(work(objectId, data.length, [provider.addr]), { signal: signal() }),
    ]);
    assert.equal(a.bytes, data.length, "the first fetched the whole object");
    assert.ok(b.bytes > 0 && b.bytes <= PART, `the second moved one part (${b.bytes} bytes), not the object again`);
    assert.equal(executor.transfer.held(objectId), data.length);
  });

  it("holding the object already, succeeds only after a live provider served one part equal to its copy", async () => {
    const { provider, data, objectId, path } = await published();
    const executor = await h.peer();
    await executor.transfer.publish(path, { announce: false, partSize: PART }); // same parts, same object id
    const perform = await performer(executor);
    const r = await perform(work(objectId, data.length, [provider.addr]), { signal: signal() });
    assert.equal(r.sha256, objectId);
    assert.ok(r.bytes > 0 && r.bytes <= PART, `one part crossed the network (${r.bytes} bytes), not the object`);
    const partSizes = [PART, PART, PART, PART, 123];
    assert.ok(partSizes.includes(r.bytes), `bytes ${r.bytes} are one part's`);
  });

  it("holding the object already, fails when no provider of the request is alive", async () => {
    const { provider, data, objectId, path } = await published();
    const executor = await h.peer();
    await executor.transfer.publish(path, { announce: false, partSize: PART }); // same parts, same object id
    const perform = await performer(executor);
    const providers = [provider.addr];
    await h.stopPeer(provider);
    await assert.rejects(perform(work(objectId, data.length, providers), { signal: signal() }), (err: Error) => {
      assert.ok(err instanceof TaskNoLiveProviderError, `${err.name}: ${err.message}`);
      assert.equal(err.code, TASK_NO_LIVE_PROVIDER);
      assert.match(err.message, /no provider of the request proved it serves it/);
      return true;
    });
  });

  it("holding the object already, fails when the part a provider serves differs from its own copy", async () => {
    const { provider, data, objectId } = await published();
    const executor = await h.peer();
    const copy = await h.file(data);
    await executor.transfer.publish(copy, { announce: false, partSize: PART }); // same parts, same object id
    // The executor's copy changes after it was verified: whichever part the provider serves, it no longer matches.
    const altered = Buffer.from(data);
    for (let offset = 0; offset < altered.length; offset += PART) altered[offset]! ^= 0xff;
    await writeFile(copy, altered);
    const perform = await performer(executor);
    await assert.rejects(perform(work(objectId, data.length, [provider.addr]), { signal: signal() }), (err: Error) => {
      assert.ok(err instanceof TaskNoLiveProviderError, `${err.name}: ${err.message}`);
      assert.match(err.message, /ERR_PART_CHECKSUM/);
      return true;
    });
  });

  it("fails as 'no live provider' when every provider is gone", async () => {
    const { provider, data, objectId } = await published();
    const executor = await h.peer();
    const perform = await performer(executor);
    const providers = [provider.addr];
    await h.stopPeer(provider);
    await assert.rejects(perform(work(objectId, data.length, providers), { signal: signal() }), (err: Error) => {
      assert.ok(err instanceof TaskNoLiveProviderError, `${err.name}: ${err.message}`);
      assert.match(err.message, /no provider could serve the object/);
      return true;
    });
    assert.equal(executor.transfer.held(objectId), undefined);
  });

  it("fails as 'no live provider' when the only provider listed is itself and it lacks the object", async () => {
    const executor = await h.peer();
    const perform = await performer(executor);
    const objectId = createHash("sha256").update("absent").digest("hex");
    await assert.rejects(perform(work(objectId, 6, [executor.addr]), { signal: signal() }), TaskNoLiveProviderError);
  });
});

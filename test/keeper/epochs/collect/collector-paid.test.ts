/**
 * Closes under paid demand: the live collector counts a receipt's bytes only up to what its consumer's vouchers (carried
 * inside the receipts) paid on the channel in the epoch, plus the subsidy share, and the published evidence recomputes
 * the same C_i — with every voucher's signature checked.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { Wallet } from "ethers";

import { encodeEvidence, parseEvidence, recompute } from "../../../../keeper/epochs/proofs/evidence.ts";
import {
  signVoucher,
  toWire,
  type SignedVoucher,
  type TypedDataSigner,
  type VaultDomain,
} from "../../../../keeper/payment/index.ts";
import { signReceipt } from "../../../../keeper/transfer/receipt.ts";
import { signPeerRecord } from "../../../../keeper/discovery/record.ts";
import { peer, world, type EpochWorld, type Peer } from "../fixtures.ts";

/** 1 token unit per byte: a voucher's amount is the bytes it pays for. */
const PRICE = 1n << 30n;
const SUBSIDY_BPS = 500n;
const DOMAIN: VaultDomain = { chainId: 31337n, vault: Wallet.createRandom().address };
let objectSeq = 0;

async function recordOf(p: Peer, at: number): Promise<Uint8Array> {
  return signPeerRecord(p.key, {
    seq: 1n,
    issuedAtMs: at - 60_000,
    expiresAtMs: at + 600_000,
    capabilities: ["provider"],
    bandwidthBps: 1_000_000,
    capacity: 1,
    load: 0,
    shard: 0,
    rewardAddress: p.address,
    addrs: ["/ip4/127.0.0.1/tcp/1"],
  });
}

describe("epochs/collect: closes bounded by paid vouchers", () => {
  const worlds: EpochWorld[] = [];
  afterEach(() => {
    for (const w of worlds.splice(0)) w.close();
  });

  async function setup() {
    const now = Date.now();
    const [consumer, p1, p2, p3] = await Promise.all([peer(0xc0), peer(1), peer(2), peer(3)]);
    const wallet = Wallet.createRandom();
    const records = new Map<string, Uint8Array>();
    for (const p of [consumer, p1, p2, p3]) records.set(p.id, await recordOf(p, now));
    const w = world(
      { genesisMs: now - 100_000, payment: { weiPerGiB: PRICE, subsidyBps: SUBSIDY_BPS, domain: DOMAIN } },
      { recordOf: (id) => records.get(id) },
    );
    worlds.push(w);
    for (const p of [consumer, p1, p2, p3]) w.addresses.set(p.id, p.address);
    /** A receipt of `bytes` from `provider`, carrying `voucher`, stored at `atMs`. */
    const receipt = async (provider: Peer, bytes: number, atMs: number, voucher?: SignedVoucher) => {
      const objectId = new Uint8Array(32);
      new DataView(objectId.buffer).setUint32(0, ++objectSeq);
      const signed = await signReceipt(consumer.key, {
        objectId,
        provider: provider.id,
        consumer: consumer.id,
        epoch: 1n,
        bytes: BigInt(bytes),
        parts: [0],
        issuedAtMs: BigInt(atMs),
        ...(voucher !== undefined && { voucher: toWire(voucher) }),
      });
      w.storeReceipt({ provider: provider.id, epoch: 1, bytes, ...signed }, atMs);
    };
    const pay = (provider: Peer, amount: bigint, signer: TypedDataSigner = wallet) =>
      signVoucher(signer, DOMAIN, provider.address, amount);
    return { w, now, consumer, wallet, p1, p2, p3, receipt, pay };
  }

  it("credits paid bytes in full, unpaid ones only up to the subsidy share, and a voucher once", async () => {
    const { w, now, p1, p2, p3, receipt, pay } = await setup();
    await receipt(p1, 10_000, now - 90_000, await pay(p1, 10_000n)); // paid in full
    await receipt(p2, 10_000, now - 89_000, await pay(p2, 5_000n)); // half paid
    await receipt(p3, 10_000, now - 88_000); // never paid
    const first = await w.collector.close({ endMs: now - 50_000 });
    const c1 = new Map(first.contributions.map((c) => [c.account, c.contribution]));
    assert.equal(c1.get(p1.address), 10_000n, "p1: every byte paid");
    assert.equal(c1.get(p2.address), 5_000n + 250n, "p2: 5 000 paid + 5 % of it for the 5 000 unpaid");
    assert.equal(c1.has(p3.address), false, "p3: paid nothing, credited nothing");

    // Epoch 2: p1's same voucher shown again pays nothing more; p2's raised voucher pays its increase only.
    await receipt(p1, 10_000, now - 40_000, await pay(p1, 10_000n));
    await receipt(p2, 4_000, now - 39_000, await pay(p2, 9_000n));
    const second = await w.collector.close({ endMs: now });
    const c2 = new Map(second.contributions.map((c) => [c.account, c.contribution]));
    assert.equal(c2.has(p1.address), false, "a voucher already counted pays no second epoch");
    assert.equal(c2.get(p2.address), 4_000n, "the increase (4 000) pays the epoch's 4 000 bytes");
    const evidence = w.collector.evidence(second.epoch);
    assert.deepEqual(
      evidence.payment?.channels.map((c) => [c.account, c.paidBefore, c.paidUpTo]),
      [
        [p1.address, 10_000n, 10_000n],
        [p2.address, 5_000n, 9_000n],
      ].sort((a, b) => ((a[0] as string).toLowerCase() < (b[0] as string).toLowerCase() ? -1 : 1)),
      "the evidence publishes each channel's payment",
    );
  });

  it("the published evidence recomputes the same C_i, and a tampered or forged voucher is caught", async () => {
    const { w, now, p1, p2, receipt, pay } = await setup();
    await receipt(p1, 10_000, now - 90_000, await pay(p1, 10_000n));
    // A receipt whose voucher is not signed by its payer: the bytes are unpaid.
    const forged = await pay(p2, 10_000n, Wallet.createRandom());
    await receipt(p2, 10_000, now - 89_000, { ...forged, consumer: (await pay(p2, 1n)).consumer });
    const bundle = await w.collector.close({ endMs: now - 50_000 });
    assert.deepEqual(
      bundle.contributions.map((c) => c.account),
      [p1.address],
      "the forged voucher pays nothing: p2 is not credited",
    );
    const text = encodeEvidence(bundle.epoch, w.collector.evidence(bundle.epoch));
    const again = await recompute(parseEvidence(JSON.parse(text), bundle.epoch), now);
    assert.deepEqual(
      again.contributions.map((c) => [c.account, c.contribution]),
      bundle.contributions.map((c) => [c.account, c.contribution]),
      "C_i from the evidence alone equals the collector's",
    );
    assert.equal(again.problems.length, 1, again.problems.join("; "));
    assert.match(again.problems[0], /voucher does not count: invalid voucher: signed by/);

    // Tampering with the voucher inside a published receipt (its amount raised) breaks the consumer's signature.
    const json = JSON.parse(text) as { signed: Array<{ body: string }> };
    const raised = await pay(p1, 20_000n);
    for (const s of json.signed) {
      const body = Buffer.from(s.body, "base64");
      const at = body.indexOf(Buffer.from(toWire(await pay(p1, 10_000n)).signature));
      if (at < 0) continue;
      Buffer.from(toWire(raised).signature).copy(body, at);
      s.body = body.toString("base64");
    }
    const tampered = await recompute(parseEvidence(json, bundle.epoch), now);
    assert.ok(
      tampered.problems.some((p) => /signature does not verify/.test(p)),
      `the tampered receipt is named: ${tampered.problems.join("; ")}`,
    );
    assert.notDeepEqual(
      tampered.contributions.map((c) => [c.account, c.contribution]),
      bundle.contributions.map((c) => [c.account, c.contribution]),
      "and its credit is gone",
    );

    // Publishing a channel as paid further than its vouchers show is caught too.
    const inflated = JSON.parse(text) as { payment: { channels: Array<{ paidUpTo: string }> } };
    inflated.payment.channels[0].paidUpTo = "99999";
    const lie = await recompute(parseEvidence(inflated, bundle.epoch), now);
    assert.ok(
      lie.problems.some((p) => /published as paid up to 99999/.test(p)),
      lie.problems.join("; "),
    );
  });
});

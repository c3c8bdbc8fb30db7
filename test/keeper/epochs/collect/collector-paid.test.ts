/**
 * Closes under paid demand, against a real CreditVault and RewardPool on a Hardhat node: the live collector counts a
 * receipt's bytes only up to what the vault *settled* on its channel for the epoch (the close settles the epoch's
 * highest vouchers first; a voucher without a deposit behind it pays nothing), plus the subsidy share; what earlier
 * epochs counted is read from the chain (settled at the previous epoch's commitment); a voucher pays only for the
 * receipts of the peer it was signed for; and the published evidence recomputes the same C_i, checked against the chain.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";

import { JsonRpcProvider, Network, Wallet, ZeroHash, parseEther, type HDNodeWallet } from "ethers";

import { encodeEvidence, parseEvidence, recompute } from "../../../../keeper/epochs/proofs/evidence.ts";
import {
  VaultSettlement,
  settledAtCommits,
  signVoucher,
  toWire,
  type SignedVoucher,
  type TypedDataSigner,
  type VaultDomain,
} from "../../../../keeper/payment/index.ts";
import { signReceipt } from "../../../../keeper/transfer/receipt.ts";
import { signPeerRecord } from "../../../../keeper/discovery/record.ts";
import {
  CreditVault__factory,
  LumoraToken__factory,
  RewardPool__factory,
  type CreditVault,
  type LumoraToken,
  type RewardPool,
} from "../../../../types/ethers-contracts/index.ts";
import { deployLumora, devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../../chain/helpers.ts";
import { collectingLogger, silent, waitFor } from "../../helpers.ts";
import type { Logger } from "../../../../keeper/logger.ts";
import type { SettleTerms } from "../../../../keeper/epochs/types.ts";
import { peer, world, type EpochWorld, type Peer } from "../fixtures.ts";

/** 1 token unit per byte: a voucher's amount is the bytes it pays for. */
const PRICE = 1n << 30n;
const SUBSIDY_BPS = 500n;
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

describe("epochs/collect: closes bounded by settled vouchers", { timeout: 240_000 }, () => {
  let node: HardhatNode;
  let provider: ReturnType<typeof rpcProvider>;
  let keeper: HDNodeWallet;
  let token: LumoraToken;
  let pool: RewardPool;
  let vault: CreditVault;
  let domain: VaultDomain;
  const worlds: EpochWorld[] = [];

  before(async () => {
    node = await startHardhatNode();
    provider = rpcProvider(node.url);
    keeper = devWallet(1).connect(provider);
    const { record } = await deployLumora(node.url, { keepers: [keeper.address], fund: parseEther("1000") });
    const deployer = devWallet(0).connect(provider);
    token = LumoraToken__factory.connect(record.contracts.LumoraToken, deployer);
    pool = RewardPool__factory.connect(record.contracts.RewardPool, keeper);
    vault = await new CreditVault__factory(deployer).deploy(
      deployer.address,
      record.contracts.LumoraToken,
      record.contracts.RewardPool,
      0,
      3600,
    );
    await vault.waitForDeployment();
    await (await token.approve(await vault.getAddress(), parseEther("1000"))).wait();
    domain = { chainId: 31337n, vault: await vault.getAddress() };
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });
  afterEach(() => {
    for (const w of worlds.splice(0)) w.close();
  });

  /** Commits `epoch` on RewardPool (a marker commitment: what matters here is its block). */
  async function commit(epoch: number) {
    await (await pool.commitEpoch(epoch, ZeroHash.replace(/0$/, String(epoch)), 1n, 1n)).wait();
  }

  async function setup(hooks: { log?: Logger; onSend?: () => void; settle?: SettleTerms; keepers?: number } = {}) {
    const now = Date.now();
    const [consumer, p1, p2, p3, dealer] = await Promise.all([peer(0xc0), peer(1), peer(2), peer(3), peer(0xd0)]);
    const records = new Map<string, Uint8Array>();
    for (const p of [consumer, p1, p2, p3, dealer]) records.set(p.id, await recordOf(p, now));
    const keeperWorld = () => {
      const settlement = new VaultSettlement(
        {
          vault: CreditVault__factory.connect(domain.vault, provider),
          pool: RewardPool__factory.connect(poolAddress, provider),
          logger: hooks.log ?? silent,
          send: async (tx) => {
            hooks.onSend?.();
            return (await keeper.sendTransaction({ to: tx.to, data: tx.data })).wait();
          },
        },
        // Amounts here are a few thousand units (1 per byte): every channel is worth settling.
        { pollMs: 100, idleMarginMs: 500, minSettleAmount: 1n },
      );
      const k = world(
        {
          genesisMs: now - 100_000,
          payment: {
            weiPerGiB: PRICE,
            subsidyBps: SUBSIDY_BPS,
            domain,
            ...(hooks.settle !== undefined && { settle: hooks.settle }),
          },
        },
        {
          recordOf: (id) => records.get(id),
          settlement: (epoch, vouchers, opts) => settlement.settleAndRead(epoch, vouchers, opts),
        },
      );
      worlds.push(k);
      for (const p of [consumer, p1, p2, p3, dealer]) k.addresses.set(p.id, p.address);
      return k;
    };
    const poolAddress = await pool.getAddress();
    const keepers = Array.from({ length: hooks.keepers ?? 1 }, keeperWorld);
    const w = keepers[0]!;
    const wallet = Wallet.createRandom();
    /** A receipt of `bytes` from `provider` signed by `by`, carrying `voucher`, stored at `atMs`. */
    const receipt = async (provider: Peer, bytes: number, atMs: number, voucher?: SignedVoucher, by = consumer) => {
      const objectId = new Uint8Array(32);
      new DataView(objectId.buffer).setUint32(0, ++objectSeq);
      const signed = await signReceipt(by.key, {
        objectId,
        provider: provider.id,
        consumer: by.id,
        epoch: 1n,
        bytes: BigInt(bytes),
        parts: [0],
        issuedAtMs: BigInt(atMs),
        ...(voucher !== undefined && { voucher: toWire(voucher) }),
      });
      for (const k of keepers) k.storeReceipt({ provider: provider.id, epoch: 1, bytes, ...signed }, atMs);
    };
    const pay = (provider: Peer, amount: bigint, signer: TypedDataSigner = wallet, by = consumer) =>
      signVoucher(signer, domain, provider.address, amount, by.id);
    const deposit = async (who: string, amount: bigint) => (await vault.depositFor(who, amount)).wait();
    return { w, keepers, now, consumer, dealer, wallet, p1, p2, p3, receipt, pay, deposit };
  }

  it("credits what the vault settled: the close settles the epoch's vouchers, a voucher without a deposit pays nothing", async () => {
    const { w, now, p1, p2, p3, dealer, receipt, pay, deposit, wallet } = await setup();
    await deposit(wallet.address, 100_000n);
    await receipt(p1, 10_000, now - 90_000, await pay(p1, 10_000n)); // paid in full
    await receipt(p2, 10_000, now - 89_000, await pay(p2, 5_000n)); // half paid
    // A self-dealer: its own consumer key signs vouchers to its own provider, with nothing deposited behind them.
    const broke = Wallet.createRandom();
    await receipt(p3, 10_000, now - 88_000, await pay(p3, 10_000n, broke, dealer), dealer);
    const first = await w.collector.close({ endMs: now - 50_000 });
    const c1 = new Map(first.contributions.map((c) => [c.account, c.contribution]));
    assert.equal(c1.get(p1.address), 10_000n, "p1: every byte paid, and settled by the close");
    assert.equal(c1.get(p2.address), 5_000n + 250n, "p2: 5 000 paid + 5 % of it for the 5 000 unpaid");
    assert.equal(c1.has(p3.address), false, "p3: vouchers signed but never funded earn nothing");
    assert.equal(await vault.settledOf(wallet.address, p1.address), 10_000n, "the close settled the voucher");
    assert.equal(await vault.settledOf(broke.address, p3.address), 0n);
    const evidence = w.collector.evidence(first.epoch);
    // Channels are ordered by consumer, then account; the self-dealer's consumer key is random: compare by account.
    const byAccount = (a: unknown[], b: unknown[]) =>
      (a[0] as string).toLowerCase() < (b[0] as string).toLowerCase() ? -1 : 1;
    assert.deepEqual(
      evidence.payment?.channels.map((c) => [c.account, c.paidBefore, c.paidUpTo]).sort(byAccount),
      [
        [p1.address, 0n, 10_000n],
        [p2.address, 0n, 5_000n],
        [p3.address, 0n, 0n],
      ].sort(byAccount),
      "the evidence publishes what the vault settled, not what was signed",
    );

    // Epoch 2, once epoch 1 is committed: what counts as paid before is what the vault held at that commitment.
    await commit(first.epoch);
    // A publication counting the self-dealer's signed vouchers as paid agrees with the vouchers, not with the vault.
    const signedOnly = JSON.parse(encodeEvidence(first.epoch, evidence)) as {
      payment: { channels: Array<{ account: string; paidUpTo: string }> };
    };
    for (const c of signedOnly.payment.channels) if (c.account === p3.address) c.paidUpTo = "10000";
    const unpaid = await recompute(parseEvidence(signedOnly, first.epoch), now, {
      settled: (channels) => settledAtCommits(pool, domain.vault, first.epoch, channels),
    });
    assert.ok(
      unpaid.problems.some((p) => /paid up to 10000; the vault had settled only 0 .*signed is not paid/.test(p)),
      unpaid.problems.join("; "),
    );
    await receipt(p1, 10_000, now - 40_000, await pay(p1, 10_000n)); // the same voucher again: nothing new
    await receipt(p2, 4_000, now - 39_000, await pay(p2, 9_000n)); // raised: its increase only
    const second = await w.collector.close({ endMs: now });
    const c2 = new Map(second.contributions.map((c) => [c.account, c.contribution]));
    assert.equal(c2.has(p1.address), false, "a voucher already counted pays no second epoch");
    assert.equal(c2.get(p2.address), 4_000n, "the settled increase (4 000) pays the epoch's 4 000 bytes");
    await commit(second.epoch);

    // A verifier with the chain reproduces it, and a publication that lowers paidBefore (to count a payment twice)
    // or raises paidUpTo above what was settled is named.
    const text = encodeEvidence(second.epoch, w.collector.evidence(second.epoch));
    const settled = (channels: readonly { consumer: string; account: string }[]) =>
      settledAtCommits(pool, domain.vault, second.epoch, channels);
    const again = await recompute(parseEvidence(JSON.parse(text), second.epoch), now, { settled });
    assert.deepEqual(again.problems, []);
    assert.deepEqual(
      again.contributions.map((c) => [c.account, c.contribution]),
      second.contributions.map((c) => [c.account, c.contribution]),
      "C_i from the evidence and the chain equals the collector's",
    );
    const lowered = JSON.parse(text) as { payment: { channels: Array<{ paidBefore: string }> } };
    for (const c of lowered.payment.channels) c.paidBefore = "0";
    const twice = await recompute(parseEvidence(lowered, second.epoch), now, { settled });
    assert.ok(
      twice.problems.some((p) => /paid before the epoch up to 0; the vault had settled 10000/.test(p)),
      twice.problems.join("; "),
    );
  });

  it("a voucher counts only with receipts of the peer it was signed for: a published one cannot be reused", async () => {
    const { w, now, consumer, dealer, p1, receipt, pay, deposit, wallet } = await setup();
    await deposit(wallet.address, 100_000n);
    // An honest consumer pays the self-dealer's provider p1 for 10 000 bytes — and pays ahead (20 000).
    const honest = await pay(p1, 20_000n);
    await receipt(p1, 10_000, now - 90_000, honest);
    // The self-dealer copies that voucher (from published evidence) into receipts its own peer signs for p1.
    await receipt(p1, 10_000, now - 89_000, honest, dealer);
    const bundle = await w.collector.close({ endMs: now - 50_000 });
    const credited = bundle.contributions.find((c) => c.account === p1.address)?.contribution;
    assert.equal(credited, 10_000n + 500n, "the honest 10 000 paid, the dealer's 10 000 unpaid (subsidy only)");
    const text = encodeEvidence(bundle.epoch, w.collector.evidence(bundle.epoch));
    const again = await recompute(parseEvidence(JSON.parse(text), bundle.epoch), now);
    assert.ok(
      again.problems.some((p) => /voucher does not count: invalid voucher: signed by/.test(p)),
      `the copied voucher is named: ${again.problems.join("; ")}`,
    );
    void consumer;
  });

  it("the published evidence recomputes the same C_i, and a tampered or forged voucher is caught", async () => {
    const { w, now, p1, p2, receipt, pay, deposit, wallet } = await setup();
    await deposit(wallet.address, 100_000n);
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

    // Publishing a channel as paid further than its vouchers show is caught too.
    const inflated = JSON.parse(text) as { payment: { channels: Array<{ paidUpTo: string }> } };
    inflated.payment.channels[0].paidUpTo = "99999";
    const lie = await recompute(parseEvidence(inflated, bundle.epoch), now);
    assert.ok(
      lie.problems.some((p) => /published as paid up to 99999/.test(p)),
      lie.problems.join("; "),
    );
  });
  it("settles an epoch's vouchers only after the previous epoch's commitment, so the payment counts in its own", async () => {
    const { log, lines } = collectingLogger();
    let sent = 0;
    const { w, now, p1, receipt, pay, deposit, wallet } = await setup({ log, onSend: () => sent++ });
    await deposit(wallet.address, 100_000n);
    // The pool is shared with the tests before: epochs it has not seen committed are committed here first, so that
    // this world's epoch 3 is the first one whose commitment the next close must wait for.
    for (const endMs of [now - 80_000, now - 60_000]) {
      const e = (await w.collector.close({ endMs })).epoch;
      if ((await pool.queryFilter(pool.filters.EpochCommitted(e))).length === 0) await commit(e);
    }
    await receipt(p1, 10_000, now - 55_000, await pay(p1, 10_000n));
    const first = await w.collector.close({ endMs: now - 50_000 });
    // The next epoch's 5 000 bytes, paid by the raised voucher, close while epoch 1 is not committed yet. Before, the close
    // settled them at once: the settlement landed before epoch 1's commitment, counted as epoch 2's `before`, and
    // the payment counted in no epoch.
    await receipt(p1, 5_000, now - 40_000, await pay(p1, 15_000n));
    const sentBefore = sent;
    const second = w.collector.close({ endMs: now });
    await waitFor(
      () => sent > sentBefore || lines.some((l) => l.msg === "paid credit waits for the previous epoch's commitment"),
      60_000,
      "the close to settle or to wait for the previous commitment",
    );
    await commit(first.epoch);
    const c2 = new Map((await second).contributions.map((c) => [c.account, c.contribution]));
    assert.equal(c2.get(p1.address), 5_000n, "the settled increase pays the epoch's 5 000 bytes");
    assert.equal(await vault.settledOf(wallet.address, p1.address), 15_000n);
  });
  it("reads the vault at the epoch's settlement block: keepers closing at different times, a settlement between, build one root", async () => {
    // Two keepers close one epoch (the same cron tick, so the same end) at different times. The consumer's deposit
    // covers half its voucher at the first close; after it, the consumer tops up and settles the rest. Read at their
    // own close time, the keepers counted 5 000 and 10 000; read at the settlement block, both count 5 000.
    const { keepers, now, p1, wallet, receipt, pay, deposit } = await setup({
      settle: { gridMs: 1_000, windowMs: 2_000 },
      keepers: 2,
    });
    const [a, b] = keepers as [EpochWorld, EpochWorld];
    // Earlier tests committed the first epochs on this pool: both keepers close them empty, to reach a fresh one.
    const committed = (await pool.queryFilter(pool.filters.EpochCommitted())).map((e) => Number(e.args.epoch));
    for (let e = 1; e <= Math.max(0, ...committed); e++)
      for (const k of keepers) await k.collector.close({ endMs: now - 99_000 + e });
    await deposit(wallet.address, 5_000n);
    const voucher = await pay(p1, 10_000n);
    await receipt(p1, 10_000, now - 90_000, voucher);
    // The epoch ends now by the chain's clock (a dev chain runs ahead of the wall clock by a second per block).
    const endMs = (await provider.getBlock("latest"))!.timestamp * 1000;
    const closing = a.collector.close({ endMs });
    // Once the first close has settled what the deposit held, the chain moves past the cutoff (2 s after the end).
    await waitFor(
      async () => (await vault.settledOf(wallet.address, p1.address)) === 5_000n,
      30_000,
      "the first close settling the voucher",
    );
    await provider.send("evm_increaseTime", [10]);
    await provider.send("evm_mine", []);
    const first = await closing;
    // After the cutoff: a top-up and a settlement of the rest, between the two closes.
    await deposit(wallet.address, 5_000n);
    const { signature, ...body } = voucher;
    await (await vault.settle(body, signature)).wait();
    assert.equal(await vault.settledOf(wallet.address, p1.address), 10_000n);
    const second = await b.collector.close({ endMs });
    const credit = (bundle: typeof first) => bundle.contributions.map((c) => [c.account, c.contribution]);
    assert.deepEqual(credit(first), [[p1.address, 5_000n + 250n]], "5 000 paid + 5 % of it for the unpaid half");
    assert.deepEqual(credit(second), credit(first), "the later keeper counts the same payment");
    const [ra, rb] = [a.collector.evidence(first.epoch), b.collector.evidence(second.epoch)];
    assert.deepEqual(rb.payment?.channels, ra.payment?.channels);
    assert.equal(rb.payment?.rule.settle?.windowMs, 2_000, "the evidence names the read's terms");

    // A verifier reads the same block from the chain alone, and names a publication counting the later settlement.
    await commit(first.epoch);
    const read = { endMs, terms: { gridMs: 1_000, windowMs: 2_000 } };
    const settled = (channels: readonly { consumer: string; account: string }[]) =>
      settledAtCommits(pool, domain.vault, first.epoch, channels, 0, read);
    const text = encodeEvidence(first.epoch, ra);
    const again = await recompute(parseEvidence(JSON.parse(text), first.epoch), endMs, { settled });
    assert.deepEqual(again.problems, []);
    const raised = JSON.parse(text) as { payment: { channels: Array<{ paidUpTo: string }> } };
    for (const c of raised.payment.channels) c.paidUpTo = "10000";
    const late = await recompute(parseEvidence(raised, first.epoch), endMs, { settled });
    assert.ok(
      late.problems.some((p) => /settlement block gives 0 up to 5000/.test(p)),
      late.problems.join("; "),
    );
  });
  it("waits for the previous epoch's commitment with a log query per new range, not a scan back to the deployment", async () => {
    /** The real chain, with its log queries and block-number reads counted. */
    class Counting extends JsonRpcProvider {
      logs: Array<{ fromBlock: string; toBlock: string }> = [];
      heads = 0;
      override async send(method: string, params: unknown[] | Record<string, unknown>): Promise<unknown> {
        if (method === "eth_getLogs") this.logs.push((params as Array<{ fromBlock: string; toBlock: string }>)[0]!);
        if (method === "eth_blockNumber") this.heads++;
        return super.send(method, params);
      }
    }
    const counting = new Counting(node.url, Network.from(31337), {
      staticNetwork: Network.from(31337),
      cacheTimeout: -1,
    });
    try {
      // A long chain: 20,000 more blocks, four log windows of COMMIT_LOG_WINDOW.
      await provider.send("hardhat_mine", ["0x4e20"]);
      const committed = (await pool.queryFilter(pool.filters.EpochCommitted())).map((e) => Number(e.args.epoch));
      const previous = Math.max(0, ...committed) + 1;
      const settlement = new VaultSettlement(
        {
          vault: CreditVault__factory.connect(domain.vault, counting),
          pool: RewardPool__factory.connect(await pool.getAddress(), counting),
          logger: silent,
        },
        { pollMs: 20 },
      );
      const reading = settlement.settleAndRead(previous + 1, []);
      await waitFor(() => counting.heads >= 20, 30_000, "twenty looks for the commitment");
      const head = await provider.getBlockNumber();
      const firstScan = counting.logs.length;
      assert.ok(firstScan <= 6, `the first look scans back once (${firstScan} queries), the others add none`);
      await commit(previous);
      await reading;
      const later = counting.logs.slice(firstScan);
      assert.ok(later.length >= 1 && later.length <= 2, `${later.length} queries once committed`);
      for (const r of later)
        assert.ok(Number(r.fromBlock) > head - 2, `a later query starts past the scanned blocks: ${r.fromBlock}`);
    } finally {
      counting.destroy();
    }
  });
  it("settles only channels worth a transaction, at most maxSettlesPerClose, the largest first: a self-dealer's 1-wei channels cost no gas", async () => {
    const dealerPeer = await peer(0xd1);
    const [p1, p2] = await Promise.all([peer(0x11), peer(0x12)]);
    // A self-dealer: 24 consumer keys, each with a 1-unit deposit and a 1-unit voucher to its own provider.
    const dealt: SignedVoucher[] = [];
    for (let i = 0; i < 24; i++) {
      const key = Wallet.createRandom();
      await (await vault.depositFor(key.address, 1n)).wait();
      dealt.push(await signVoucher(key, domain, p2.address, 1n, dealerPeer.id));
    }
    // Three honest consumers paying p1 10 000, 8 000 and 6 000 — the last only half covered by its deposit.
    const honest: SignedVoucher[] = [];
    for (const [amount, funded] of [
      [10_000n, 10_000n],
      [8_000n, 8_000n],
      [6_000n, 3_000n],
    ] as const) {
      const key = Wallet.createRandom();
      await (await vault.depositFor(key.address, funded)).wait();
      honest.push(await signVoucher(key, domain, p1.address, amount, dealerPeer.id));
    }
    let sent = 0;
    const settlement = new VaultSettlement(
      {
        vault: CreditVault__factory.connect(domain.vault, provider),
        pool: RewardPool__factory.connect(await pool.getAddress(), provider),
        logger: silent,
        send: async (tx) => {
          sent++;
          return (await keeper.sendTransaction({ to: tx.to, data: tx.data })).wait();
        },
      },
      { pollMs: 100, minSettleAmount: 100n, maxSettlesPerClose: 2 },
    );
    // Epoch 1 of this view: no previous commitment to wait for.
    const read = await settlement.settleAndRead(1, [...dealt, ...honest]);
    assert.equal(sent, 2, "two settlements (maxSettlesPerClose), not one per channel");
    const settledOf = (v: SignedVoucher) => vault.settledOf(v.consumer, v.provider);
    assert.deepEqual(
      await Promise.all(honest.map(settledOf)),
      [10_000n, 8_000n, 0n],
      "the two channels that take most are settled; the third (3 000 to take) is beyond the maximum",
    );
    for (const v of dealt) assert.equal(await settledOf(v), 0n, "a 1-unit channel is below the minimum");
    assert.equal(read.size, dealt.length + honest.length, "every channel is still read");

    // One deposit does not pay for many transactions: 150 behind two channels of 100 each settles one (100); the
    // other would take the 50 left, below the minimum, and is not sent.
    const shared = Wallet.createRandom();
    await (await vault.depositFor(shared.address, 150n)).wait();
    const two = [
      await signVoucher(shared, domain, p1.address, 100n, dealerPeer.id),
      await signVoucher(shared, domain, p2.address, 100n, dealerPeer.id),
    ];
    const sentBefore = sent;
    await settlement.settleAndRead(1, two);
    assert.equal(sent - sentBefore, 1, "one settlement: the second would take 50, below the minimum");
    assert.equal(await vault.depositOf(shared.address).then((d) => d.balance), 50n);
  });
});

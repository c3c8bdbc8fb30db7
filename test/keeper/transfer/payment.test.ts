import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { Wallet } from "ethers";

import {
  PaymentStore,
  VOUCHER_FRAME_SLACK,
  VoucherPayer,
  costOf,
  signVoucher,
  toWire,
  type LedgerTerms,
  type TypedDataSigner,
  type VaultDomain,
} from "../../../keeper/payment/index.ts";
import { objectIdFromHex } from "../../../keeper/transfer/manifest.ts";
import { RemoteError, verifyReceipt } from "../../../keeper/transfer/index.ts";
import { ProviderSession } from "../../../keeper/transfer/session.ts";
import type { Store } from "../../../keeper/store/index.ts";
import { waitFor } from "../helpers.ts";
import { Harness, randomData, type Peer } from "./helpers.ts";

const PART = 64 * 1024;
/** A sealed random part: the plaintext and the GCM tag. */
const WIRE = PART + 16;
const PRICE = 10n ** 16n;
const DOMAIN: VaultDomain = { chainId: 31337n, vault: Wallet.createRandom().address };

describe("paying as data arrives (transfer + vouchers)", () => {
  const h = new Harness();
  afterEach(() => h.cleanup());

  const providerAccount = Wallet.createRandom().address;
  const terms = (allowanceBytes: number): LedgerTerms => ({
    account: providerAccount,
    domain: DOMAIN,
    weiPerGiB: PRICE,
    unpaidAllowanceBytes: allowanceBytes,
  });
  const payingProvider = (allowanceBytes: number) =>
    h.peer({
      init: { partSize: PART },
      payment: (store: Store) => ({ terms: terms(allowanceBytes), store: new PaymentStore(store) }),
    });
  /** A consumer paying with `wallet`; `recorded` is the account the providers' signed records name. */
  const payingConsumer = (wallet: TypedDataSigner, weiPerGiB = PRICE, recorded = providerAccount) =>
    h.peer({
      payment: (store: Store, peerId: string) => {
        const payments = new PaymentStore(store);
        return {
          store: payments,
          payer: new VoucherPayer(
            { store: payments, signer: wallet, peerId, accountOf: () => recorded },
            { domain: DOMAIN, weiPerGiB },
          ),
        };
      },
    });
  const receivedBy = (p: Peer) => new PaymentStore(p.store);

  it("a consumer pays as parts are verified, every quarter of the allowance; the provider keeps the highest voucher and the receipt carries it", async () => {
    const parts = 10;
    const wallet = Wallet.createRandom();
    // The allowance covers the parts a consumer keeps in flight before its first vouchers arrive; a quarter of it is
    // two parts, so a voucher pays every two, after one that pays a part ahead.
    const provider = await payingProvider(8 * WIRE);
    const consumer = await payingConsumer(wallet);
    const published = await provider.transfer.publish(await h.file(randomData(parts * PART)), { announce: false });
    const result = await consumer.transfer.fetch(published.objectId, {
      providers: [provider.addr],
      to: join(await h.dir(), "out.bin"),
    });
    assert.equal(result.fetchedParts, parts);
    const owed = BigInt(parts) * costOf(BigInt(WIRE), PRICE);
    await waitFor(
      () => provider.transfer.providerStats.vouchersAccepted === parts / 2 + 1,
      20_000,
      "one voucher ahead and one per two verified parts reach the provider",
    );
    const held = receivedBy(provider).received(wallet.address, providerAccount);
    assert.ok(held !== undefined, "the provider holds the channel's voucher");
    assert.equal(held.cumulativeAmount, owed, "cumulative: the cost of every part carried, at the consumer's price");
    assert.equal(provider.transfer.providerStats.vouchersRejected, 0);
    const receipt = await verifyReceipt(result.receipts[0]);
    assert.deepEqual(receipt.voucher, held, "the receipt embeds the channel's highest voucher");

    // A second fetch continues the channel: the cumulative amount only grows.
    await consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to: join(await h.dir(), "b.bin") });
    await waitFor(
      () => provider.transfer.providerStats.vouchersAccepted === parts + 2,
      20_000,
      "the second fetch's vouchers arrive",
    );
    assert.equal(receivedBy(provider).received(wallet.address, providerAccount)?.cumulativeAmount, 2n * owed);
  });

  it("signs one voucher ahead, one per VOUCHER_EVERY_BYTES under a large allowance, and one for the rest at the end", async () => {
    // 100 parts: the first voucher pays one part ahead; VOUCHER_EVERY_BYTES (4 MiB) is reached at the 64th part
    // (64 · (64 KiB + 16) bytes) and pays for 63 of them, the other 36 are paid when the fetch ends — 3 signatures
    // where one per part made 100, for the same amount.
    const parts = 100;
    const wallet = Wallet.createRandom();
    const provider = await payingProvider(64 * 1024 * 1024);
    const consumer = await payingConsumer(wallet);
    const published = await provider.transfer.publish(await h.file(randomData(parts * PART)), { announce: false });
    const result = await consumer.transfer.fetch(published.objectId, {
      providers: [provider.addr],
      to: join(await h.dir(), "out.bin"),
    });
    assert.equal(result.fetchedParts, parts);
    await waitFor(
      () => provider.transfer.providerStats.vouchersAccepted === 3,
      20_000,
      "three vouchers reach the provider",
    );
    const held = receivedBy(provider).received(wallet.address, providerAccount);
    assert.equal(
      held?.cumulativeAmount,
      BigInt(parts) * costOf(BigInt(WIRE), PRICE),
      "every part paid, as if one by one",
    );
    assert.deepEqual((await verifyReceipt(result.receipts[0])).voucher, held, "the receipt carries the last one");
    assert.equal(provider.transfer.providerStats.vouchersAccepted, 3, "no more than three");
  });

  it("a consumer that does not pay is cut off once it owes more than the allowance", async () => {
    const provider = await payingProvider(3 * WIRE);
    const consumer = await h.peer();
    const published = await provider.transfer.publish(await h.file(randomData(20 * PART)), { announce: false });
    await assert.rejects(
      consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to: join(await h.dir(), "o.bin") }),
      (err: Error) => err.name === "NoProvidersError",
    );
    const stats = provider.transfer.providerStats;
    assert.equal(stats.sessionsUnpaid, 1, "the session was cut off for not paying");
    assert.equal(stats.partsServed, 4, "three parts within the allowance, the fourth served, then nothing");
    assert.equal(stats.vouchersAccepted, 0);
  });

  it("fresh peer ids share one unfunded budget: strangers that never pay take it once, a funded consumer goes on", async () => {
    // Each fresh peer id has its own allowance (3 parts + 1); all unfunded consumers together get 8 parts an hour.
    const provider = await h.peer({
      init: { partSize: PART },
      payment: (store: Store) => ({
        terms: { ...terms(3 * WIRE), unfundedBudget: { bytes: 8 * WIRE, windowMs: 3_600_000 } },
        store: new PaymentStore(store),
      }),
    });
    const stats = provider.transfer.providerStats;
    // A paying consumer first: it pays one part ahead, then the second part; at most its first part is sent before
    // a deposit read shows it funded.
    const wallet = Wallet.createRandom();
    const payer = await payingConsumer(wallet);
    const small = await provider.transfer.publish(await h.file(randomData(2 * PART)), { announce: false });
    await payer.transfer.fetch(small.objectId, { providers: [provider.addr], to: join(await h.dir(), "s.bin") });
    await waitFor(() => stats.vouchersAccepted === 2, 20_000, "the payer's vouchers reach the provider");
    const payerUnfunded = stats.unfundedBytes;
    assert.ok(payerUnfunded <= WIRE, `the payer's first part at most: ${payerUnfunded}`);

    // Four fresh peer ids that never pay, one after the other.
    const big = await provider.transfer.publish(await h.file(randomData(20 * PART)), { announce: false });
    const served: number[] = [];
    for (let i = 0; i < 4; i++) {
      const stranger = await h.peer();
      const before = stats.partsServed;
      await assert.rejects(
        stranger.transfer.fetch(big.objectId, { providers: [provider.addr], to: join(await h.dir(), `f${i}.bin`) }),
        (err: Error) => err.name === "NoProvidersError",
      );
      served.push(stats.partsServed - before);
    }
    // Without the budget each took its allowance: 4 + 4 + 4 + 4 parts. With it they share what the payer left of 8.
    const total = served.reduce((a, b) => a + b, 0);
    assert.equal(served[0], 4, "the first stranger: its own allowance");
    assert.ok(total <= 8 - Math.floor(payerUnfunded / WIRE) + 1, `strangers took ${served.join(" + ")} parts`);
    // (The bucket refills a little between strangers: the one that finds it just above zero gets one part.)
    assert.equal(served[3], 0, "the fourth stranger gets nothing: the budget is spent");
    assert.ok(stats.unfundedBudgetRefused >= 1, "counted (lumora_limit_hits_total{limit=payment.unfundedBudgetBytes})");
    assert.ok(stats.unfundedBytes <= 9 * WIRE + 64, `${stats.unfundedBytes} bytes sent unfunded in all`);

    // The funded consumer is not charged to the budget: it fetches the whole object.
    const result = await payer.transfer.fetch(big.objectId, {
      providers: [provider.addr],
      to: join(await h.dir(), "b.bin"),
    });
    assert.equal(result.fetchedParts, 20);
  });

  it("a new paying consumer is served after strangers spent the unfunded budget: its voucher ahead arrives before its first part", async () => {
    // The budget is one stranger's allowance (3 parts + 1), refilled over a year: one stranger spends it.
    const provider = await h.peer({
      init: { partSize: PART },
      payment: (store: Store) => ({
        terms: { ...terms(3 * WIRE), unfundedBudget: { bytes: 4 * WIRE, windowMs: 365 * 86_400_000 } },
        store: new PaymentStore(store),
      }),
    });
    const stats = provider.transfer.providerStats;
    const big = await provider.transfer.publish(await h.file(randomData(20 * PART)), { announce: false });
    const stranger = await h.peer();
    await assert.rejects(
      stranger.transfer.fetch(big.objectId, { providers: [provider.addr], to: join(await h.dir(), "s.bin") }),
      (err: Error) => err.name === "NoProvidersError",
    );
    assert.equal(stats.partsServed, 4, "the stranger took the budget");
    const refused = stats.unfundedBudgetRefused ?? 0;

    const newcomer = await payingConsumer(Wallet.createRandom());
    const result = await newcomer.transfer.fetch(big.objectId, {
      providers: [provider.addr],
      to: join(await h.dir(), "n.bin"),
    });
    assert.equal(result.fetchedParts, 20, "the newcomer fetched the whole object");
    assert.equal(stats.unfundedBudgetRefused ?? 0, refused, "without being refused for the spent budget");
    assert.equal(stats.unfundedBytes, 4 * WIRE, "and without drawing on it");
  });

  it("a consumer that pays less than the price is cut off after the allowance", async () => {
    const wallet = Wallet.createRandom();
    const provider = await payingProvider(8 * WIRE);
    const consumer = await payingConsumer(wallet, PRICE / 2n);
    const published = await provider.transfer.publish(await h.file(randomData(40 * PART)), { announce: false });
    await assert.rejects(
      consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to: join(await h.dir(), "o.bin") }),
      (err: Error) => err.name === "NoProvidersError",
    );
    const stats = provider.transfer.providerStats;
    assert.equal(stats.sessionsUnpaid, 1);
    // Half paid: more is served than the allowance alone (8 parts), until the unpaid half passes it (≈ 16 parts).
    assert.ok(stats.partsServed > 9 && stats.partsServed < 40, `served ${stats.partsServed} parts`);
    assert.ok(stats.vouchersAccepted > 0, "it did pay, too little");
  });

  it("the unpaid allowance is per consumer: a second session starts where the first left off", async () => {
    const provider = await payingProvider(3 * WIRE);
    const consumer = await h.peer();
    const published = await provider.transfer.publish(await h.file(randomData(20 * PART)), { announce: false });
    for (const name of ["a.bin", "b.bin"])
      await assert.rejects(
        consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to: join(await h.dir(), name) }),
        (err: Error) => err.name === "NoProvidersError",
      );
    const stats = provider.transfer.providerStats;
    assert.equal(stats.sessionsUnpaid, 2, "both sessions were cut off");
    assert.equal(stats.partsServed, 4, "the second session got nothing more: the consumer already owed the allowance");
  });

  it("a consumer refuses a Welcome naming another account than the provider's signed record", async () => {
    const wallet = Wallet.createRandom();
    const provider = await payingProvider(8 * WIRE);
    const recorded = Wallet.createRandom().address;
    const consumer = await payingConsumer(wallet, PRICE, recorded);
    const published = await provider.transfer.publish(await h.file(randomData(4 * PART)), { announce: false });
    await assert.rejects(
      consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to: join(await h.dir(), "o.bin") }),
      (err: Error & { failures?: Array<{ code: string }> }) =>
        err.name === "NoProvidersError" && err.failures?.[0]?.code === "ERR_ACCOUNT_MISMATCH",
    );
    assert.equal(new PaymentStore(consumer.store).signed(wallet.address, providerAccount), undefined, "nothing signed");
    assert.equal(provider.transfer.providerStats.vouchersAccepted, 0);
  });

  describe("a provider refuses bad vouchers", () => {
    /** A real consumer session with the paying provider, as the fetcher opens it. */
    async function session(provider: Peer, consumer: Peer, objectId: string): Promise<ProviderSession> {
      const connection = await consumer.node.dial(provider.node.getMultiaddrs()[0]);
      const s = await ProviderSession.open(connection, {
        self: consumer.id,
        objectId: objectIdFromHex(objectId),
        partTimeoutMs: 10_000,
        handshakeTimeoutMs: 10_000,
      });
      assert.equal(s.paymentAccount?.toLowerCase(), providerAccount.toLowerCase(), "the Welcome names the channel");
      return s;
    }

    async function setup() {
      const provider = await payingProvider(64 * WIRE);
      const consumer = await h.peer();
      const published = await provider.transfer.publish(await h.file(randomData(4 * PART)), { announce: false });
      return { provider, consumer, s: await session(provider, consumer, published.objectId) };
    }

    type Forge = (w: TypedDataSigner & { address: string }, peer: string) => Promise<ReturnType<typeof toWire>>;
    const forgeries: Array<[string, Forge]> = [
      [
        "signed by another key than its consumer",
        async (w, peer) => {
          const v = await signVoucher(Wallet.createRandom(), DOMAIN, providerAccount, 1000n, peer);
          return toWire({ ...v, consumer: w.address });
        },
      ],
      [
        "for another provider's channel",
        async (w, peer) => toWire(await signVoucher(w, DOMAIN, Wallet.createRandom().address, 1000n, peer)),
      ],
      [
        "for another vault",
        async (w, peer) =>
          toWire(
            await signVoucher(w, { ...DOMAIN, vault: Wallet.createRandom().address }, providerAccount, 1000n, peer),
          ),
      ],
      [
        "with its amount raised after signing",
        async (w, peer) =>
          toWire({ ...(await signVoucher(w, DOMAIN, providerAccount, 1000n, peer)), cumulativeAmount: 5000n }),
      ],
      [
        // A voucher is bound to the peer it was signed for: one copied from another consumer (say, from published
        // evidence) does not verify in this peer's session.
        "signed for another consumer peer",
        async (w) => toWire(await signVoucher(w, DOMAIN, providerAccount, 1000n, (await h.peer()).id)),
      ],
    ];
    for (const [name, forge] of forgeries) {
      it(`a voucher ${name}: rejected, nothing kept, the session ended`, async () => {
        const { provider, consumer, s } = await setup();
        const wallet = Wallet.createRandom();
        await s.sendVoucher(await forge(wallet, consumer.id));
        await assert.rejects(s.request(0), (err) => err instanceof RemoteError, "the provider ends the session");
        assert.equal(provider.transfer.providerStats.vouchersRejected, 1);
        assert.equal(receivedBy(provider).allReceived().length, 0, "no voucher kept");
      });
    }

    it("a flood of voucher frames (more than one per part sent plus the slack) ends the session", async () => {
      const { provider, consumer, s } = await setup();
      const wallet = Wallet.createRandom();
      for (let i = 1; i <= VOUCHER_FRAME_SLACK + 1; i++)
        await s.sendVoucher(toWire(await signVoucher(wallet, DOMAIN, providerAccount, BigInt(i), consumer.id)));
      await assert.rejects(
        s.request(0),
        (err: Error) => err instanceof RemoteError && /too many vouchers/.test(err.message),
        "the provider ends the session with the reason",
      );
      const stats = provider.transfer.providerStats;
      assert.equal(stats.voucherFramesRefused, 1, "counted (lumora_limit_hits_total{limit=payment.voucherFrames})");
      assert.equal(stats.vouchersAccepted, VOUCHER_FRAME_SLACK, "the frames within the slack were taken");
      assert.equal(stats.partsServed, 0);
    });

    it("a lower voucher after a higher one: ignored, the higher kept, the session goes on", async () => {
      const { provider, consumer, s } = await setup();
      const wallet = Wallet.createRandom();
      const high = await signVoucher(wallet, DOMAIN, providerAccount, 2000n, consumer.id);
      const low = await signVoucher(wallet, DOMAIN, providerAccount, 1000n, consumer.id);
      // Vouchers follow parts: one part first, so the three frames are within one per part plus the slack.
      assert.equal((await s.request(0)).wireBytes, WIRE);
      await s.sendVoucher(toWire(high));
      await s.sendVoucher(toWire(low));
      await s.sendVoucher(toWire(high));
      const part = await s.request(1);
      assert.equal(part.wireBytes, WIRE, "still served");
      await waitFor(() => provider.transfer.providerStats.vouchersRejected === 2, 20_000, "low and replay refused");
      assert.equal(provider.transfer.providerStats.vouchersAccepted, 1);
      assert.equal(receivedBy(provider).received(wallet.address, providerAccount)?.cumulativeAmount, 2000n);
      await s.close();
    });
  });
});

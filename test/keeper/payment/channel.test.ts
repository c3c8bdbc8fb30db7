/**
 * The provider's session ledger (keeper/payment/channel.ts) against strangers that keep the unfunded budget spent
 * and the deposit-read rate busy: a paying newcomer's voucher ahead still makes it funded before its first part.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { Wallet } from "ethers";

import { createLogger } from "../../../keeper/logger.ts";
import {
  CREDIT_CACHE_TTL_MS,
  CREDIT_READS_PER_SECOND,
  ConsumerDebts,
  CreditCache,
  FUNDING_WAIT_MS,
  MAX_CREDIT_ENTRIES,
  PaymentRequiredError,
  PaymentStore,
  SessionLedger,
  UnfundedBudget,
  signVoucher,
  toWire,
  type LedgerStats,
} from "../../../keeper/payment/index.ts";
import { openStore } from "../../../keeper/store/index.ts";

const domain = { chainId: 31337n, vault: Wallet.createRandom().address };
const account = Wallet.createRandom().address;
const peerOf = async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();

function provider(deposits: Map<string, bigint>) {
  const read = async (consumer: string) => {
    await new Promise((resolve) => setImmediate(resolve));
    return deposits.get(consumer) ?? 0n;
  };
  const credit = new CreditCache(read, {
    ttlMs: CREDIT_CACHE_TTL_MS,
    readsPerSecond: CREDIT_READS_PER_SECOND,
    max: MAX_CREDIT_ENTRIES,
  });
  const unfunded = new UnfundedBudget({ bytes: 1, windowMs: 3_600_000 });
  unfunded.take(1 << 20); // strangers took it
  const stats: LedgerStats = {
    vouchersAccepted: 0,
    vouchersRejected: 0,
    voucherFramesRefused: 0,
    creditReadsLimited: 0,
  };
  const components = {
    store: new PaymentStore(openStore(":memory:")),
    logger: createLogger("test", { level: "silent" }),
    stats,
    debts: new ConsumerDebts(1_000),
    credit,
    unfunded,
  };
  const terms = { account, domain, weiPerGiB: 10n ** 16n, unpaidAllowanceBytes: 16 << 20, creditOf: async () => 0n };
  return { stats, ledger: (peer: string) => new SessionLedger(terms, components, peer) };
}

describe("payment/channel session ledger", () => {
  it("serves a newcomer whose voucher ahead is funded although strangers spent the budget and the read rate", async () => {
    const honest = Wallet.createRandom();
    const p = provider(new Map([[honest.address, 10n ** 18n]]));
    // Strangers: as many first vouchers from fresh, unfunded keys as the read rate allows in a second.
    for (let i = 0; i < CREDIT_READS_PER_SECOND; i++) {
      const peer = await peerOf();
      p.ledger(peer).accept(toWire(await signVoucher(Wallet.createRandom(), domain, account, 1n, peer)));
    }
    const peer = await peerOf();
    const newcomer = p.ledger(peer);
    newcomer.accept(toWire(await signVoucher(honest, domain, account, 10n ** 12n, peer)));
    const t0 = Date.now();
    await newcomer.awaitFunding(FUNDING_WAIT_MS);
    assert.doesNotThrow(() => newcomer.check(), "the newcomer is funded before its first part");
    assert.ok(p.stats.creditReadsLimited >= 1, "its first read was refused by the rate, then asked again");
    assert.ok(Date.now() - t0 < FUNDING_WAIT_MS, "within the wait");
  });

  it("still refuses a stranger whose voucher ahead its deposit does not cover", async () => {
    const p = provider(new Map());
    const peer = await peerOf();
    const stranger = p.ledger(peer);
    stranger.accept(toWire(await signVoucher(Wallet.createRandom(), domain, account, 10n ** 12n, peer)));
    await stranger.awaitFunding(FUNDING_WAIT_MS);
    assert.throws(() => stranger.check(), PaymentRequiredError);
  });
});

/**
 * An epoch's evidence bundle (`evidence.json`, format EVIDENCE_FORMAT_V2): everything C_i and the Reputation
 * reports were computed from, signed by the parties who could not gain by lying about it —
 *
 * - `receipts`: the hash (receiptId) of every counted receipt, ascending — what adoption compares;
 * - `signed`: the same receipts in full (provider, body, signature; base64), each signed by its consumer;
 * - `records`: the signed peer record of every provider and reported node as it was at the freeze, binding
 *   the peer to its reward account (signed by the peer itself);
 * - `outcomes`: the health counts per peer the epoch froze here (successes, failures): the reports and C_i's success
 *   weight when no observations are published;
 * - `observations`, `observationRule`, `observationDomain` (when the keeper merged reports): the keepers' signed
 *   health observations of the epoch (each signed by its observer's chain key, keeper/epochs/observe), the merge
 *   rule and the deployment they are signed for — the reports and C_i's success weight are the merge of these,
 *   not one keeper's counts;
 * - `audits` and `auditRule`: the signed audit outcomes the epoch judged (each signed by its auditing keeper) and
 *   the rule by which they take a provider's credit (keeper/audit/verdict.ts; absent in files published before
 *   audits, read as none).
 * - `bonds` (only when the keeper closed under the bond rule): the bonds read before the freeze, minBond, μ and the
 *   reward offered, so the bond rule (collect/bonded.ts) is applied again on the same numbers. Absent: no gating.
 * - `payment` (only when the keeper closed under paid demand, collect/paid.ts): the price, the subsidy share, the
 *   vault (chain id, address) the vouchers are signed for, and per channel what earlier epochs counted as paid
 *   (`paidBefore`) and what this one counts up to (`paidUpTo`). The vouchers themselves are inside the signed
 *   receipts (each receipt carries its channel's latest voucher), so the receipt ids bind them too.
 *
 * `recompute` checks every signature and rebuilds the contributions and reports with the keeper's own code
 * (collect/contribution.ts), so `lumora:verify-epoch` needs nothing but the publication. The bundle's keccak256
 * (`evidenceHash`, of the file's exact bytes) is in the summary, for commitments to bind.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { getAddress, isAddress } from "ethers";

import { auditOutcomeHash, verifyAuditOutcome } from "../../audit/outcome.ts";
import { auditVerdicts, type DisqualifyRule, type JudgedAudit } from "../../audit/verdict.ts";
import { verifyPeerRecord } from "../../discovery/record.ts";
import { channelKey, type ChannelSettlement } from "../../payment/index.ts";
import { receiptId, verifyReceipt } from "../../transfer/receipt.ts";
import { applyBonds } from "../collect/bonded.ts";
import { paidChannels, paidContributions, type PaidReceipt } from "../collect/paid.ts";
import {
  computeContributions,
  reputationReports,
  type AccountContribution,
  type NodeOutcomes,
} from "../collect/contribution.ts";
import { auditDisqualified, mergeObservations, observationRule, type ObservationRule } from "../observe/merge.ts";
import {
  encodeObservation,
  observationKey,
  parseObservation,
  verifyObservation,
  type ObservationDomain,
  type SignedObservation,
} from "../observe/observation.ts";
import type { ChannelPayment, EpochBonds, EpochEvidence, PaymentRule, ReputationReport } from "../types.ts";
import { EVIDENCE_FORMAT_V2 } from "./constants.ts";

interface EvidenceJson {
  format: typeof EVIDENCE_FORMAT_V2;
  epoch: number;
  receipts: string[];
  signed: Array<{ provider: string; body: string; signature: string }>;
  records: Array<{ peerId: string; record: string }>;
  outcomes: NodeOutcomes[];
  audits?: Array<{ body: string; signature: string }>;
  auditRule?: DisqualifyRule;
  /** Decimal strings for the amounts; accounts ascending (lower case). */
  observations?: SignedObservation[];
  observationRule?: ObservationRule;
  observationDomain?: ObservationDomain;
  bonds?: {
    minBond: string;
    saturationBps: string;
    rewardOffered: string;
    accounts: Array<{ account: string; bond: string }>;
  };
  /** Decimal strings for the amounts; channels by consumer then account (checksummed). */
  payment?: {
    weiPerGiB: string;
    subsidyBps: string;
    chainId: string;
    vault: string;
    /** The settlement read's terms, ms (absent before the rule: the close read the vault at its own time). */
    settleGridMs?: number;
    settleWindowMs?: number;
    channels: Array<{ consumer: string; account: string; paidBefore: string; paidUpTo: string }>;
  };
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const positiveMs = (n: unknown, what: string): number => {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} is not a positive integer`);
  return n;
};
const amount = (s: unknown, what: string): bigint => {
  if (typeof s !== "string" || !DECIMAL.test(s)) throw new Error(`${what} is not a decimal amount`);
  return BigInt(s);
};

function encodeBonds(b: EpochBonds): NonNullable<EvidenceJson["bonds"]> {
  return {
    minBond: b.minBond.toString(),
    saturationBps: b.saturationBps.toString(),
    rewardOffered: b.rewardOffered.toString(),
    accounts: b.accounts
      .map((a) => ({ account: getAddress(a.account), bond: a.bond.toString() }))
      .sort((x, y) => (x.account.toLowerCase() < y.account.toLowerCase() ? -1 : 1)),
  };
}

function parseBonds(b: EvidenceJson["bonds"]): EpochBonds {
  if (typeof b !== "object" || b === null || !Array.isArray(b.accounts))
    throw new Error("bonds must hold minBond, saturationBps, rewardOffered and an accounts array");
  return {
    minBond: amount(b.minBond, "bonds.minBond"),
    saturationBps: amount(b.saturationBps, "bonds.saturationBps"),
    rewardOffered: amount(b.rewardOffered, "bonds.rewardOffered"),
    accounts: b.accounts.map((a, i) => ({
      account: getAddress(String(a?.account)),
      bond: amount(a?.bond, `bonds.accounts[${i}].bond`),
    })),
  };
}

function encodePayment(p: { rule: PaymentRule; channels: ChannelPayment[] }): NonNullable<EvidenceJson["payment"]> {
  return {
    weiPerGiB: p.rule.weiPerGiB.toString(),
    subsidyBps: p.rule.subsidyBps.toString(),
    chainId: p.rule.domain.chainId.toString(),
    vault: getAddress(p.rule.domain.vault),
    ...(p.rule.settle !== undefined && {
      settleGridMs: p.rule.settle.gridMs,
      settleWindowMs: p.rule.settle.windowMs,
    }),
    channels: p.channels
      .map((c) => ({
        consumer: getAddress(c.consumer),
        account: getAddress(c.account),
        paidBefore: c.paidBefore.toString(),
        paidUpTo: c.paidUpTo.toString(),
      }))
      .sort((x, y) => {
        const a = `${x.consumer}>${x.account}`;
        const b = `${y.consumer}>${y.account}`;
        return a < b ? -1 : a > b ? 1 : 0;
      }),
  };
}

function parsePayment(p: EvidenceJson["payment"]): { rule: PaymentRule; channels: ChannelPayment[] } {
  if (typeof p !== "object" || p === null || !Array.isArray(p.channels))
    throw new Error("payment must hold weiPerGiB, subsidyBps, chainId, vault and a channels array");
  return {
    rule: {
      weiPerGiB: amount(p.weiPerGiB, "payment.weiPerGiB"),
      subsidyBps: amount(p.subsidyBps, "payment.subsidyBps"),
      domain: { chainId: amount(p.chainId, "payment.chainId"), vault: getAddress(String(p.vault)) },
      ...((p.settleGridMs !== undefined || p.settleWindowMs !== undefined) && {
        settle: {
          gridMs: positiveMs(p.settleGridMs, "payment.settleGridMs"),
          windowMs: positiveMs(p.settleWindowMs, "payment.settleWindowMs"),
        },
      }),
    },
    channels: p.channels.map((c, i) => ({
      consumer: getAddress(String(c?.consumer)),
      account: getAddress(String(c?.account)),
      paidBefore: amount(c?.paidBefore, `payment.channels[${i}].paidBefore`),
      paidUpTo: amount(c?.paidUpTo, `payment.channels[${i}].paidUpTo`),
    })),
  };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const unb64 = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== "string") throw new Error(`${what} is not base64 text`);
  return new Uint8Array(Buffer.from(s, "base64"));
};

/** The file's text: receipts sorted by id, records and outcomes by peer id, so equal evidence is equal bytes. */
export function encodeEvidence(epoch: number, evidence: EpochEvidence): string {
  const signed = evidence.receipts
    .map((r) => ({ id: receiptId(r.body), r }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const json: EvidenceJson = {
    format: EVIDENCE_FORMAT_V2,
    epoch,
    receipts: signed.map((s) => s.id),
    signed: signed.map(({ r }) => ({ provider: r.provider, body: b64(r.body), signature: b64(r.signature) })),
    records: [...evidence.records]
      .sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
      .map((r) => ({ peerId: r.peerId, record: b64(r.record) })),
    outcomes: [...evidence.outcomes]
      .sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
      .map((o) => ({ peerId: o.peerId, successes: o.successes, failures: o.failures })),
    ...(evidence.audits !== undefined && {
      audits: evidence.audits
        .map((a) => ({ id: auditOutcomeHash(a.body), a }))
        .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
        .map(({ a }) => ({ body: b64(a.body), signature: b64(a.signature) })),
    }),
    ...(evidence.auditRule !== undefined && { auditRule: evidence.auditRule }),
    ...(evidence.observations !== undefined && {
      observations: [...evidence.observations]
        .sort((a, b) => {
          // An equivocation's two observations share a key: their signatures order them.
          const x = `${observationKey(a)}/${a.signature.toLowerCase()}`;
          const y = `${observationKey(b)}/${b.signature.toLowerCase()}`;
          return x < y ? -1 : x > y ? 1 : 0;
        })
        .map(encodeObservation),
    }),
    ...(evidence.observationRule !== undefined && {
      observationRule: { maxFaulty: evidence.observationRule.maxFaulty },
    }),
    ...(evidence.observationDomain !== undefined && {
      observationDomain: { chainId: evidence.observationDomain.chainId, quorum: evidence.observationDomain.quorum },
    }),
    ...(evidence.bonds !== undefined && { bonds: encodeBonds(evidence.bonds) }),
    ...(evidence.payment !== undefined && { payment: encodePayment(evidence.payment) }),
  };
  return JSON.stringify(json) + "\n";
}

/** keccak256 of the evidence file's exact bytes, 0x-hex. */
export function evidenceHash(text: string): string {
  return "0x" + bytesToHex(keccak_256(new TextEncoder().encode(text)));
}

/** Parses a v2 evidence file's JSON (shape only; `recompute` checks what it says). */
export function parseEvidence(v: unknown, epoch: number): EpochEvidence & { ids: string[] } {
  const j = v as Partial<EvidenceJson>;
  if (j?.format !== EVIDENCE_FORMAT_V2 || j.epoch !== epoch)
    throw new Error(`not a ${EVIDENCE_FORMAT_V2} file of epoch ${epoch}`);
  if (!Array.isArray(j.receipts) || !Array.isArray(j.signed) || !Array.isArray(j.records) || !Array.isArray(j.outcomes))
    throw new Error("receipts, signed, records and outcomes must be arrays");
  return {
    ids: j.receipts.map(String),
    receipts: j.signed.map((s, i) => ({
      provider: String(s?.provider),
      body: unb64(s?.body, `signed[${i}].body`),
      signature: unb64(s?.signature, `signed[${i}].signature`),
    })),
    records: j.records.map((r, i) => ({ peerId: String(r?.peerId), record: unb64(r?.record, `records[${i}].record`) })),
    outcomes: j.outcomes.map((o, i) => {
      if (!Number.isSafeInteger(o?.successes) || !Number.isSafeInteger(o?.failures))
        throw new Error(`outcomes[${i}] needs integer successes and failures`);
      return { peerId: String(o.peerId), successes: o.successes, failures: o.failures };
    }),
    ...(j.audits !== undefined && {
      audits: (Array.isArray(j.audits) ? j.audits : []).map((a, i) => ({
        body: unb64(a?.body, `audits[${i}].body`),
        signature: unb64(a?.signature, `audits[${i}].signature`),
      })),
    }),
    ...(j.auditRule !== undefined && {
      auditRule: { minFailures: Number(j.auditRule?.minFailures), failureRatio: Number(j.auditRule?.failureRatio) },
    }),
    ...(j.observations !== undefined && {
      observations: (Array.isArray(j.observations) ? j.observations : []).map((o, i) => {
        try {
          const parsed = parseObservation(o);
          if (parsed.epoch !== epoch) throw new Error(`an observation of epoch ${parsed.epoch}`);
          return parsed;
        } catch (err) {
          throw new Error(`observations[${i}]: ${(err as Error).message}`);
        }
      }),
    }),
    ...(j.observationRule !== undefined && { observationRule: { maxFaulty: Number(j.observationRule?.maxFaulty) } }),
    ...(j.observationDomain !== undefined && {
      observationDomain: { chainId: Number(j.observationDomain?.chainId), quorum: String(j.observationDomain?.quorum) },
    }),
    ...(j.bonds !== undefined && { bonds: parseBonds(j.bonds) }),
    ...(j.payment !== undefined && { payment: parsePayment(j.payment) }),
  };
}

/**
 * What the vault settled on an epoch's paid channels, from the chain (payment/settlement.ts `settledAtCommits`):
 * `before` at the previous epoch's first commitment, `settled` just before the epoch's own.
 */
export type SettledReader = (
  channels: readonly { consumer: string; account: string }[],
) => Promise<ReadonlyMap<string, ChannelSettlement>>;

/**
 * C_i from the checked receipts: under paid demand when the evidence carries its rule — every voucher's signature
 * checked (a voucher that does not count is a problem of the publication), each channel's published `paidUpTo` no
 * higher than its highest voucher, and, with `settled` (the chain), `paidBefore` equal to what the vault had settled
 * at the previous epoch's commitment and `paidUpTo` no higher than what it had settled before this epoch's — else from
 * the bytes in full.
 */
async function recomputeCredit(
  evidence: EpochEvidence,
  receipts: PaidReceipt[],
  weights: { outcomes: NodeOutcomes[]; addressOf: (peerId: string) => string | undefined },
  disqualified: ReadonlySet<string>,
  problems: string[],
  settled: SettledReader | undefined,
): Promise<AccountContribution[]> {
  const { outcomes, addressOf } = weights;
  if (evidence.payment === undefined) return computeContributions({ receipts, outcomes, addressOf, disqualified });
  const rule = evidence.payment.rule;
  const channels = paidChannels({ receipts, addressOf, disqualified, rule });
  problems.push(...channels.problems);
  const published = new Map(evidence.payment.channels.map((c) => [channelKey(c.consumer, c.account), c]));
  const asPublished = new Map(
    [...published].map(([k, c]) => [k, { before: c.paidBefore, settled: c.paidUpTo }] as const),
  );
  const paid = paidContributions(channels, { outcomes, addressOf, rule, settlement: asPublished });
  const shown = new Map(paid.channels.map((c) => [channelKey(c.consumer, c.account), c]));
  for (const [k, c] of published) {
    const s = shown.get(k);
    if (s === undefined) problems.push(`channel ${k} is published as paid but no counted receipt carries its voucher`);
    else if (s.paidUpTo !== c.paidUpTo)
      problems.push(`channel ${k} is published as paid up to ${c.paidUpTo}, its vouchers show ${s.paidUpTo}`);
  }
  for (const k of shown.keys()) if (!published.has(k)) problems.push(`channel ${k} is paid but not published`);
  let chain: ReadonlyMap<string, ChannelSettlement> | undefined;
  try {
    chain = await settled?.([...published.values()].map((c) => ({ consumer: c.consumer, account: c.account })));
  } catch (err) {
    problems.push(`paid channels not checked against the vault: ${(err as Error).message}`);
  }
  if (chain !== undefined && rule.settle !== undefined) {
    // Under the settle terms every close read the vault at the epoch's settlement block: the published amounts must
    // be exactly what that read gives (an under-credited channel is a difference too).
    const read = paidContributions(channels, { outcomes, addressOf, rule, settlement: chain });
    const exact = new Map(read.channels.map((c) => [channelKey(c.consumer, c.account), c]));
    for (const [k, c] of published) {
      const e = exact.get(k);
      if (e !== undefined && (e.paidBefore !== c.paidBefore || e.paidUpTo !== c.paidUpTo))
        problems.push(
          `channel ${k} is published as paid from ${c.paidBefore} up to ${c.paidUpTo}; the vault at the epoch's ` +
            `settlement block gives ${e.paidBefore} up to ${e.paidUpTo}`,
        );
    }
  } else if (chain !== undefined) {
    for (const [k, c] of published) {
      const onChain = chain.get(k) ?? { before: 0n, settled: 0n };
      if (c.paidBefore !== onChain.before)
        problems.push(
          `channel ${k} is published as paid before the epoch up to ${c.paidBefore}; the vault had settled ` +
            `${onChain.before} when the previous epoch was committed`,
        );
      const most = onChain.settled > c.paidBefore ? onChain.settled : c.paidBefore;
      if (c.paidUpTo > most)
        problems.push(
          `channel ${k} is published as paid up to ${c.paidUpTo}; the vault had settled only ${onChain.settled} ` +
            `before the epoch was committed (signed is not paid)`,
        );
    }
  }
  return paid.contributions;
}

/** What the evidence alone says the epoch should have committed, and every way it does not hold together. */
export interface Recomputed {
  contributions: AccountContribution[];
  /** Providers the published audits and rule take the epoch's credit from. */
  disqualified: string[];
  reports: ReputationReport[];
  /** R_total the evidence implies, when it carries the bond rule (R' of the reward offered); else unknown. */
  rewardTotal?: bigint;
  problems: string[];
}

/**
 * The reports merged from the published observations (observe/merge.ts) after every signature is checked against
 * the published deployment; an observation that does not verify is a problem and counts for nothing. Whether each
 * observer is one of the quorum's keepers is the chain's to say (`lumora:verify-epoch` reads EpochQuorum).
 */
/** The published observations whose signatures check, with their rule; undefined when the rule is missing. */
function checkedObservations(
  evidence: EpochEvidence,
  problems: string[],
): { valid: SignedObservation[]; rule: ObservationRule } | undefined {
  const { observations = [], observationRule: rule, observationDomain: domain } = evidence;
  if (rule === undefined || domain === undefined) {
    problems.push("observations published without their rule or deployment");
    return undefined;
  }
  const valid = observations.filter((o) => {
    try {
      verifyObservation(domain, o);
      return true;
    } catch (err) {
      problems.push(`observation of ${o.subject} by ${o.observer}: ${(err as Error).message}`);
      return false;
    }
  });
  try {
    return { valid, rule: observationRule(rule) };
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}

function mergedReports(
  checked: { valid: SignedObservation[]; rule: ObservationRule } | undefined,
  problems: string[],
): ReputationReport[] {
  if (checked === undefined) return [];
  try {
    // An equivocation (one observer's two outcomes of one peer, both published) is no fault of the publication:
    // the merge drops that observer for that peer, as every keeper that merged the set did (docs/epochs.md).
    return mergeObservations(checked.valid, checked.rule).reports;
  } catch (err) {
    problems.push((err as Error).message);
    return [];
  }
}

/**
 * The providers that lose the epoch's credit: under observations, those f+1 observers' audits failed
 * (observe/merge.ts `auditDisqualified`; the published outcomes are then detail); without, the published outcomes.
 */
function disqualifiedProviders(
  evidence: EpochEvidence,
  checked: { valid: SignedObservation[]; rule: ObservationRule } | undefined,
  audits: JudgedAudit[],
  problems: string[],
): Set<string> {
  const auditRule = evidence.auditRule;
  if (evidence.observations !== undefined) {
    if (checked === undefined) return new Set();
    if (auditRule === undefined) {
      if (checked.valid.some((o) => (o.auditFailures ?? 0) > 0)) problems.push("audits observed without their rule");
      return new Set();
    }
    try {
      return new Set(auditDisqualified(checked.valid, checked.rule, auditRule).map((j) => j.provider));
    } catch (err) {
      problems.push((err as Error).message);
      return new Set();
    }
  }
  if (auditRule === undefined) return new Set();
  return new Set(
    auditVerdicts(audits, auditRule)
      .filter((v) => v.disqualified)
      .map((v) => v.provider),
  );
}

/**
 * Checks every receipt (consumer's signature, id listed, provider as stored) and every peer record (the peer's
 * signature, valid at `atMs` — the epoch's end), then computes C_i and the reports exactly as the collector does,
 * the bond rule included when the evidence carries bonds. With `settled` (a verifier with the chain), each paid
 * channel's published payment is checked against what the vault settled (see recomputeCredit).
 */
export async function recompute(
  evidence: EpochEvidence & { ids?: string[] },
  atMs: number,
  options: { settled?: SettledReader } = {},
): Promise<Recomputed> {
  const problems: string[] = [];
  const accountOf = new Map<string, string>();
  for (const r of evidence.records) {
    try {
      const data = await verifyPeerRecord(undefined, r.record, { now: atMs });
      if (data.peerId !== r.peerId) problems.push(`record listed for ${r.peerId} is signed by ${data.peerId}`);
      else accountOf.set(r.peerId, getAddress(data.rewardAddress));
    } catch (err) {
      problems.push(`record of ${r.peerId}: ${(err as Error).message}`);
    }
  }
  const receipts: PaidReceipt[] = [];
  const ids = new Set<string>();
  for (const r of evidence.receipts) {
    const id = receiptId(r.body);
    ids.add(id);
    try {
      const v = await verifyReceipt(r);
      if (v.provider !== r.provider)
        problems.push(`receipt ${id} names provider ${v.provider}, listed as ${r.provider}`);
      else if (!accountOf.has(v.provider)) problems.push(`receipt ${id}: no record binds provider ${v.provider}`);
      else
        receipts.push({
          hash: id,
          provider: v.provider,
          consumer: v.consumer,
          bytes: v.bytes,
          ...(v.voucher !== undefined && { voucher: v.voucher }),
        });
    } catch (err) {
      problems.push(`receipt ${id}: ${(err as Error).message}`);
    }
  }
  if (evidence.ids !== undefined) {
    const listed = new Set(evidence.ids);
    if (listed.size !== ids.size || [...ids].some((id) => !listed.has(id)))
      problems.push("the receipt ids listed differ from the signed receipts published");
  }
  const audits: JudgedAudit[] = [];
  for (const a of evidence.audits ?? []) {
    try {
      const o = await verifyAuditOutcome(a);
      audits.push({ hash: auditOutcomeHash(a.body), provider: o.provider, outcome: o.outcome });
    } catch (err) {
      // The collector ignores such an outcome too; a published one is a problem of the publication.
      problems.push(`audit ${auditOutcomeHash(a.body)}: ${(err as Error).message}`);
    }
  }
  if (audits.length > 0 && evidence.auditRule === undefined) problems.push("audits published without their rule");
  const checked = evidence.observations === undefined ? undefined : checkedObservations(evidence, problems);
  const disqualified = disqualifiedProviders(evidence, checked, audits, problems);
  const addressOf = (peerId: string) => accountOf.get(peerId);
  // With observations, the merged reports are also C_i's success weight, per account (as the collector does).
  const merged = evidence.observations === undefined ? undefined : mergedReports(checked, problems);
  const weights =
    merged === undefined
      ? { outcomes: evidence.outcomes, addressOf }
      : {
          outcomes: merged.map((r) => ({ peerId: r.node, successes: r.successes, failures: r.failures })),
          addressOf: (id: string) => (isAddress(id) ? id : addressOf(id)),
        };
  const contributions = await recomputeCredit(evidence, receipts, weights, disqualified, problems, options.settled);
  const reports = merged ?? reputationReports(evidence.outcomes, addressOf);
  const lost = [...disqualified].sort();
  if (evidence.bonds === undefined) return { contributions, disqualified: lost, reports, problems };
  return { ...applyBonds(contributions, reports, evidence.bonds), disqualified: lost, problems };
}

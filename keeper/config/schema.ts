/**
 * The operator configuration, as one zod schema: the file, the LUMORA_* environment and the flags are merged
 * into one object and parsed here, so every error names its field. Secrets are not part of it (see secrets.ts).
 */
import { formatEther } from "ethers";
import { z } from "zod";

import { CAPABILITIES } from "../types.ts";
import {
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  DEFAULT_BANDWIDTH_BPS,
  DEFAULT_CAPACITY,
  DEFAULT_DATA_DIR,
  DEFAULT_P2P_PORT,
} from "./constants.ts";
import { cronProblem } from "./cron.ts";
import {
  DEFAULT_AUDIT_MAX_BYTES,
  DEFAULT_AUDIT_MIN_BYTES,
  DEFAULT_AUDIT_RATE_PER_HOUR,
  DEFAULT_AUDIT_TIMEOUT_MS,
  DEFAULT_DISQUALIFY_FAILURE_RATIO,
  DEFAULT_DISQUALIFY_MIN_FAILURES,
  DEFAULT_MIN_THROUGHPUT_RATIO,
} from "../audit/constants.ts";
import {
  DIRECTORY_SERVED_PER_SECOND,
  DIRECTORY_SYNC_INTERVAL_MS,
  RECORD_LOOKUP_BURST,
  RECORD_LOOKUP_MAX_QUEUE,
  RECORD_LOOKUP_RATE_PER_SECOND,
} from "../discovery/constants.ts";
import {
  DEFAULT_DEPOSIT_SHARE_BPS,
  DEFAULT_MAX_SETTLES_PER_CLOSE,
  DEFAULT_MIN_SETTLE_AMOUNT,
  DEFAULT_UNFUNDED_BUDGET_BYTES,
  DEFAULT_UNFUNDED_BUDGET_WINDOW_MS,
  DEFAULT_UNPAID_ALLOWANCE_BYTES,
  SETTLE_GRID_MS,
  SETTLE_WINDOW_MS,
} from "../payment/constants.ts";
import { RPC_MAX_SOCKETS } from "../chain/constants.ts";
import { OBSERVATION_GATHER_WAIT_MS } from "../epochs/observe/constants.ts";
import { MAX_ENTRIES_PER_RESPONSE, MAX_EXCHANGE_WINDOW_MS } from "../epochs/exchange/constants.ts";
import {
  DEFAULT_FORGET_FAILED_AFTER_MS,
  DEFAULT_INDIRECT_PROBES,
  DEFAULT_MAX_RELAYS_IN_FLIGHT,
  DEFAULT_PROBE_PERIOD_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_RELAYS_PER_SECOND,
  DEFAULT_RETRANSMIT_MULT,
  DEFAULT_SUSPICION_MAX_MULT,
  DEFAULT_SUSPICION_MULT,
  DEFAULT_SYNC_EVERY_PERIODS,
  DEFAULT_SYNCS_SERVED_PER_SECOND,
} from "../health/constants.ts";
import {
  BAN_DURATION_MS,
  CONNECTION_IDLE_TIMEOUT_MS,
  MAX_BANS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
  RESERVED_CONNECTIONS_FOR_KEEPERS,
} from "../p2p/constants.ts";
import {
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_INBOUND_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_CONNECTION,
  DEFAULT_WRITE_TIMEOUT,
} from "../transfer/constants.ts";

const multiaddr = z
  .string()
  .regex(/^(\/[^/\s]+\/[^/\s]+)+$/, { error: "must be a multiaddr such as /ip4/203.0.113.7/tcp/4001" });
const peerMultiaddr = multiaddr.regex(/\/p2p\/[1-9A-HJ-NP-Za-km-z]{40,}$/, {
  error: "must end with /p2p/<peer id> (the peer's full address)",
});
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, { error: "must be a 0x-prefixed 20-byte hex address" });
const port = z
  .number({ error: "must be a number" })
  .int({ error: "must be an integer" })
  .min(0, { error: "must be a port number 0-65535" })
  .max(65_535, { error: "must be a port number 0-65535" });
const nonNegative = z.number().min(0, { error: "must be ≥ 0" });
const positiveInt = z.number().int({ error: "must be an integer" }).min(1, { error: "must be ≥ 1" });

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;

export const configSchema = z.strictObject({
  /** Identity, database and fetched objects; relative to the config file. */
  dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
  /** Name of the chain network (deployments/<network>.json). */
  network: z
    .string()
    .regex(/^[a-z0-9-]+$/, { error: "must be lowercase letters, digits or -" })
    .default("amoy"),
  p2p: z
    .strictObject({
      listen: z
        .array(multiaddr)
        .min(1)
        .default([`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`]),
      /** Public addresses to advertise (behind NAT: the forwarded address). */
      announce: z.array(multiaddr).default([]),
      bootstrap: z.array(peerMultiaddr).default([]),
      /** Keep private/loopback addresses in the DHT (local test networks only). */
      allowPrivateAddresses: z.boolean().default(false),
    })
    .prefault({}),
  node: z.strictObject({
    capabilities: z.array(z.enum(CAPABILITIES)).min(1).default(["provider", "executor", "coordinator"]),
    /** Advertised bandwidth B_i, bytes per second. */
    bandwidthBps: z.number().positive({ error: "must be > 0 (bytes per second)" }).default(DEFAULT_BANDWIDTH_BPS),
    capacity: positiveInt.default(DEFAULT_CAPACITY),
    /** Receives this node's rewards. */
    rewardAddress: address,
  }),
  routing: z
    .strictObject({
      alpha: nonNegative.optional(),
      beta: nonNegative.optional(),
      gamma: nonNegative.optional(),
      shards: positiveInt.optional(),
      backups: z.number().int().min(0).optional(),
    })
    .prefault({}),
  tasks: z
    .strictObject({
      maxAttempts: positiveInt.optional(),
      attemptTimeoutMs: positiveInt.optional(),
      /** Admission of other coordinators' requests (defaults in keeper/execution/constants.ts, docs/security.md). */
      maxObjectBytes: positiveInt.optional(),
      maxDeadlineMs: positiveInt.optional(),
      maxTasksPerRequester: positiveInt.optional(),
      maxBytesInFlightPerRequester: positiveInt.optional(),
    })
    .prefault({}),
  /** Failure detection (SWIM, docs/PROTOCOL.md §3); each default is the keeper/health/constants.ts constant. */
  health: z
    .strictObject({
      /** Protocol period: one probe per period, whatever the network's size. */
      periodMs: positiveInt.default(DEFAULT_PROBE_PERIOD_MS),
      /** A direct probe not answered within this has failed; a ping-req gets twice this. */
      probeTimeoutMs: positiveInt.default(DEFAULT_PROBE_TIMEOUT_MS),
      /** Members asked to probe a silent target (k); 0 suspects on the first silent probe. */
      indirectProbes: z.number().int().min(0, { error: "must be ≥ 0" }).default(DEFAULT_INDIRECT_PROBES),
      /** Suspicion timeout S = suspicionMult · max(1, log10 N) · periodMs: the shortest a suspicion lasts. */
      suspicionMult: z.number().positive({ error: "must be > 0" }).default(DEFAULT_SUSPICION_MULT),
      /** A suspicion no other member confirms lasts suspicionMaxMult · S, falling to S as suspicionMult − 2
       * members confirm it (Lifeguard); 1: always S. */
      suspicionMaxMult: z.number().min(1, { error: "must be ≥ 1" }).default(DEFAULT_SUSPICION_MAX_MULT),
      /** Each membership update rides on retransmitMult · ⌈log10(N + 1)⌉ messages. */
      retransmitMult: positiveInt.default(DEFAULT_RETRANSMIT_MULT),
      /** Probes relayed for other members' ping-reqs: at once, and per second. */
      maxRelaysInFlight: positiveInt.default(DEFAULT_MAX_RELAYS_IN_FLIGHT),
      relaysPerSecond: z.number().positive({ error: "must be > 0" }).default(DEFAULT_RELAYS_PER_SECOND),
      /** One state sync (push-pull) every this many periods, alternately with a failed and a live member. */
      syncEveryPeriods: positiveInt.default(DEFAULT_SYNC_EVERY_PERIODS),
      /** State syncs served per second for all members together (beyond: answered as plain probes). */
      syncsServedPerSecond: z.number().positive({ error: "must be > 0" }).default(DEFAULT_SYNCS_SERVED_PER_SECOND),
      /** A member held failed this long leaves the view (bounded memory); routing may watch it again. */
      forgetFailedAfterMs: positiveInt.default(DEFAULT_FORGET_FAILED_AFTER_MS),
    })
    .prefault({}),
  /** The directory exchange (docs/PROTOCOL.md §4a); each default is the keeper/discovery/constants.ts constant. */
  directory: z
    .strictObject({
      /** One push-pull sync with a random connected keeper this often (jittered ±25%); 0 turns it off. */
      syncIntervalMs: z.number().int().min(0, { error: "must be ≥ 0" }).default(DIRECTORY_SYNC_INTERVAL_MS),
      /** Exchanges served per second, whoever asks (beyond: the stream is reset and counted). */
      servedPerSecond: z.number().positive({ error: "must be > 0" }).default(DIRECTORY_SERVED_PER_SECOND),
    })
    .prefault({}),
  api: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default(DEFAULT_API_HOST),
      port: port.default(DEFAULT_API_PORT),
      /** Host names the API answers to besides api.host and localhost/127.0.0.1/[::1] (DNS rebinding defence). */
      allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.:-]+$/, { error: "must be a host name or IP" })).default([]),
      /** Directories POST /api/publish (`lumora-keeper publish`) may read files from; none: publishing is refused.
       * Never the data directory, whatever is listed. Relative to the config file. */
      publishDirs: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default("info"),
      /** auto: pretty on a terminal, JSON otherwise. */
      format: z.enum(LOG_FORMATS).default("auto"),
    })
    .prefault({}),
  chain: z
    .strictObject({
      rpcUrl: z.url({ protocol: /^(https?|wss?)$/, error: "must be an http(s) or ws(s) URL" }).optional(),
      /** Encrypted JSON keystore of the keeper's chain key (password in LUMORA_KEYSTORE_PASSWORD). */
      keystore: z.string().min(1).optional(),
      /** deployments/<network>.json with the contract addresses. */
      deployment: z.string().min(1).optional(),
      /**
       * Start over against a new deployment (or a reset chain): earlier epochs are archived, never committed
       * again, and numbering follows the new contracts. Without it a keeper refuses a deployment other than the
       * one its data dir was used with, and waits (with an alarm) on a chain that lost its epochs.
       */
      newDeployment: z.boolean().default(false),
      /** Sockets open at once to the RPC node (keep-alive; further requests wait for one). */
      rpcMaxSockets: positiveInt.default(RPC_MAX_SOCKETS),
    })
    .prefault({}),
  epochs: z
    .strictObject({
      /** Where epochs are published (epoch.json, rewards.json, tasks.json) and read from for /proofs. */
      dir: z.string().min(1).optional(),
      /** Cron expression of epoch closes (6 fields for seconds; grammar in cron.ts); default hourly. */
      cron: z
        .string()
        .check((ctx) => {
          const problem = cronProblem(ctx.value);
          if (problem !== undefined) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
        })
        .default("0 0 * * * *"),
      /** R_total per epoch in LUM (decimal), capped by the pool's unreserved balance. */
      rewardPerEpoch: z
        .string()
        .regex(/^\d+(\.\d{1,18})?$/, { error: 'must be a decimal amount of LUM, e.g. "1000" or "12.5"' })
        .default("1000"),
      /** Addresses of the network's keepers: submission rotates among those holding KEEPER_ROLE. */
      keepers: z.array(address).default([]),
      /** Minutes a backup keeper waits per rank before it takes a silent submitter's epoch over. */
      takeoverMinutes: z.number({ error: "must be a number" }).positive({ error: "must be > 0" }).default(10),
      /**
       * f of the observation merge rule: lying observers a merged report withstands (docs/epochs.md). Absent: derived
       * from the quorum's size n (0 for one keeper, else max(1, ⌊(n−1)/3⌋)).
       */
      observationMaxFaulty: z
        .number({ error: "must be a number" })
        .int({ error: "must be an integer" })
        .min(0, { error: "must be within [0, 64]" })
        .max(64, { error: "must be within [0, 64]" })
        .optional(),
      /** How long a close waits for the other keepers' observations of the epoch it froze (ms). */
      observationWaitMs: positiveInt.default(OBSERVATION_GATHER_WAIT_MS),
    })
    .prefault({}),
  /** Audits of providers (keeper/audit; docs/security.md "Bytes are measured"; defaults in audit/constants.ts). */
  audit: z
    .strictObject({
      /** Mean audits per hour this keeper starts, at random (exponential) times; 0 turns audits off. */
      ratePerHour: nonNegative.default(DEFAULT_AUDIT_RATE_PER_HOUR),
      /** Longest one audit may take before it fails as too slow (ms). */
      timeoutMs: positiveInt.default(DEFAULT_AUDIT_TIMEOUT_MS),
      /** Bytes an audit reads, drawn uniformly in [minBytes, maxBytes] (capped by the object's size). */
      minBytes: positiveInt.default(DEFAULT_AUDIT_MIN_BYTES),
      maxBytes: positiveInt.default(DEFAULT_AUDIT_MAX_BYTES),
      /** An audit whose throughput is below this share of the provider's announced B_i fails as `slow`. */
      minThroughputRatio: nonNegative.default(DEFAULT_MIN_THROUGHPUT_RATIO),
      /** A provider loses an epoch's credit with at least this many failed audits in it… */
      disqualifyMinFailures: positiveInt.default(DEFAULT_DISQUALIFY_MIN_FAILURES),
      /** …making up at least this share of its audits in the epoch. */
      disqualifyFailureRatio: z
        .number()
        .min(0, { error: "must be within [0, 1]" })
        .max(1, { error: "must be within [0, 1]" })
        .default(DEFAULT_DISQUALIFY_FAILURE_RATIO),
    })
    .check((ctx) => {
      if (ctx.value.minBytes > ctx.value.maxBytes)
        ctx.issues.push({
          code: "custom",
          message: "minBytes must be ≤ maxBytes",
          input: ctx.value,
          path: ["minBytes"],
        });
    })
    .prefault({}),
  /**
   * Paid demand (docs/transfer.md "Paying as data arrives", docs/security.md "Paid demand"), with the deployment's
   * CreditVault: the provider asks for vouchers and cuts off consumers that stop paying, the node pays as it fetches
   * (with the consumer key in LUMORA_CONSUMER_KEY), epochs credit bytes only as far as paid.
   */
  payment: z
    .strictObject({
      /**
       * On by default: credit counts only what CreditVault settled, vouchers are bound to their consumer peer, and a
       * stranger's cost is bounded (docs/security.md "Paid demand"). Used only with a deployment that has a vault.
       */
      enabled: z.boolean({ error: "must be true or false" }).default(true),
      /** Price consumers pay per GiB carried, in LUM (decimal); every keeper of a network uses the same. */
      lumPerGib: z
        .string()
        .regex(/^\d+(\.\d{1,18})?$/, { error: 'must be a decimal amount of LUM, e.g. "0.01"' })
        .default("0.01"),
      /** Unpaid bytes credited, at most this share of the paid ones (basis points). */
      subsidyBps: z.number().int({ error: "must be an integer" }).min(0).max(10_000).default(500),
      /** Bytes sent unpaid before a consumer is cut off. */
      unpaidAllowanceBytes: positiveInt.default(DEFAULT_UNPAID_ALLOWANCE_BYTES),
      /**
       * Bytes sent to consumers without a funded voucher, all of them together, per `unfundedBudgetWindowMs`: fresh
       * peer ids each get an allowance, this bounds what they take in all.
       */
      unfundedBudgetBytes: positiveInt.default(DEFAULT_UNFUNDED_BUDGET_BYTES),
      unfundedBudgetWindowMs: positiveInt.default(DEFAULT_UNFUNDED_BUDGET_WINDOW_MS),
      /** Read a consumer's deposit on chain when its voucher goes above the last read. */
      checkDeposits: z.boolean({ error: "must be true or false" }).default(true),
      /**
       * The share of a consumer's unspent deposit this provider serves it against (basis points): its unsettled
       * vouchers may not go above it, since the same deposit backs the consumer's vouchers to every provider.
       */
      depositShareBps: z
        .number()
        .int({ error: "must be an integer" })
        .min(1)
        .max(10_000)
        .default(DEFAULT_DEPOSIT_SHARE_BPS),
      /**
       * When closes read what the vault settled (docs/epochs.md "Paid demand"): at the epoch's end floored to
       * `settleGridMs`, plus `settleWindowMs` for the epoch's settlements to land. Every keeper of a network uses the
       * same (they are published with each epoch's evidence); a window well under the epoch's length.
       */
      settleGridMs: positiveInt.default(SETTLE_GRID_MS),
      settleWindowMs: positiveInt.default(SETTLE_WINDOW_MS),
      /**
       * The least a close settles on one channel, in LUM (decimal): below it the closing keeper spends no gas on the
       * channel (docs/epochs.md "Paid demand", settlement gas).
       */
      minSettleLum: z
        .string()
        .regex(/^\d+(\.\d{1,18})?$/, { error: 'must be a decimal amount of LUM, e.g. "0.001"' })
        .default(formatEther(DEFAULT_MIN_SETTLE_AMOUNT)),
      /** The most `settle` transactions one close sends (the channels that take most first). */
      maxSettlesPerClose: positiveInt.default(DEFAULT_MAX_SETTLES_PER_CLOSE),
    })
    .prefault({}),
  /** Caps against hostile peers. Each default is the module constant named in LIMIT_DEFAULTS (its comment says
   * why); each cap, when hit, counts in /metrics as lumora_limit_hits_total{limit="<section>.<field>"}. */
  limits: z
    .strictObject({
      connections: z
        .strictObject({
          max: positiveInt.default(MAX_CONNECTIONS),
          perIp: positiveInt.default(MAX_CONNECTIONS_PER_IP),
          reservedForKeepers: z.number().int().min(0).default(RESERVED_CONNECTIONS_FOR_KEEPERS),
          idleTimeoutMs: positiveInt.default(CONNECTION_IDLE_TIMEOUT_MS),
        })
        .prefault({}),
      transfer: z
        .strictObject({
          maxSessions: positiveInt.default(DEFAULT_MAX_INBOUND_SESSIONS),
          maxSessionsPerConnection: positiveInt.default(DEFAULT_MAX_SESSIONS_PER_CONNECTION),
          writeTimeoutMs: positiveInt.default(DEFAULT_WRITE_TIMEOUT),
          idleTimeoutMs: positiveInt.default(DEFAULT_IDLE_TIMEOUT),
        })
        .prefault({}),
      bans: z
        .strictObject({
          max: positiveInt.default(MAX_BANS),
          durationMs: positiveInt.default(BAN_DURATION_MS),
        })
        .prefault({}),
      recordLookups: z
        .strictObject({
          perSecond: z.number().positive({ error: "must be > 0" }).default(RECORD_LOOKUP_RATE_PER_SECOND),
          burst: positiveInt.default(RECORD_LOOKUP_BURST),
          maxQueue: positiveInt.default(RECORD_LOOKUP_MAX_QUEUE),
        })
        .prefault({}),
      exchange: z
        .strictObject({
          maxWindowMs: positiveInt.default(MAX_EXCHANGE_WINDOW_MS),
          maxEntriesPerResponse: positiveInt.default(MAX_ENTRIES_PER_RESPONSE),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type OperatorConfig = z.output<typeof configSchema>;

/** Leaves of `limits`, each with its default (the module constant) — what /metrics counts when one is hit. */
export const LIMIT_DEFAULTS = {
  "connections.max": MAX_CONNECTIONS,
  "connections.perIp": MAX_CONNECTIONS_PER_IP,
  "connections.reservedForKeepers": RESERVED_CONNECTIONS_FOR_KEEPERS,
  "connections.idleTimeoutMs": CONNECTION_IDLE_TIMEOUT_MS,
  "transfer.maxSessions": DEFAULT_MAX_INBOUND_SESSIONS,
  "transfer.maxSessionsPerConnection": DEFAULT_MAX_SESSIONS_PER_CONNECTION,
  "transfer.writeTimeoutMs": DEFAULT_WRITE_TIMEOUT,
  "transfer.idleTimeoutMs": DEFAULT_IDLE_TIMEOUT,
  "bans.max": MAX_BANS,
  "bans.durationMs": BAN_DURATION_MS,
  "recordLookups.perSecond": RECORD_LOOKUP_RATE_PER_SECOND,
  "recordLookups.burst": RECORD_LOOKUP_BURST,
  "recordLookups.maxQueue": RECORD_LOOKUP_MAX_QUEUE,
  "exchange.maxWindowMs": MAX_EXCHANGE_WINDOW_MS,
  "exchange.maxEntriesPerResponse": MAX_ENTRIES_PER_RESPONSE,
} as const;

/** Leaves that the environment and flags may set, and how their text is read. */
export type LeafKind = "string" | "number" | "boolean" | "list";
export const LEAVES: Record<string, LeafKind> = {
  dataDir: "string",
  network: "string",
  "p2p.listen": "list",
  "p2p.announce": "list",
  "p2p.bootstrap": "list",
  "p2p.allowPrivateAddresses": "boolean",
  "node.capabilities": "list",
  "node.bandwidthBps": "number",
  "node.capacity": "number",
  "node.rewardAddress": "string",
  "routing.alpha": "number",
  "routing.beta": "number",
  "routing.gamma": "number",
  "routing.shards": "number",
  "routing.backups": "number",
  "tasks.maxAttempts": "number",
  "tasks.attemptTimeoutMs": "number",
  "tasks.maxObjectBytes": "number",
  "tasks.maxDeadlineMs": "number",
  "tasks.maxTasksPerRequester": "number",
  "tasks.maxBytesInFlightPerRequester": "number",
  "health.periodMs": "number",
  "health.probeTimeoutMs": "number",
  "health.indirectProbes": "number",
  "health.suspicionMult": "number",
  "health.suspicionMaxMult": "number",
  "health.retransmitMult": "number",
  "health.maxRelaysInFlight": "number",
  "health.relaysPerSecond": "number",
  "health.syncEveryPeriods": "number",
  "health.syncsServedPerSecond": "number",
  "health.forgetFailedAfterMs": "number",
  "directory.syncIntervalMs": "number",
  "directory.servedPerSecond": "number",
  "api.enabled": "boolean",
  "api.host": "string",
  "api.port": "number",
  "api.allowedHosts": "list",
  "api.publishDirs": "list",
  "log.level": "string",
  "log.format": "string",
  "chain.rpcUrl": "string",
  "chain.keystore": "string",
  "chain.deployment": "string",
  "chain.newDeployment": "boolean",
  "chain.rpcMaxSockets": "number",
  "epochs.dir": "string",
  "epochs.cron": "string",
  "epochs.rewardPerEpoch": "string",
  "epochs.keepers": "list",
  "epochs.takeoverMinutes": "number",
  "epochs.observationMaxFaulty": "number",
  "epochs.observationWaitMs": "number",
  "payment.enabled": "boolean",
  "payment.lumPerGib": "string",
  "payment.subsidyBps": "number",
  "payment.unpaidAllowanceBytes": "number",
  "payment.unfundedBudgetBytes": "number",
  "payment.unfundedBudgetWindowMs": "number",
  "payment.checkDeposits": "boolean",
  "payment.depositShareBps": "number",
  "payment.settleGridMs": "number",
  "payment.settleWindowMs": "number",
  "payment.minSettleLum": "string",
  "payment.maxSettlesPerClose": "number",
  "audit.ratePerHour": "number",
  "audit.timeoutMs": "number",
  "audit.minBytes": "number",
  "audit.maxBytes": "number",
  "audit.minThroughputRatio": "number",
  "audit.disqualifyMinFailures": "number",
  "audit.disqualifyFailureRatio": "number",
  ...Object.fromEntries(Object.keys(LIMIT_DEFAULTS).map((k) => [`limits.${k}`, "number" as const])),
};

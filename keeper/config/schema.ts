/**
 * The operator configuration, as one zod schema: the file, the LUMORA_* environment and the flags are merged
 * into one object and parsed here, so every error names its field. Secrets are not part of it (see secrets.ts).
 */
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
  api: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default(DEFAULT_API_HOST),
      port: port.default(DEFAULT_API_PORT),
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
    })
    .prefault({}),
});

export type OperatorConfig = z.output<typeof configSchema>;

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
  "api.enabled": "boolean",
  "api.host": "string",
  "api.port": "number",
  "log.level": "string",
  "log.format": "string",
  "chain.rpcUrl": "string",
  "chain.keystore": "string",
  "chain.deployment": "string",
  "chain.newDeployment": "boolean",
  "epochs.dir": "string",
  "epochs.cron": "string",
  "epochs.rewardPerEpoch": "string",
  "epochs.keepers": "list",
  "epochs.takeoverMinutes": "number",
};

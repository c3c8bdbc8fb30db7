/**
 * The commented config file `lumora-keeper init` writes. No secret ever goes in it: the chain key comes from
 * LUMORA_CHAIN_KEY or an encrypted keystore (chain.keystore + LUMORA_KEYSTORE_PASSWORD).
 */
import {
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  DEFAULT_BANDWIDTH_BPS,
  DEFAULT_CAPACITY,
  DEFAULT_DATA_DIR,
  DEFAULT_P2P_PORT,
} from "./constants.ts";

export interface TemplateInit {
  rewardAddress: string;
  network?: string;
  dataDir?: string;
  p2pPort?: number;
  apiPort?: number;
  /** Encrypted keystore path written by `init --keystore`. */
  keystore?: string;
}

export function configTemplate(init: TemplateInit): string {
  const network = init.network ?? "amoy";
  const p2pPort = init.p2pPort ?? DEFAULT_P2P_PORT;
  return `// Lumora keeper configuration (JSON with comments).
// Every field can be overridden by an environment variable (LUMORA_<FIELD>, e.g. LUMORA_API_PORT=9465,
// lists comma-separated) or by a flag of \`lumora-keeper start\` (--api-port 9465). Flags win over the
// environment, the environment over this file. Relative paths are relative to this file.
// Secrets never go here: the chain key comes from LUMORA_CHAIN_KEY or from an encrypted keystore
// (chain.keystore below, password in LUMORA_KEYSTORE_PASSWORD).
{
  // Identity (identity.key, mode 0600), database and fetched objects.
  "dataDir": ${JSON.stringify(init.dataDir ?? DEFAULT_DATA_DIR)},
  // Chain network: the keeper reads deployments/<network>.json for contract addresses.
  "network": ${JSON.stringify(network)},

  "p2p": {
    // TCP listen addresses. Forward this port on your router when behind NAT.
    "listen": ["/ip4/0.0.0.0/tcp/${p2pPort}"],
    // Addresses other keepers should dial, when they differ from what this host sees (NAT, port forward):
    // e.g. ["/ip4/203.0.113.7/tcp/${p2pPort}"] or ["/dns4/keeper.example.org/tcp/${p2pPort}"].
    "announce": [],
    // Known keepers to join through: full multiaddrs ending in /p2p/<peer id>.
    "bootstrap": [],
    // Keep private/loopback addresses in the DHT: only for local test networks.
    "allowPrivateAddresses": false
  },

  "node": {
    // What this node offers: any of provider, executor, consumer, coordinator.
    "capabilities": ["provider", "executor", "coordinator"],
    // Advertised bandwidth B_i in bytes per second (measure yours; overstating it costs reputation).
    "bandwidthBps": ${DEFAULT_BANDWIDTH_BPS},
    // Tasks executed here at once.
    "capacity": ${DEFAULT_CAPACITY},
    // Receives this node's rewards (a plain address, not a key).
    "rewardAddress": ${JSON.stringify(init.rewardAddress)}
  },

  // Score = alpha·B/Bmax + beta/P + gamma/L; shards and backups per task. Omitted fields use the defaults.
  "routing": {},
  // maxAttempts per task, attemptTimeoutMs per attempt.
  "tasks": {},
  // Failure detection (SWIM): periodMs, probeTimeoutMs, indirectProbes, suspicionMult, suspicionMaxMult,
  // retransmitMult, maxRelaysInFlight, relaysPerSecond, syncEveryPeriods, syncsServedPerSecond,
  // forgetFailedAfterMs; defaults in docs/operator.md
  // ("Failure detection").
  "health": {},

  // HTTP API: dashboard (/), JSON (/api/*), Prometheus (/metrics), proofs (/proofs/<epoch>/<account>).
  // Loopback by default; expose it only behind a reverse proxy you control (and list its name in allowedHosts).
  // publishDirs: the only directories \`lumora-keeper publish\` may read from (none: publishing is refused).
  "api": {
    "enabled": true,
    "host": ${JSON.stringify(DEFAULT_API_HOST)},
    "port": ${init.apiPort ?? DEFAULT_API_PORT},
    "allowedHosts": [],
    "publishDirs": []
  },

  // Caps against hostile peers (connections, transfer sessions, bans, record lookups, epoch exchange); every
  // field has a default (docs/operator.md, "Limits") and counts in lumora_limit_hits_total when hit.
  "limits": {},

  // Paid demand: consumers pay cumulative CreditVault vouchers as data arrives, providers cut off those that stop
  // paying, epochs credit bytes only as far as the vault settled them (docs/transfer.md). On by default; the consumer
  // key signing this node's vouchers comes from LUMORA_CONSUMER_KEY, never from this file.
  "payment": { "enabled": true },

  // Audits of providers at random times, as an ordinary customer fetch; failures cost a provider its epoch's
  // credit (docs/operator.md, "Audits"). Omitted fields use the defaults; ratePerHour 0 turns audits off.
  "audit": {},

  // level: debug | info | warn | error | silent; format: auto (pretty on a terminal) | json | pretty.
  "log": { "level": "info", "format": "auto" },

  "chain": {
    // JSON-RPC endpoint, e.g. an Amoy provider URL.
    // "rpcUrl": "https://rpc-amoy.polygon.technology",
    // Encrypted keystore of the keeper's chain key (create one with \`lumora-keeper init --keystore\`).
    ${init.keystore === undefined ? '// "keystore": "./keeper.keystore.json",' : `"keystore": ${JSON.stringify(init.keystore)},`}
    // "deployment": "../deployments/${network}.json"
    // "rpcMaxSockets": 8
  },

  // Epochs: closes on a node-cron schedule, publication (served at /proofs), and submission when this keeper
  // has a chain key holding KEEPER_ROLE.
  "epochs": {
    // "dir": "./epochs",
    "cron": "0 0 * * * *",
    "rewardPerEpoch": "1000",
    // Keepers holding KEEPER_ROLE: submission rotates among them (epoch % n).
    "keepers": []
    // Signed health observations: f of the merge rule (default: from the quorum's size n, 0 for one keeper, else
    // max(1, floor((n-1)/3))), and how long a close waits for the other keepers'.
    // "observationMaxFaulty": 1, "observationWaitMs": 30000
  }
}
`;
}

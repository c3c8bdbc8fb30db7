/**
 * Tunables of epoch publication and proof serving, each once, with its unit and the reason for its default.
 */

/** Published proof files live under `deployments/<network>/epochs/<epoch>/` by default. */
export const DEFAULT_PROOFS_ROOT = "deployments";

/** File names inside an epoch's publication directory. */
export const EPOCH_SUMMARY_FILE = "epoch.json";
export const REWARDS_DUMP_FILE = "rewards.json";
export const TASKS_DUMP_FILE = "tasks.json";
/** The receipt hashes an epoch counted (format EVIDENCE_FORMAT), beside its dumps. */
export const EVIDENCE_FILE = "evidence.json";
export const EVIDENCE_FORMAT = "lumora-evidence-v1";
/** The full evidence format: signed receipts, signed peer records and health outcomes beside the hashes. */
export const EVIDENCE_FORMAT_V2 = "lumora-evidence-v2";

/** Format tag of `epoch.json`, bumped on incompatible changes. */
export const EPOCH_SUMMARY_FORMAT = "lumora-epoch-v1";

/** libp2p protocol serving reward proofs from a keeper's published epochs. */
export const PROOFS_PROTOCOL = "/lumora/proofs/1.0.0";

/** Largest proofs request frame: `{"epoch":…,"account":"0x…"}` is under 100 bytes. */
export const MAX_PROOFS_REQUEST_BYTES = 1024;

/** Largest proofs response frame: a proof of a 2^32-leaf tree is ~2.3 KB, but a summary lists one Reputation
 * report per node (~100 bytes each), so 1 MiB covers ~10,000 nodes while bounding what a peer makes us buffer. */
export const MAX_PROOFS_RESPONSE_BYTES = 1024 * 1024;

/** Time allowed for one proof round trip over libp2p (ms): a loopback answer takes a few ms, a WAN one < 1 s. */
export const PROOFS_TIMEOUT_MS = 10_000;

/** Concurrent inbound proof streams per connection: proof lookups are small and a claimant asks for a few. */
export const PROOFS_MAX_INBOUND_STREAMS = 32;
export const PROOFS_MAX_OUTBOUND_STREAMS = 32;

/** Published epochs kept parsed in memory by a proof source (each holds its reward tree's values). */
export const PROOF_CACHE_EPOCHS = 16;

/**
 * Prometheus text exposition (format 0.0.4), hand-written: a handful of gauges and counters read from the
 * same snapshot as the dashboard. Names follow Prometheus conventions: `lumora_` prefix, base units, `_total`
 * for counters.
 */
import type { DirectoryExchangeStats } from "../discovery/exchange.ts";
import type { HealthMetrics } from "../health/health.ts";
import type { StatusView } from "./snapshot.ts";
import { TASK_STATES } from "./snapshot.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Sample = [labels: Record<string, string>, value: number];

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`,
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

class Exposition {
  private lines: string[] = [];
  metric(name: string, type: "gauge" | "counter", help: string, samples: Sample[] | number): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const list: Sample[] = typeof samples === "number" ? [[{}, samples]] : samples;
    for (const [labels, value] of list)
      this.lines.push(`${name}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }
  toString(): string {
    return this.lines.join("\n") + "\n";
  }
}

/**
 * Where each failure-detection counter goes: its family and label. Typed over every counter of HealthMetrics, so
 * a counter added there and not exported here does not compile (awareness, a gauge, has its own family).
 */
const HEALTH_COUNTERS: Record<Exclude<keyof HealthMetrics, "awareness">, [family: string, label: string]> = {
  probes: ["messages", "probe"],
  pingReqs: ["messages", "ping_req"],
  relays: ["messages", "relay"],
  acks: ["messages", "ack"],
  strangerAcks: ["messages", "stranger_ack"],
  suspicions: ["events", "suspected"],
  failuresDeclared: ["events", "failed_declared"],
  failuresLearned: ["events", "failed_learned"],
  refutations: ["events", "refuted"],
  forgotten: ["events", "forgotten"],
  rounds: ["checks", "round"],
  outOfTurnChecks: ["checks", "out_of_turn"],
  relaysRefused: ["refused", "relay"],
  strangerPingReqs: ["refused", "stranger_ping_req"],
  syncsToFailed: ["syncs", "to_failed"],
  syncsToAlive: ["syncs", "to_alive"],
  syncsAnswered: ["syncs", "answered"],
  syncsServed: ["syncs", "served"],
  syncsRefused: ["syncs", "refused"],
  syncEntriesRefused: ["syncs", "entry_refused"],
  hearsayRefused: ["refused", "hearsay_alive"],
};

function healthSamples(h: HealthMetrics, family: string): Sample[] {
  const key = { messages: "kind", events: "event", checks: "kind", refused: "kind", syncs: "kind" }[family]!;
  return Object.entries(HEALTH_COUNTERS)
    .filter(([, [f]]) => f === family)
    .map(([field, [, label]]): Sample => [{ [key]: label }, h[field as keyof HealthMetrics]]);
}

/** Where each directory exchange counter goes: its family and label (typed over every counter, as above). */
const DIRECTORY_COUNTERS: Record<keyof DirectoryExchangeStats, [family: "exchanges" | "records", label: string]> = {
  started: ["exchanges", "started"],
  completed: ["exchanges", "completed"],
  failed: ["exchanges", "failed"],
  served: ["exchanges", "served"],
  refused: ["exchanges", "refused"],
  queueDropped: ["exchanges", "queue_dropped"],
  received: ["records", "received"],
  verified: ["records", "verified"],
  accepted: ["records", "accepted"],
  skipped: ["records", "skipped"],
  unverified: ["records", "unverified"],
  invalid: ["records", "invalid"],
  rejected: ["records", "rejected"],
  droppedOverCap: ["records", "dropped_over_cap"],
};

function directorySamples(d: DirectoryExchangeStats | undefined, family: "exchanges" | "records"): Sample[] {
  const key = family === "exchanges" ? "kind" : "outcome";
  return Object.entries(DIRECTORY_COUNTERS)
    .filter(([, [f]]) => f === family)
    .map(([field, [, label]]): Sample => [{ [key]: label }, d?.[field as keyof DirectoryExchangeStats] ?? 0]);
}

export function renderMetrics(s: StatusView): string {
  return new Exposition()
    .metric("lumora_peers", "gauge", "Keepers known through signed discovery records.", s.peers.length)
    .metric("lumora_peers_connected", "gauge", "Open libp2p connections.", s.connections)
    .metric(
      "lumora_peers_flagged",
      "gauge",
      "Known keepers flagged by Reputation.",
      s.peers.filter((p) => p.flagged).length,
    )
    .metric("lumora_dht_routing_table_size", "gauge", "Peers in the Kademlia routing table.", s.dht.routingTableSize)
    .metric(
      "lumora_tasks",
      "gauge",
      "Tasks coordinated by this keeper, by state.",
      TASK_STATES.map((state) => [{ state }, s.tasks.byState[state]] as Sample),
    )
    .metric("lumora_tasks_in_flight", "gauge", "Attempts running now.", s.tasks.inFlight)
    .metric(
      "lumora_task_reassignments_total",
      "counter",
      "Attempts after a task's first (reassignments).",
      s.tasks.reassignments,
    )
    .metric(
      "lumora_transfer_bytes_served_total",
      "counter",
      "Plaintext bytes served to consumers as a provider.",
      s.transfers.bytesServed,
    )
    .metric(
      "lumora_transfer_bytes_fetched_total",
      "counter",
      "Verified bytes fetched from providers.",
      s.transfers.bytesFetched,
    )
    .metric("lumora_transfer_parts_served_total", "counter", "Parts served as a provider.", s.transfers.partsServed)
    .metric(
      "lumora_transfer_throughput_bytes_per_second",
      "gauge",
      "Bytes served + fetched per second, recent average.",
      s.transfers.throughputBps,
    )
    .metric("lumora_epoch_current", "gauge", "Epoch stamped on counters and receipts.", s.epoch)
    .metric(
      "lumora_epoch_submissions_total",
      "counter",
      "Epochs submitted on chain (0 until the submitter is wired).",
      s.counters.epochSubmissions ?? 0,
    )
    .metric(
      "lumora_epoch_submission_failures_total",
      "counter",
      "Failed epoch submissions.",
      s.counters.epochSubmissionFailures ?? 0,
    )
    .metric(
      "lumora_task_requests_refused_total",
      "counter",
      "Task requests this executor refused, by admission code (NOT_REGISTERED, PROVIDER_UNKNOWN, quotas).",
      Object.entries(s.refusals ?? {}).map(([code, n]): Sample => [{ code }, n]),
    )
    .metric(
      "lumora_audits_total",
      "counter",
      "Provider audits this keeper ran since start, by outcome (pass, corrupt, refused, slow, unreachable).",
      Object.entries(s.audits ?? {}).map(([outcome, n]): Sample => [{ outcome }, n]),
    )
    .metric(
      "lumora_epoch_ticks_skipped_total",
      "counter",
      "Scheduled epoch closes skipped because the previous close was still running.",
      s.counters.epochTicksSkipped ?? 0,
    )
    .metric(
      "lumora_epochs_waiting",
      "gauge",
      "Closed epochs waiting for their hand-over (publication, submission or verification).",
      s.chain.pending.length,
    )
    .metric(
      "lumora_epoch_stalled",
      "gauge",
      "1 when an epoch's hand-over has failed for longer than the stall alarm delay.",
      s.chain.stall?.alarm ? 1 : 0,
    )
    .metric(
      "lumora_chain_reachable",
      "gauge",
      "1 when the last chain check reached the RPC node and found the deployment healthy.",
      s.chain.configured && s.chain.reachable && s.chain.problem === undefined ? 1 : 0,
    )
    .metric(
      "lumora_chain_last_epoch",
      "gauge",
      "Last epoch both TaskLog and RewardPool hold (as last checked).",
      s.chain.lastOnChainEpoch ?? 0,
    )
    .metric(
      "lumora_epoch_seconds_since_last_commit",
      "gauge",
      "Seconds since this keeper last saw one of its epochs settle on chain (0 when never).",
      s.chain.secondsSinceLastCommit ?? 0,
    )
    .metric(
      "lumora_chain_rpc_errors_total",
      "counter",
      "Chain JSON-RPC errors (0 until the chain module is wired).",
      s.counters.chainRpcErrors ?? 0,
    )
    .metric("lumora_bans_total", "counter", "Peers banned for protocol violations since start.", s.limits.bans.total)
    .metric("lumora_bans_active", "gauge", "Bans in force now.", s.limits.bans.active)
    .metric(
      "lumora_limit_hits_total",
      "counter",
      "Times a cap against hostile peers was hit, by its config name under limits.",
      Object.entries(s.limits.hits).map(([limit, n]) => [{ limit }, n] as Sample),
    )
    .metric(
      "lumora_health_messages_total",
      "counter",
      "Failure-detection messages this keeper sent, by kind (probe, ping_req, relay, ack, stranger_ack).",
      healthSamples(s.health, "messages"),
    )
    .metric(
      "lumora_health_events_total",
      "counter",
      "Failure-detection verdicts: suspicions, failures declared or learned by gossip, refutations of our own, " +
        "failed members forgotten.",
      healthSamples(s.health, "events"),
    )
    .metric(
      "lumora_health_checks_total",
      "counter",
      "Members checked: protocol periods that probed one (round) and out-of-turn checks (disconnects, suspicions " +
        "a state sync brought).",
      healthSamples(s.health, "checks"),
    )
    .metric(
      "lumora_health_refused_total",
      "counter",
      "Failure-detection requests refused: ping-reqs over the relay budget or for a member not watched (relay), " +
        "ping-reqs from peers not watched (stranger_ping_req).",
      healthSamples(s.health, "refused"),
    )
    .metric(
      "lumora_health_syncs_total",
      "counter",
      "State syncs (push-pull): started with a failed member (to_failed) or a live one (to_alive), answered, " +
        "served for members, refused over a budget, and alive entries not applied (entry_refused).",
      healthSamples(s.health, "syncs"),
    )
    .metric(
      "lumora_health_members",
      "gauge",
      "Members in failure detection's view by state, and forgotten failed members remembered.",
      Object.entries(s.healthMembers ?? {}).map(([state, n]): Sample => [{ state }, n]),
    )
    .metric(
      "lumora_health_awareness",
      "gauge",
      "Local health (0 healthy … 8): failure detection's period and timeouts are stretched by 1 + this.",
      s.health.awareness,
    )
    .metric(
      "lumora_directory_exchanges_total",
      "counter",
      "Directory exchanges (/lumora/directory/1.0.0): started here, completed, failed, served, refused over a " +
        "serving budget, identified peers dropped from a full queue (queue_dropped).",
      directorySamples(s.directory, "exchanges"),
    )
    .metric(
      "lumora_directory_records_total",
      "counter",
      "Records received in directory exchanges, by outcome: verified, accepted, skipped (not newer), unverified " +
        "(over the per-message bound), invalid (expired, clocks apart), rejected (hostile: stream reset), " +
        "dropped_over_cap (relayed newcomers beyond the directory's cap).",
      directorySamples(s.directory, "records"),
    )
    .metric(
      "lumora_uptime_seconds",
      "gauge",
      "Seconds since the API started.",
      Math.round((s.now - s.startedAt) / 1000),
    )
    .toString();
}

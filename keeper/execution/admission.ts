/**
 * Who may make this keeper work, and how much (docs/security.md, "Who may ask"). An executor takes a
 * TaskRequest only when:
 *
 * - its sender is a **registered node**: a peer whose signed peer record this keeper holds (or can fetch at once
 *   from the DHT). A stranger's request costs one bounded lookup and is refused (`NOT_REGISTERED`);
 * - every **provider is named by peer id** and has a valid signed record too (`PROVIDER_UNKNOWN`): the executor
 *   dials the addresses of that record, never an address the request carries (no port probing through us);
 * - it fits the sender's **quotas**: object size (`OBJECT_TOO_LARGE`), deadline horizon (`DEADLINE_TOO_FAR`),
 *   tasks at once (`TOO_MANY_TASKS`) and bytes in flight (`TOO_MANY_BYTES`).
 *
 * A refusal is an answer (TaskResult ok = false with the code), counted per code for /metrics, and leaves
 * nothing behind: no store write, no dial, no object.
 */
import { peerIdFromString } from "@libp2p/peer-id";

import type { PeerRecordData } from "../discovery/record.ts";
import {
  DEFAULT_MAX_DEADLINE_MS,
  DEFAULT_MAX_OBJECT_BYTES,
  DEFAULT_MAX_TASKS_PER_REQUESTER,
  DEFAULT_MAX_BYTES_IN_FLIGHT_PER_REQUESTER,
  MAX_UNKNOWN_PEERS,
  UNKNOWN_PEER_TTL_MS,
} from "./constants.ts";
import { providerPeerId } from "./payloads.ts";

/** Why a request was refused (the TaskResult `code`). */
export type RefusalCode =
  "NOT_REGISTERED" | "PROVIDER_UNKNOWN" | "OBJECT_TOO_LARGE" | "DEADLINE_TOO_FAR" | "TOO_MANY_TASKS" | "TOO_MANY_BYTES";

export const REFUSAL_CODES: readonly RefusalCode[] = [
  "NOT_REGISTERED",
  "PROVIDER_UNKNOWN",
  "OBJECT_TOO_LARGE",
  "DEADLINE_TOO_FAR",
  "TOO_MANY_TASKS",
  "TOO_MANY_BYTES",
];

export interface Refusal {
  code: RefusalCode;
  reason: string;
}

export interface AdmissionInit {
  /** Largest object one task may move. Default DEFAULT_MAX_OBJECT_BYTES. */
  maxObjectBytes?: number;
  /** Furthest deadline a request may set, from now. Default DEFAULT_MAX_DEADLINE_MS. */
  maxDeadlineMs?: number;
  /** Tasks one requester may have running here at once. Default DEFAULT_MAX_TASKS_PER_REQUESTER. */
  maxTasksPerRequester?: number;
  /** Bytes one requester may have in flight here. Default DEFAULT_MAX_BYTES_IN_FLIGHT_PER_REQUESTER. */
  maxBytesInFlightPerRequester?: number;
}

export interface AdmissionComponents {
  /** A peer's verified record, fetching it (bounded) when not known yet; undefined when it has none. */
  record: (peerId: string) => Promise<PeerRecordData | undefined>;
}

/** A request admitted: the providers as peer ids, and a release to call when the task ends. */
export interface Admitted {
  providers: string[];
  release: () => void;
}

export class Admission {
  private readonly inFlight = new Map<string, { tasks: number; bytes: number }>();
  private readonly refused = new Map<RefusalCode, number>();
  /** Peers found without a record, until when (insertion order = age). */
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly components: AdmissionComponents,
    private readonly init: AdmissionInit = {},
  ) {}

  /** Refusals so far, per code (every code present, 0 when none). */
  refusals(): Record<RefusalCode, number> {
    return Object.fromEntries(REFUSAL_CODES.map((c) => [c, this.refused.get(c) ?? 0])) as Record<RefusalCode, number>;
  }

  /** Admits a request or says why not. */
  async admit(
    requester: string,
    req: { size: number; deadlineMs: number; providers: readonly string[] },
    now = Date.now(),
  ): Promise<Admitted | Refusal> {
    const refuse = (code: RefusalCode, reason: string): Refusal => {
      this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
      return { code, reason };
    };
    const maxObject = this.init.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    if (req.size > maxObject) return refuse("OBJECT_TOO_LARGE", `object of ${req.size} bytes > ${maxObject}`);
    const maxDeadline = this.init.maxDeadlineMs ?? DEFAULT_MAX_DEADLINE_MS;
    if (req.deadlineMs - now > maxDeadline)
      return refuse("DEADLINE_TOO_FAR", `deadline ${req.deadlineMs - now} ms ahead > ${maxDeadline}`);
    const overQuota = this.overQuota(requester, req.size);
    if (overQuota !== undefined) return refuse(overQuota.code, overQuota.reason);

    if (!(await this.registered(requester, now)))
      return refuse("NOT_REGISTERED", "the requester has no valid signed peer record");
    const providers: string[] = [];
    for (const p of req.providers) {
      const id = providerPeerId(p);
      if (id === undefined || !isPeerId(id))
        return refuse("PROVIDER_UNKNOWN", "providers must be named by peer id (addresses come from their records)");
      if (!(await this.registered(id, now)))
        return refuse("PROVIDER_UNKNOWN", `provider ${id} has no valid signed peer record`);
      providers.push(id);
    }
    // Checked again after the awaits: other requests of the same requester may have been admitted meanwhile.
    const stillOver = this.overQuota(requester, req.size);
    if (stillOver !== undefined) return refuse(stillOver.code, stillOver.reason);
    const used = this.inFlight.get(requester) ?? { tasks: 0, bytes: 0 };
    const entry = { tasks: used.tasks + 1, bytes: used.bytes + req.size };
    this.inFlight.set(requester, entry);
    let released = false;
    return {
      providers,
      release: () => {
        if (released) return;
        released = true;
        const e = this.inFlight.get(requester);
        if (e === undefined) return;
        e.tasks--;
        e.bytes -= req.size;
        if (e.tasks <= 0) this.inFlight.delete(requester);
      },
    };
  }

  /** The quota one more task of `size` bytes would break for `requester`, if any. */
  private overQuota(requester: string, size: number): Refusal | undefined {
    const used = this.inFlight.get(requester) ?? { tasks: 0, bytes: 0 };
    const maxTasks = this.init.maxTasksPerRequester ?? DEFAULT_MAX_TASKS_PER_REQUESTER;
    if (used.tasks >= maxTasks)
      return { code: "TOO_MANY_TASKS", reason: `${used.tasks} tasks of this requester running` };
    const maxBytes = this.init.maxBytesInFlightPerRequester ?? DEFAULT_MAX_BYTES_IN_FLIGHT_PER_REQUESTER;
    if (used.bytes + size > maxBytes)
      return {
        code: "TOO_MANY_BYTES",
        reason: `${used.bytes + size} bytes in flight for this requester > ${maxBytes}`,
      };
    return undefined;
  }

  /** Whether `peerId` has a record; a miss is remembered for UNKNOWN_PEER_TTL_MS (one lookup per stranger). */
  private async registered(peerId: string, now: number): Promise<boolean> {
    const until = this.unknown.get(peerId);
    if (until !== undefined && until > now) return false;
    if ((await this.components.record(peerId)) !== undefined) {
      this.unknown.delete(peerId);
      return true;
    }
    this.unknown.delete(peerId);
    this.unknown.set(peerId, now + UNKNOWN_PEER_TTL_MS);
    while (this.unknown.size > MAX_UNKNOWN_PEERS) this.unknown.delete(this.unknown.keys().next().value!);
    return false;
  }
}

function isPeerId(s: string): boolean {
  try {
    peerIdFromString(s);
    return true;
  } catch {
    return false;
  }
}

export function isRefusal(r: Admitted | Refusal): r is Refusal {
  return "code" in r;
}

export function admission(init: AdmissionInit = {}): (components: AdmissionComponents) => Admission {
  return (components) => new Admission(components, init);
}

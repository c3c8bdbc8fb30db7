/**
 * `/lumora/epoch-sign/1.0.0`: the submitter of an epoch asks the other keepers to sign its EpochQuorum commitment
 * (docs/PROTOCOL.md "Epoch signatures").
 *
 * One request, one answer, each one length-prefixed JSON frame:
 * - request (≤ MAX_SIGN_REQUEST_BYTES): `{"v":1,"chainId":<n>,"quorum":"0x<EpochQuorum>","commitment":{"epoch":"<n>",
 *   "taskRoot":"0x…","taskCount":"<n>","taskUri":"…","rewardRoot":"0x…","totalContribution":"<n>",
 *   "rewardTotal":"<n>","reportsRoot":"0x…","evidenceHash":"0x…"}}` (integers as decimal strings);
 * - answer (≤ MAX_SIGN_RESPONSE_BYTES, quorum/constants.ts): `{"signer":"0x<address>","signature":"0x<65 bytes r‖s‖v>"}` or
 *   `{"error":"<text>","code":"<code>"}`, code one of not-a-keeper, bad-request, wrong-deployment, not-closed,
 *   mismatch, no-key; a `mismatch` because the submitter's observation set lacks observations the keeper holds adds
 *   `"observations":[<signed observation>, …]` (at most MAX_UNION_OBSERVATIONS; the answer then ≤
 *   MAX_SIGN_REFUSAL_BYTES): a union round (docs/epochs.md "Union rounds").
 *
 * Only registered keepers (a valid signed peer record in discovery) are answered; a stranger's one frame is read
 * within a second and refused unseen. The answer is the server's decision alone (approve.ts): it signs only the
 * commitment it built itself.
 *
 * The client side (`gather`) asks every other keeper in parallel, checks each signature against the digest and
 * the quorum's keeper set, asks again those that have not closed the epoch yet (or could not be reached), and
 * stops at the threshold or at its deadline.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, isAddress, recoverAddress } from "ethers";

import type { Logger } from "../../logger.ts";
import type { LumoraNode } from "../../p2p/node.ts";
import type { EpochCommitment, QuorumSignatureRequest, QuorumSignatureSource } from "./commitment.ts";
import { MAX_UNION_OBSERVATIONS } from "../observe/constants.ts";
import { encodeObservation, parseObservation, type SignedObservation } from "../observe/observation.ts";
import {
  MAX_SIGN_REFUSAL_BYTES,
  MAX_SIGN_REQUEST_BYTES,
  MAX_TASK_URI_BYTES,
  SIGN_REQUEST_TIMEOUT_MS,
  SIGN_RETRY_MS,
  SIGNATURE_GATHER_TIMEOUT_MS,
  STRANGER_READ_TIMEOUT_MS,
} from "./constants.ts";
import { QuorumNotReachedError, QuorumProtocolError } from "./errors.ts";
import { askInRounds, askKeeper, parseJsonObject, serveKeeperRequest } from "./keeper-rpc.ts";

export const QUORUM_PROTOCOL = "/lumora/epoch-sign/1.0.0";

/** Why a keeper did not sign. */
export type RefusalCode = "not-a-keeper" | "bad-request" | "wrong-deployment" | "not-closed" | "mismatch" | "no-key";

/**
 * A keeper's decision on a signature request (approve.ts). A refusal because the submitter's observation set lacks
 * observations the keeper holds carries them (`observations`, at most MAX_UNION_OBSERVATIONS): a union round.
 */
export type Approval =
  { signer: string; signature: string } | { code: RefusalCode; reason: string; observations?: SignedObservation[] };

export interface SignatureRequest {
  chainId: number;
  quorum: string;
  commitment: EpochCommitment;
}

export interface EpochSignaturesComponents {
  node: LumoraNode;
  logger: Logger;
  /** Whether `peerId` is a registered keeper (a valid signed peer record in discovery). */
  isKeeper(peerId: string): boolean;
  /** The other keepers' peer ids, asked by `gather`. */
  keepers(): string[];
  /** This keeper's decision on a request (approve.ts); absent: every request is refused with no-key. */
  approve?(request: SignatureRequest, options: { signal: AbortSignal; peer: string }): Promise<Approval>;
  /** The deployment `gather` asks signatures for. */
  deployment?: { chainId: number; quorum: string };
  penalise?(peerId: PeerId, err: Error): void;
}

export interface EpochSignaturesInit {
  /** Deadline of one `gather`. Default SIGNATURE_GATHER_TIMEOUT_MS. */
  gatherTimeoutMs?: number;
  /** Wait before asking again a keeper that has not closed the epoch or was unreachable. Default SIGN_RETRY_MS. */
  retryMs?: number;
}

export interface EpochSignaturesStats {
  signed: number;
  refused: number;
  refusedStrangers: number;
}

const encoder = new TextEncoder();
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const UINT = /^\d{1,78}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const RETRIABLE: ReadonlySet<string> = new Set(["not-closed", "unreachable"]);

/** The request as sent: integers as decimal strings. */
export function encodeSignatureRequest(request: SignatureRequest): Uint8Array {
  const c = request.commitment;
  return encoder.encode(
    JSON.stringify({
      v: 1,
      chainId: request.chainId,
      quorum: request.quorum,
      commitment: {
        epoch: c.epoch.toString(),
        taskRoot: c.taskRoot,
        taskCount: c.taskCount.toString(),
        taskUri: c.taskUri,
        rewardRoot: c.rewardRoot,
        totalContribution: c.totalContribution.toString(),
        rewardTotal: c.rewardTotal.toString(),
        reportsRoot: c.reportsRoot,
        evidenceHash: c.evidenceHash,
      },
    }),
  );
}

/** Checks a request field by field; QuorumProtocolError (penalised) on anything malformed. */
export function decodeSignatureRequest(body: Uint8Array): SignatureRequest {
  const bad = (what: string) => new QuorumProtocolError(`signature request: ${what}`, true);
  const req = parseJsonObject(body);
  if (req.v !== 1) throw bad("v must be 1");
  if (typeof req.chainId !== "number" || !Number.isSafeInteger(req.chainId) || req.chainId <= 0) throw bad("chainId");
  if (typeof req.quorum !== "string" || !isAddress(req.quorum)) throw bad("quorum");
  const c = req.commitment as Record<string, unknown> | null;
  if (typeof c !== "object" || c === null) throw bad("commitment");
  const uint = (name: string, bits: number): bigint => {
    const x = c[name];
    if (typeof x !== "string" || !UINT.test(x) || BigInt(x) >= 2n ** BigInt(bits)) throw bad(name);
    return BigInt(x);
  };
  const hex32 = (name: string): string => {
    const x = c[name];
    if (typeof x !== "string" || !HEX32.test(x)) throw bad(name);
    return x.toLowerCase();
  };
  const uri = c.taskUri;
  if (typeof uri !== "string" || encoder.encode(uri).byteLength > MAX_TASK_URI_BYTES) throw bad("taskUri");
  return {
    chainId: req.chainId,
    quorum: getAddress(req.quorum),
    commitment: {
      epoch: uint("epoch", 64),
      taskRoot: hex32("taskRoot"),
      taskCount: uint("taskCount", 64),
      taskUri: uri,
      rewardRoot: hex32("rewardRoot"),
      totalContribution: uint("totalContribution", 256),
      rewardTotal: uint("rewardTotal", 256),
      reportsRoot: hex32("reportsRoot"),
      evidenceHash: hex32("evidenceHash"),
    },
  };
}

export class EpochSignatures implements QuorumSignatureSource {
  readonly stats: EpochSignaturesStats = { signed: 0, refused: 0, refusedStrangers: 0 };
  private readonly log: Logger;

  constructor(
    private readonly components: EpochSignaturesComponents,
    private readonly init: EpochSignaturesInit = {},
  ) {
    this.log = components.logger.child("epochs:quorum");
  }

  async start(): Promise<void> {
    await this.components.node.handle(QUORUM_PROTOCOL, (s, c) => this.onStream(s, c), { maxInboundStreams: 4 });
  }

  async stop(): Promise<void> {
    await this.components.node.unhandle(QUORUM_PROTOCOL).catch(() => {});
  }

  // ─────────────────────────────────────────── server ──────────────────────────────────────────

  private onStream(stream: Stream, connection: Connection): Promise<void> {
    return serveKeeperRequest(stream, connection, {
      isKeeper: (peer) => this.components.isKeeper(peer),
      maxRequestBytes: MAX_SIGN_REQUEST_BYTES,
      maxAnswerBytes: MAX_SIGN_REFUSAL_BYTES,
      timeoutMs: SIGN_REQUEST_TIMEOUT_MS,
      strangerTimeoutMs: STRANGER_READ_TIMEOUT_MS,
      onStranger: () => this.stats.refusedStrangers++,
      handle: (body, peer, signal) => this.answer(body, peer, signal),
      ...(this.components.penalise !== undefined && { penalise: this.components.penalise }),
    });
  }

  /** This keeper's answer to a keeper's request (approve.ts decides). */
  private async answer(body: Uint8Array, peer: string, signal: AbortSignal): Promise<object> {
    const request = decodeSignatureRequest(body);
    const approval: Approval =
      this.components.approve === undefined
        ? { code: "no-key", reason: "this keeper signs no epochs" }
        : await this.components.approve(request, { signal, peer });
    if ("signature" in approval) {
      this.stats.signed++;
      return approval;
    }
    this.stats.refused++;
    this.log.info("epoch signature refused", {
      epoch: Number(request.commitment.epoch),
      peer,
      code: approval.code,
      reason: approval.reason,
    });
    return {
      error: approval.reason,
      code: approval.code,
      ...(approval.observations !== undefined && {
        observations: approval.observations.slice(0, MAX_UNION_OBSERVATIONS).map(encodeObservation),
      }),
    };
  }

  // ─────────────────────────────────────────── client ──────────────────────────────────────────

  /**
   * Asks the other keepers to sign `request.commitment` until `request.threshold` signatures are held (ours, in
   * `request.have`, included) or the deadline passes (QuorumNotReachedError with every refusal).
   */
  async gather(request: QuorumSignatureRequest, options: { signal?: AbortSignal } = {}): Promise<Map<string, string>> {
    const deployment = this.components.deployment;
    if (deployment === undefined) throw new Error("epoch signatures: no deployment to gather signatures for");
    const deadline = AbortSignal.timeout(this.init.gatherTimeoutMs ?? SIGNATURE_GATHER_TIMEOUT_MS);
    const signal = AbortSignal.any([deadline, ...(options.signal ? [options.signal] : [])]);
    const held = new Map(request.have);
    const refusals: Record<string, string> = {};
    /** Per refusing keeper, the observations its last refusal handed back (a union round's material). */
    const offers = new Map<string, SignedObservation[]>();
    const epoch = Number(request.commitment.epoch);
    const body = encodeSignatureRequest({ ...deployment, commitment: request.commitment });
    const members = new Set(request.keepers);
    await askInRounds(
      this.components.keepers(),
      async (peer) => {
        const outcome = await this.ask(peer, body, signal);
        if ("signature" in outcome) {
          const signer = getAddress(outcome.signer);
          if (!members.has(signer)) refusals[peer] = `signer ${signer} is not in the quorum's keeper set`;
          else if (recoverAddress(request.digest, outcome.signature) !== signer) {
            refusals[peer] = "signature does not recover to its signer";
            this.components.penalise?.(peerIdFromString(peer), new QuorumProtocolError(refusals[peer], true));
          } else {
            held.set(signer, outcome.signature);
            delete refusals[peer];
          }
          return false;
        }
        // Our own deadline cutting a retry short says nothing new: keep the keeper's last answer.
        const cutShort = outcome.code === "unreachable" && signal.aborted && refusals[peer] !== undefined;
        if (!cutShort) refusals[peer] = `${outcome.code}: ${outcome.reason}`;
        if (!cutShort && outcome.observations !== undefined) offers.set(peer, outcome.observations);
        return RETRIABLE.has(outcome.code);
      },
      { complete: () => held.size >= request.threshold, signal, retryMs: this.init.retryMs ?? SIGN_RETRY_MS },
    );
    options.signal?.throwIfAborted();
    if (held.size < request.threshold) {
      throw new QuorumNotReachedError(epoch, held.size, request.threshold, refusals, [...offers.values()].flat());
    }
    this.log.info("epoch signatures gathered", { epoch, signatures: held.size, threshold: request.threshold });
    return held;
  }

  /** One request to one keeper; never throws (an unreachable or misbehaving keeper is a refusal). */
  private async ask(
    peer: string,
    body: Uint8Array,
    outer: AbortSignal,
  ): Promise<
    | { signer: string; signature: string }
    | { code: RefusalCode | "unreachable"; reason: string; observations?: SignedObservation[] }
  > {
    let id: PeerId;
    try {
      id = peerIdFromString(peer);
    } catch {
      return { code: "bad-request", reason: "not a peer id" };
    }
    const answer = await askKeeper(id, body, outer, {
      node: this.components.node,
      protocol: QUORUM_PROTOCOL,
      maxRequestBytes: MAX_SIGN_REQUEST_BYTES,
      maxAnswerBytes: MAX_SIGN_REFUSAL_BYTES,
      timeoutMs: SIGN_REQUEST_TIMEOUT_MS,
      interpret: interpretAnswer,
      ...(this.components.penalise !== undefined && { penalise: this.components.penalise }),
    });
    return "unreachable" in answer ? { code: "unreachable", reason: answer.unreachable } : answer;
  }
}

/** A keeper's answer to a signature request: a signature, or a refusal (with a union round's observations). */
function interpretAnswer(
  msg: Record<string, unknown>,
): { signer: string; signature: string } | { code: RefusalCode; reason: string; observations?: SignedObservation[] } {
  if (typeof msg.signature === "string" && typeof msg.signer === "string") {
    if (!SIGNATURE.test(msg.signature) || !isAddress(msg.signer)) {
      throw new QuorumProtocolError("answer: malformed signer or signature", true);
    }
    return { signer: msg.signer, signature: msg.signature };
  }
  if (typeof msg.error === "string" && typeof msg.code === "string") {
    const reason = msg.error.slice(0, 500);
    if (msg.observations === undefined) return { code: msg.code as RefusalCode, reason };
    return { code: msg.code as RefusalCode, reason, observations: parseOffered(msg.observations) };
  }
  throw new QuorumProtocolError("answer is neither a signature nor an error", true);
}

/** A union round's observations as received: a list of at most MAX_UNION_OBSERVATIONS well-formed ones. */
function parseOffered(v: unknown): SignedObservation[] {
  if (!Array.isArray(v) || v.length > MAX_UNION_OBSERVATIONS)
    throw new QuorumProtocolError(`answer: observations must be a list of at most ${MAX_UNION_OBSERVATIONS}`, true);
  try {
    return v.map((o) => parseObservation(o));
  } catch (err) {
    throw new QuorumProtocolError(`answer: ${(err as Error).message}`, true);
  }
}

/** Factory in the keeper's component style: `epochSignatures(init)(components)`. */
export function epochSignatures(
  init: EpochSignaturesInit = {},
): (components: EpochSignaturesComponents) => EpochSignatures {
  return (components) => new EpochSignatures(components, init);
}

/**
 * `/lumora/challenge-sign/1.0.0`: a keeper that sees an open challenge asks the other keepers for their signed
 * verdicts (docs/PROTOCOL.md §10b).
 *
 * One request, one answer, each one length-prefixed JSON frame:
 * - request (≤ MAX_CHALLENGE_REQUEST_BYTES): `{"v":1,"chainId":<n>,"quorum":"0x<EpochQuorum>","epoch":"<n>",
 *   "challengeId":"<n>"}` (integers as decimal strings);
 * - answer (≤ MAX_CHALLENGE_RESPONSE_BYTES): `{"signer":"0x<address>","upheld":<bool>,"signature":"0x<65 bytes>"}`
 *   — the signature of EpochQuorum's `ChallengeResolution(epoch, challengeId, upheld)` digest — or
 *   `{"error":"<text>","code":"<code>"}`, code one of not-a-keeper, bad-request, wrong-deployment, not-challenged,
 *   abstain, no-key.
 *
 * Only registered keepers are answered; a stranger's one frame is read within a second and refused unseen. The verdict
 * is the server's own (judge.ts): the request names only the challenge.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, isAddress, recoverAddress } from "ethers";

import type { Logger } from "../../logger.ts";
import type { LumoraNode } from "../../p2p/node.ts";
import { QuorumProtocolError } from "../quorum/errors.ts";
import { askInRounds, askKeeper, parseJsonObject, serveKeeperRequest } from "../quorum/keeper-rpc.ts";
import {
  CHALLENGE_GATHER_TIMEOUT_MS,
  CHALLENGE_REQUEST_TIMEOUT_MS,
  CHALLENGE_RETRY_MS,
  MAX_CHALLENGE_REQUEST_BYTES,
  MAX_CHALLENGE_RESPONSE_BYTES,
  STRANGER_READ_TIMEOUT_MS,
} from "./constants.ts";
import { ChallengeNotResolvedError } from "./errors.ts";

export const CHALLENGE_PROTOCOL = "/lumora/challenge-sign/1.0.0";

export type ChallengeRefusal =
  "not-a-keeper" | "bad-request" | "wrong-deployment" | "not-challenged" | "abstain" | "no-key";

/** A keeper's signed verdict, or why it gave none. */
export type SignedVerdict =
  { signer: string; upheld: boolean; signature: string } | { code: ChallengeRefusal; reason: string };

export interface ChallengeRequest {
  chainId: number;
  quorum: string;
  epoch: number;
  challengeId: bigint;
}

export interface ChallengeSignaturesComponents {
  node: LumoraNode;
  logger: Logger;
  /** Whether `peerId` is a registered keeper (a valid signed peer record in discovery). */
  isKeeper(peerId: string): boolean;
  /** The other keepers' peer ids, asked by `gather`. */
  keepers(): string[];
  /** This keeper's signed verdict on a request (resolver.ts); absent: refused with no-key. */
  verdict?(request: ChallengeRequest, options: { signal: AbortSignal }): Promise<SignedVerdict>;
  penalise?(peerId: PeerId, err: Error): void;
}

export interface ChallengeSignaturesInit {
  gatherTimeoutMs?: number;
  retryMs?: number;
}

/** What `gather` needs: the challenge, who counts, how many, and the digest of each verdict. */
export interface VerdictGathering {
  request: ChallengeRequest;
  /** The quorum's keepers (checksummed). */
  keepers: ReadonlySet<string>;
  /** Signatures one verdict needs (EpochQuorum.supermajority()). */
  needed: number;
  digestOf(upheld: boolean): string;
  /** Our own signed verdict, when we gave one. */
  own?: { signer: string; upheld: boolean; signature: string };
}

const encoder = new TextEncoder();
const UINT64 = /^\d{1,20}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const RETRIABLE: ReadonlySet<string> = new Set(["abstain", "unreachable"]);

export function encodeChallengeRequest(r: ChallengeRequest): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      v: 1,
      chainId: r.chainId,
      quorum: r.quorum,
      epoch: String(r.epoch),
      challengeId: r.challengeId.toString(),
    }),
  );
}

/** Checks a request field by field; QuorumProtocolError (penalised) on anything malformed. */
export function decodeChallengeRequest(body: Uint8Array): ChallengeRequest {
  const bad = (what: string) => new QuorumProtocolError(`challenge request: ${what}`, true);
  const r = parseJsonObject(body);
  if (r.v !== 1) throw bad("v must be 1");
  if (typeof r.chainId !== "number" || !Number.isSafeInteger(r.chainId) || r.chainId <= 0) throw bad("chainId");
  if (typeof r.quorum !== "string" || !isAddress(r.quorum)) throw bad("quorum");
  const uint64 = (name: string): bigint => {
    const x = r[name];
    if (typeof x !== "string" || !UINT64.test(x) || BigInt(x) >= 2n ** 64n) throw bad(name);
    return BigInt(x);
  };
  const epoch = uint64("epoch");
  if (epoch < 1n || epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw bad("epoch");
  return { chainId: r.chainId, quorum: getAddress(r.quorum), epoch: Number(epoch), challengeId: uint64("challengeId") };
}

export class ChallengeSignatures {
  private readonly log: Logger;

  constructor(
    private readonly components: ChallengeSignaturesComponents,
    private readonly init: ChallengeSignaturesInit = {},
  ) {
    this.log = components.logger.child("epochs:challenge");
  }

  async start(): Promise<void> {
    await this.components.node.handle(CHALLENGE_PROTOCOL, (s, c) => this.onStream(s, c), { maxInboundStreams: 4 });
  }

  async stop(): Promise<void> {
    await this.components.node.unhandle(CHALLENGE_PROTOCOL).catch(() => {});
  }

  private onStream(stream: Stream, connection: Connection): Promise<void> {
    return serveKeeperRequest(stream, connection, {
      isKeeper: (peer) => this.components.isKeeper(peer),
      maxRequestBytes: MAX_CHALLENGE_REQUEST_BYTES,
      maxAnswerBytes: MAX_CHALLENGE_RESPONSE_BYTES,
      timeoutMs: CHALLENGE_REQUEST_TIMEOUT_MS,
      strangerTimeoutMs: STRANGER_READ_TIMEOUT_MS,
      handle: async (body, _peer, signal) => {
        const request = decodeChallengeRequest(body);
        const verdict =
          this.components.verdict === undefined
            ? ({ code: "no-key", reason: "this keeper signs no resolutions" } as const)
            : await this.components.verdict(request, { signal });
        return "signature" in verdict ? verdict : { error: verdict.reason, code: verdict.code };
      },
      ...(this.components.penalise !== undefined && { penalise: this.components.penalise }),
    });
  }

  /**
   * Asks the other keepers for their verdicts until one verdict holds `needed` valid signatures (ours included) or the
   * deadline passes (ChallengeNotResolvedError). Returns the verdict and its signatures by signer.
   */
  async gather(
    g: VerdictGathering,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ upheld: boolean; signatures: Map<string, string> }> {
    const signal = AbortSignal.any([
      AbortSignal.timeout(this.init.gatherTimeoutMs ?? CHALLENGE_GATHER_TIMEOUT_MS),
      ...(options.signal ? [options.signal] : []),
    ]);
    const held = { true: new Map<string, string>(), false: new Map<string, string>() };
    if (g.own !== undefined) held[`${g.own.upheld}`].set(getAddress(g.own.signer), g.own.signature);
    const refusals: Record<string, string> = {};
    const body = encodeChallengeRequest(g.request);
    const done = () => (held.true.size >= g.needed ? true : held.false.size >= g.needed ? false : undefined);
    await askInRounds(
      this.components.keepers(),
      async (peer) => {
        const v = await this.ask(peer, body, signal);
        if ("signature" in v) {
          const signer = getAddress(v.signer);
          if (!g.keepers.has(signer)) refusals[peer] = `signer ${signer} is not a quorum keeper`;
          else if (recoverAddress(g.digestOf(v.upheld), v.signature) !== signer) {
            refusals[peer] = "signature does not recover to its signer";
            this.components.penalise?.(peerIdFromString(peer), new QuorumProtocolError(refusals[peer], true));
          } else {
            held[`${v.upheld}`].set(signer, v.signature);
            delete refusals[peer];
          }
          return false;
        }
        refusals[peer] = `${v.code}: ${v.reason}`;
        return RETRIABLE.has(v.code);
      },
      { complete: () => done() !== undefined, signal, retryMs: this.init.retryMs ?? CHALLENGE_RETRY_MS },
    );
    options.signal?.throwIfAborted();
    const upheld = done();
    if (upheld === undefined)
      throw new ChallengeNotResolvedError(g.request.epoch, held.true.size, held.false.size, g.needed, refusals);
    this.log.info("challenge verdict signatures gathered", { epoch: g.request.epoch, upheld, needed: g.needed });
    return { upheld, signatures: held[`${upheld}`] };
  }

  /** One request to one keeper; never throws (an unreachable or misbehaving keeper is a refusal). */
  private async ask(
    peer: string,
    body: Uint8Array,
    outer: AbortSignal,
  ): Promise<SignedVerdict | { code: "unreachable"; reason: string }> {
    let id: PeerId;
    try {
      id = peerIdFromString(peer);
    } catch (err) {
      return { code: "unreachable", reason: (err as Error).message };
    }
    const answer = await askKeeper(id, body, outer, {
      node: this.components.node,
      protocol: CHALLENGE_PROTOCOL,
      maxRequestBytes: MAX_CHALLENGE_REQUEST_BYTES,
      maxAnswerBytes: MAX_CHALLENGE_RESPONSE_BYTES,
      timeoutMs: CHALLENGE_REQUEST_TIMEOUT_MS,
      interpret: interpretVerdict,
      ...(this.components.penalise !== undefined && { penalise: this.components.penalise }),
    });
    return "unreachable" in answer ? { code: "unreachable", reason: answer.unreachable } : answer;
  }
}

/** A keeper's answer to a challenge request: a signed verdict, or why it gave none. */
function interpretVerdict(msg: Record<string, unknown>): SignedVerdict {
  if (typeof msg.signature === "string" && typeof msg.signer === "string" && typeof msg.upheld === "boolean") {
    if (!SIGNATURE.test(msg.signature) || !isAddress(msg.signer))
      throw new QuorumProtocolError("answer: malformed signer or signature", true);
    return { signer: msg.signer, upheld: msg.upheld, signature: msg.signature };
  }
  if (typeof msg.error === "string" && typeof msg.code === "string")
    return { code: msg.code as ChallengeRefusal, reason: msg.error.slice(0, 200) };
  throw new QuorumProtocolError("answer is neither a verdict nor an error", true);
}

/** Factory in the keeper's component style: `challengeSignatures(init)(components)`. */
export function challengeSignatures(
  init: ChallengeSignaturesInit = {},
): (components: ChallengeSignaturesComponents) => ChallengeSignatures {
  return (components) => new ChallengeSignatures(components, init);
}

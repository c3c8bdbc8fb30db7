/**
 * `/lumora/proofs/1.0.0`: any keeper serves the proofs of the epochs it has published (docs/epochs.md).
 *
 * One request and one response per stream, each a UTF-8 JSON document in a length-prefixed frame (the
 * `/lumora/*` varint framing of keeper/wire):
 *   request:  {"epoch": <uint>, "account": "0x…"}     → {"proof": RewardProof} | {"error": {code, message}}
 *   request:  {"epoch": <uint>}                        → {"summary": EpochSummary} | {"error": {code, message}}
 *   request:  {"epoch": <uint>, "evidence": <uint>}    → {"evidence": {"receipts": [hash…], "next": <uint>|null}}
 *             (the receipt hashes the epoch counted, from that index, at most EVIDENCE_PAGE per answer)
 * Limits: request ≤ MAX_PROOFS_REQUEST_BYTES, response ≤ MAX_PROOFS_RESPONSE_BYTES.
 */
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";

import type { Logger } from "../../logger.ts";
import type { LumoraNode } from "../../p2p/node.ts";
import { readFrame, writeFrame } from "../../wire/framing.ts";
import {
  MAX_PROOFS_REQUEST_BYTES,
  MAX_PROOFS_RESPONSE_BYTES,
  PROOFS_MAX_INBOUND_STREAMS,
  PROOFS_MAX_OUTBOUND_STREAMS,
  PROOFS_PROTOCOL,
  PROOFS_TIMEOUT_MS,
} from "./constants.ts";
import { ProofRequestError, RemoteProofError } from "./errors.ts";
import { errorBody, errorFromResponse, parseProofRequest, type ProofSource, type RewardProof } from "./source.ts";
import type { EpochSummary } from "./publish.ts";

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
/** Receipt hashes per evidence answer: 10,000 × 69 bytes of JSON stays under MAX_PROOFS_RESPONSE_BYTES. */
export const EVIDENCE_PAGE = 10_000;
/** Pages one evidence fetch follows at most (2.56 M receipts): a peer cannot keep a keeper paging for ever. */
export const MAX_EVIDENCE_PAGES = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function parseJson(body: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(decoder.decode(body)) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ProofRequestError("message is not a JSON object");
}

export interface ProofsServiceInit {
  timeoutMs?: number;
}

export interface ProofsServiceComponents {
  node: LumoraNode;
  logger: Logger;
  source: ProofSource;
}

/** Serves proofs to peers, and asks peers for theirs. */
export class ProofsService {
  private readonly log: Logger;

  constructor(
    private readonly components: ProofsServiceComponents,
    private readonly init: ProofsServiceInit = {},
  ) {
    this.log = components.logger.child("proofs");
  }

  async start(): Promise<void> {
    await this.components.node.handle(PROOFS_PROTOCOL, (s, c) => this.onStream(s, c), {
      maxInboundStreams: PROOFS_MAX_INBOUND_STREAMS,
      maxOutboundStreams: PROOFS_MAX_OUTBOUND_STREAMS,
    });
  }

  async stop(): Promise<void> {
    await this.components.node.unhandle(PROOFS_PROTOCOL).catch(() => {});
  }

  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.init.timeoutMs ?? PROOFS_TIMEOUT_MS);
    const peer = connection.remotePeer.toString();
    try {
      const body = await readFrame(stream, MAX_PROOFS_REQUEST_BYTES, { signal });
      const response = await this.answer(body, signal);
      if ("error" in response && response.error.code === "INTERNAL") {
        this.log.throttled("proof request failed", "warn", "proof request failed", { peer });
      }
      await writeFrame(stream, encoder.encode(JSON.stringify(response)), MAX_PROOFS_RESPONSE_BYTES, { signal });
      await stream.close({ signal });
    } catch (err) {
      // Framing violations, timeouts: nothing sensible to answer.
      this.log.throttled("proof stream aborted", "warn", "proof stream aborted", {
        peer,
        reason: (err as Error).message,
      });
      stream.abort(err as Error);
    }
  }

  private async answer(
    body: Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<
    | { proof: RewardProof }
    | { summary: EpochSummary }
    | { evidence: { receipts: string[]; next: number | null } }
    | ReturnType<typeof errorBody>
  > {
    try {
      if (body === undefined) throw new ProofRequestError("no request");
      const req = parseJson(body);
      if (req.evidence !== undefined) {
        const { epoch } = parseProofRequest(req.epoch, ZERO_ADDRESS);
        const from = req.evidence;
        if (typeof from !== "number" || !Number.isSafeInteger(from) || from < 0)
          throw new ProofRequestError("evidence must be an index ≥ 0");
        const source = this.components.source;
        if (source.evidence === undefined) throw new ProofRequestError("this keeper serves no evidence");
        const all = await source.evidence(epoch, { signal });
        const receipts = all.slice(from, from + EVIDENCE_PAGE);
        return { evidence: { receipts, next: from + EVIDENCE_PAGE < all.length ? from + EVIDENCE_PAGE : null } };
      }
      if (req.account === undefined) {
        const { epoch } = parseProofRequest(req.epoch, ZERO_ADDRESS);
        return { summary: await this.components.source.summary(epoch, { signal }) };
      }
      const { epoch, account } = parseProofRequest(req.epoch, req.account);
      return { proof: await this.components.source.proof(epoch, account, { signal }) };
    } catch (err) {
      return errorBody(err);
    }
  }

  private async ask(
    peer: PeerId | string,
    request: object,
    options: { signal?: AbortSignal },
  ): Promise<Record<string, unknown>> {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    const signal = AbortSignal.any(
      [AbortSignal.timeout(this.init.timeoutMs ?? PROOFS_TIMEOUT_MS), options.signal].filter(
        (s): s is AbortSignal => s !== undefined,
      ),
    );
    const stream = await this.components.node.dialProtocol(id, PROOFS_PROTOCOL, { signal });
    try {
      await writeFrame(stream, encoder.encode(JSON.stringify(request)), MAX_PROOFS_REQUEST_BYTES, { signal });
      const body = await readFrame(stream, MAX_PROOFS_RESPONSE_BYTES, { signal });
      if (body === undefined) throw new RemoteProofError("NO_RESPONSE", "the peer closed the stream without answering");
      await stream.close({ signal }).catch(() => {});
      try {
        return JSON.parse(decoder.decode(body)) as Record<string, unknown>;
      } catch {
        throw new RemoteProofError("MALFORMED_RESPONSE", "the peer's answer is not JSON");
      }
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    }
  }

  /** Asks `peer` for `account`'s proof in `epoch`. Throws the typed errors of ProofSource. */
  async fetchProof(
    peer: PeerId | string,
    epoch: number,
    account: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<RewardProof> {
    const req = parseProofRequest(epoch, account);
    const res = await this.ask(peer, req, options);
    const error = res.error as { code: string; message: string } | undefined;
    if (error !== undefined) throw errorFromResponse(error.code, error.message, req.epoch, req.account);
    if (typeof res.proof !== "object" || res.proof === null)
      throw new RemoteProofError("MALFORMED_RESPONSE", "no proof in the answer");
    return res.proof as RewardProof;
  }

  /** Asks `peer` for the summary of `epoch`. */
  async fetchSummary(
    peer: PeerId | string,
    epoch: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<EpochSummary> {
    const res = await this.ask(peer, { epoch }, options);
    const error = res.error as { code: string; message: string } | undefined;
    if (error !== undefined) throw errorFromResponse(error.code, error.message, epoch);
    if (typeof res.summary !== "object" || res.summary === null)
      throw new RemoteProofError("MALFORMED_RESPONSE", "no summary in the answer");
    return res.summary as EpochSummary;
  }

  /** Asks `peer` for every receipt hash epoch `epoch` counted (paged). */
  async fetchEvidence(peer: PeerId | string, epoch: number, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const out: string[] = [];
    for (let from: number | null = 0, pages = 0; from !== null; pages++) {
      if (pages >= MAX_EVIDENCE_PAGES)
        throw new RemoteProofError("MALFORMED_RESPONSE", `evidence longer than ${MAX_EVIDENCE_PAGES} pages`);
      const res = await this.ask(peer, { epoch, evidence: from }, options);
      const error = res.error as { code: string; message: string } | undefined;
      if (error !== undefined) throw errorFromResponse(error.code, error.message, epoch);
      const ev = res.evidence as { receipts?: unknown; next?: unknown } | undefined;
      if (ev === undefined || !Array.isArray(ev.receipts) || ev.receipts.length > EVIDENCE_PAGE)
        throw new RemoteProofError("MALFORMED_RESPONSE", "no evidence in the answer");
      for (const h of ev.receipts) {
        if (typeof h !== "string" || !/^0x[0-9a-f]{64}$/.test(h))
          throw new RemoteProofError("MALFORMED_RESPONSE", "evidence entry is not a receipt hash");
        out.push(h);
      }
      const next = ev.next;
      // A full page, then the index right after it: a short page or a cursor that skips or overlaps is refused.
      if (
        next !== null &&
        (typeof next !== "number" || ev.receipts.length !== EVIDENCE_PAGE || next !== from + EVIDENCE_PAGE)
      )
        throw new RemoteProofError("MALFORMED_RESPONSE", "evidence cursor does not follow a full page");
      from = next;
    }
    return out;
  }

  /** A ProofSource that asks one peer (claim tooling can use a keeper reached over libp2p). */
  sourceFor(peer: PeerId | string): ProofSource {
    return {
      proof: (epoch, account, options) => this.fetchProof(peer, epoch, account, options),
      summary: (epoch, options) => this.fetchSummary(peer, epoch, options),
    };
  }
}

/** Service factory (wired in keeper/components.ts). */
export function proofsService(init: ProofsServiceInit = {}): (components: ProofsServiceComponents) => ProofsService {
  return (components) => new ProofsService(components, init);
}

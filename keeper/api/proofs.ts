/**
 * HTTP routes of the proofs API, as a handler the keeper's API server mounts:
 *   GET /proofs/<epoch>/<account>  → 200 RewardProof | 400/404 {"error": {code, message}}
 *   GET /epochs/<epoch>            → 200 EpochSummary | 400/404 {"error": {code, message}}
 * The handler returns false for any other path, so the server can try its next route.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

import { errorBody, parseProofRequest, type ProofSource } from "../epochs/proofs.ts";
import type { Logger } from "../logger.ts";

const PROOF_ROUTE = /^\/proofs\/([^/]+)\/([^/]+)\/?$/;
const EPOCH_ROUTE = /^\/epochs\/([^/]+)\/?$/;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

const STATUS: Record<string, number> = { BAD_REQUEST: 400, EPOCH_UNKNOWN: 404, ACCOUNT_NOT_IN_EPOCH: 404 };

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": status === 200 ? "public, max-age=60" : "no-store",
  });
  res.end(text);
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** The proofs routes over `source` (usually a DirectoryProofSource on the keeper's publication directory). */
export function proofsHandler(source: ProofSource, logger?: Logger): RouteHandler {
  const log = logger?.child("api-proofs");
  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const proofMatch = PROOF_ROUTE.exec(path);
    const epochMatch = proofMatch === null ? EPOCH_ROUTE.exec(path) : null;
    if (proofMatch === null && epochMatch === null) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "use GET" } });
      return true;
    }
    try {
      if (proofMatch !== null) {
        const { epoch, account } = parseProofRequest(proofMatch[1], decodeURIComponent(proofMatch[2]!));
        send(res, 200, await source.proof(epoch, account));
      } else {
        const { epoch } = parseProofRequest(epochMatch![1], ZERO_ADDRESS);
        send(res, 200, await source.summary(epoch));
      }
    } catch (err) {
      const body = errorBody(err);
      if (body.error.code === "INTERNAL") log?.error("proof request failed", { path, err: err as Error });
      send(res, STATUS[body.error.code] ?? 500, body);
    }
    return true;
  };
}

/**
 * HTTP routes of the proofs API, as a handler the keeper's API server mounts:
 *   GET /proofs/<epoch>/<account>  → 200 RewardProof | 400/404 {"error": {code, message}}
 *   GET /epochs/<epoch>            → 200 EpochSummary | 400/404 {"error": {code, message}}
 *   GET /epochs/<epoch>/rewards.json, /epochs/<epoch>/tasks.json
 *                                  → 200 the published dump, byte for byte | 400/404 {"error": {code, message}}
 *                                    (when the source is a publication directory: what verify-epoch rebuilds from)
 * The handler returns false for any other path, so the server can try its next route.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";

import { ProofRequestError } from "../epochs/proofs/errors.ts";
import { errorBody, parseProofRequest, type ProofSource, type PublishedFileKind } from "../epochs/proofs/source.ts";
import type { Logger } from "../logger.ts";

const PROOF_ROUTE = /^\/proofs\/([^/]+)\/([^/]+)\/?$/;
const EPOCH_ROUTE = /^\/epochs\/([^/]+)\/?$/;
const DUMP_ROUTE = /^\/epochs\/([^/]+)\/(rewards|tasks|evidence)\.json$/;
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

/** A percent-decoded path segment; a malformed escape (`%E0%A4%A`) is the client's error, not ours. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ProofRequestError(`malformed percent-encoding in ${JSON.stringify(segment.slice(0, 100))}`);
  }
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** A source that can name the published file of a dump (DirectoryProofSource): its dumps are served as files. */
interface DumpFiles {
  dumpFile(epoch: number, kind: PublishedFileKind): Promise<string | undefined>;
}

function hasDumpFiles(source: ProofSource): source is ProofSource & DumpFiles {
  return typeof (source as Partial<DumpFiles>).dumpFile === "function";
}

/** Streams the dump file (a million-leaf dump never sits in memory as one string). */
async function sendDump(res: ServerResponse, file: string, head: boolean): Promise<void> {
  const { size } = await stat(file);
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": size,
    "cache-control": "public, max-age=60",
  });
  if (head) {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res);
}

/** The proofs routes over `source` (usually a DirectoryProofSource on the keeper's publication directory). */
export function proofsHandler(source: ProofSource, logger?: Logger): RouteHandler {
  const log = logger?.child("api-proofs");
  const files = hasDumpFiles(source) ? source : undefined;
  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const proofMatch = PROOF_ROUTE.exec(path);
    const epochMatch = proofMatch === null ? EPOCH_ROUTE.exec(path) : null;
    const dumpMatch = files !== undefined ? DUMP_ROUTE.exec(path) : null;
    if (proofMatch === null && epochMatch === null && dumpMatch === null) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "use GET" } });
      return true;
    }
    try {
      if (proofMatch !== null) {
        const { epoch, account } = parseProofRequest(proofMatch[1], decodeSegment(proofMatch[2]!));
        send(res, 200, await source.proof(epoch, account));
      } else if (dumpMatch !== null) {
        const { epoch } = parseProofRequest(dumpMatch[1], ZERO_ADDRESS);
        const kind = dumpMatch[2] as PublishedFileKind;
        const file = await files!.dumpFile(epoch, kind);
        if (file === undefined) {
          send(res, 404, { error: { code: "NOT_PUBLISHED", message: `epoch ${epoch} has no ${kind} dump` } });
        } else {
          await sendDump(res, file, req.method === "HEAD");
        }
      } else {
        const { epoch } = parseProofRequest(epochMatch![1], ZERO_ADDRESS);
        send(res, 200, await source.summary(epoch));
      }
    } catch (err) {
      const body = errorBody(err);
      if (body.error.code === "INTERNAL") log?.error("proof request failed", { path, err: err as Error });
      // A dump that failed mid-stream: the status is sent, so the client only learns it from the cut.
      if (res.headersSent) res.destroy();
      else send(res, STATUS[body.error.code] ?? 500, body);
    }
    return true;
  };
}

/**
 * The operator's write routes, mounted by the API server only when it has a token:
 *   POST /api/publish       {path}                         → 200 {objectId, cid, size, parts, announced}
 *   POST /api/transfers     {objectId, size, providers[]}  → 202 {id}, at once (GET /api/tasks/<id> follows it)
 *   POST /api/epochs/close  {}                             → 200 the close's summary; with
 *        `accept: text/event-stream`, its steps as `event: step` and then `event: result` (or `event: error`)
 * Requests come only from loopback (403 otherwise, whatever api.host is) with `authorization: Bearer <token>`
 * (401 otherwise), the token `start` wrote to <dataDir>/api.token. Bodies are validated with zod; a 400 names
 * the field.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { realpathSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAbsolute, relative } from "node:path";

import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { z } from "zod";

import type { EpochCloseResult, EpochStepDetail } from "../epochs/closer.ts";
import type { Keeper } from "../keeper.ts";
import type { Logger } from "../logger.ts";
import { MAX_BODY_BYTES, MAX_TRANSFER_PROVIDERS } from "./constants.ts";
import { ApiBodyError, ApiForbiddenError } from "./errors.ts";
import { json, jsonError, SECURITY_HEADERS } from "./http.ts";

/** A provider: a full multiaddr ending in /p2p/<peer id>, or a bare peer id the keeper finds in the DHT. */
const provider = z.string().refine(
  (s) => {
    try {
      if (!s.startsWith("/")) return (peerIdFromString(s), true);
      return multiaddr(s)
        .getComponents()
        .some((c) => c.name === "p2p");
    } catch {
      return false;
    }
  },
  { error: "must be a multiaddr ending in /p2p/<peer id>, or a peer id" },
);

export const publishBody = z.strictObject({
  path: z
    .string({ error: "must be a string" })
    .min(1, { error: "must not be empty" })
    .refine(isAbsolute, { error: "must be an absolute path (the CLI resolves it)" }),
});

export const transferBody = z.strictObject({
  objectId: z
    .string({ error: "must be a string" })
    .regex(/^[0-9a-f]{64}$/, { error: "must be the object's SHA-256 as 64 lowercase hex digits" }),
  size: z
    .number({ error: "must be a number (bytes)" })
    .int({ error: "must be an integer (bytes)" })
    .positive({ error: "must be > 0 (bytes)" }),
  providers: z
    .array(provider, { error: "must be a list of multiaddrs" })
    .min(1, { error: "must name at least one provider" })
    .max(MAX_TRANSFER_PROVIDERS, { error: `must name at most ${MAX_TRANSFER_PROVIDERS} providers` }),
  priority: z.number().int().min(0).max(1_000).optional(),
  deadlineMs: z.number().int().positive().optional(),
});

export const closeEpochBody = z.strictObject({});

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4 === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const digest = (s: string) => createHash("sha256").update(s).digest();

async function readBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiBodyError("body", `larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  let raw: unknown = {};
  if (text !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ApiBodyError("body", "not valid JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
    const field = [...issue.path.map(String), ...keys.slice(0, 1)].join(".") || "body";
    throw new ApiBodyError(field, keys.length > 0 ? "unknown field" : issue.message);
  }
  return parsed.data;
}

/** What `close-epoch` prints: the trees' roots, the publication and the transactions. JSON-safe. */
export function closeSummary(r: EpochCloseResult): Record<string, unknown> {
  const s = r.summary;
  return {
    epoch: s.epoch,
    startMs: s.startMs,
    endMs: s.endMs,
    rewards: s.rewards,
    tasks: s.tasks,
    uri: s.uri ?? null,
    transactions: s.transactions,
    submit:
      r.submit === undefined
        ? null
        : {
            taskLog: r.submit.taskLog,
            rewardPool: r.submit.rewardPool,
            reputation: r.submit.reputation,
            txHashes: r.submit.txHashes,
          },
    role: r.turn?.role ?? (r.submit !== undefined ? "submitted" : null),
    outcome: r.outcome,
  };
}

export class OperatorRoutes {
  private readonly token: Buffer;
  private readonly routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    "/api/publish": (req, res) => this.publish(req, res),
    "/api/transfers": (req, res) => this.transfer(req, res),
    "/api/epochs/close": (req, res) => this.closeEpoch(req, res),
  };

  constructor(
    private readonly keeper: Keeper,
    token: string,
    private readonly log: Logger,
    private readonly init: { publishDirs: readonly string[] } = { publishDirs: [] },
  ) {
    this.token = digest(token);
  }

  /** Handles POST `path` if it is one of ours; false otherwise (the server answers 404/405). */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const route = this.routes[path];
    if (route === undefined) return false;
    if (!isLoopback(req.socket.remoteAddress)) {
      this.log.throttled("write refused", "warn", "write refused: not from loopback", {
        path,
        remote: req.socket.remoteAddress,
      });
      jsonError(res, 403, "FORBIDDEN", "write routes answer loopback clients only");
      return true;
    }
    const auth = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "");
    if (auth === null || !timingSafeEqual(digest(auth[1]!), this.token)) {
      jsonError(res, 401, "UNAUTHORIZED", "missing or wrong token (authorization: Bearer <dataDir>/api.token)");
      return true;
    }
    try {
      await route(req, res);
    } catch (err) {
      if (err instanceof ApiForbiddenError) return (jsonError(res, 403, err.code, err.message, "path"), true);
      if (!(err instanceof ApiBodyError)) throw err;
      jsonError(res, err.status, err.code, err.message, err.field);
    }
    return true;
  }

  private async publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path } = await readBody(req, publishBody);
    if (this.init.publishDirs.length === 0) {
      throw new ApiForbiddenError(
        "PUBLISH_DIRS_UNSET",
        "publishing through the API is off: set api.publishDirs to the directories it may read files from",
      );
    }
    let real: string;
    try {
      // Symbolic links resolved first: a link inside a publish directory must not lead outside it.
      real = realpathSync(path);
    } catch {
      throw new ApiBodyError("path", `no such file on the keeper's host: ${path}`);
    }
    const within = (dir: string) => {
      let root: string;
      try {
        root = realpathSync(dir);
      } catch {
        return false;
      }
      const rel = relative(root, real);
      return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
    };
    if (within(this.keeper.config.dataDir)) {
      throw new ApiForbiddenError("PATH_NOT_ALLOWED", "the keeper's data directory is never published");
    }
    if (!this.init.publishDirs.some(within)) {
      throw new ApiForbiddenError("PATH_NOT_ALLOWED", `not inside api.publishDirs: ${path}`);
    }
    const stat = statSync(real);
    if (!stat.isFile()) throw new ApiBodyError("path", `not a regular file: ${path}`);
    const r = await this.keeper.publish(real);
    this.log.info("published on operator request", { objectId: r.objectId, size: r.size });
    json(res, 200, {
      objectId: r.objectId,
      cid: r.cid.toString(),
      size: r.size,
      parts: r.parts,
      announced: r.announced,
    });
  }

  private async transfer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, transferBody);
    const { id } = await this.keeper.submitTransfer(body);
    this.log.info("transfer task queued on operator request", { id, objectId: body.objectId, size: body.size });
    json(res, 202, { id });
  }

  private async closeEpoch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await readBody(req, closeEpochBody);
    if (!(req.headers.accept ?? "").includes("text/event-stream")) {
      try {
        return json(res, 200, closeSummary(await this.keeper.closeEpoch()));
      } catch (err) {
        return jsonError(res, 500, "EPOCH_CLOSE_FAILED", (err as Error).message);
      }
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", ...SECURITY_HEADERS });
    const event = (name: string, data: unknown) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    const onStep = (e: Event) => event("step", (e as CustomEvent<EpochStepDetail>).detail);
    this.keeper.addEventListener("epoch:step", onStep);
    try {
      event("result", closeSummary(await this.keeper.closeEpoch()));
    } catch (err) {
      event("error", { code: "EPOCH_CLOSE_FAILED", message: (err as Error).message });
    } finally {
      this.keeper.removeEventListener("epoch:step", onStep);
      res.end();
    }
  }
}

/**
 * The exchange's messages as schemas (zod): what a peer sends is parsed here into typed values or refused with an
 * EpochExchangeError that says which field broke the protocol (penalised). The wire format is in the header of
 * protocol.ts and docs/PROTOCOL.md.
 */
import { peerIdFromString } from "@libp2p/peer-id";
import { z } from "zod";

import type { RawReceipt } from "../collect/collector.ts";
import { parseObservation, type SignedObservation } from "../observe/observation.ts";
import type { TaskRecordValue } from "../types.ts";
import { MAX_RECEIPT_PART_BYTES, RECEIPTS_PER_FRAME } from "./constants.ts";
import { EpochExchangeError } from "./errors.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** What an exchange asks for. */
export type ExchangeKind = "receipts" | "tasks" | "observations";

/** A request as the server acts on it (defaults applied, except `fromMs`, which depends on the server's window). */
export type ExchangeRequest =
  | { kind: "receipts" | "tasks"; fromMs?: number; toMs: number; cursor: number }
  | { kind: "observations"; epoch: number; cursor: number };

/** TaskLog status codes (contracts/TaskLog.sol): succeeded, failed, expired. */
const TASK_STATUSES = [1, 2, 3] as const;
const TASK_FIELDS = [
  "taskId",
  "consumer",
  "executor",
  "bytesMoved",
  "startedAt",
  "endedAt",
  "status",
  "dataSha256",
  "attempts",
  "evidence",
] as const;

const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const uint64 = z
  .string()
  .regex(/^\d{1,20}$/)
  .transform((x) => BigInt(x))
  .refine((x) => x < 2n ** 64n);

const requestSchema = z.object({
  v: z.literal(1),
  kind: z.enum(["receipts", "tasks", "observations"]).default("receipts"),
  fromMs: uint.optional(),
  toMs: uint.optional(),
  epoch: uint.min(1).optional(),
  cursor: uint.default(0),
});
const REQUEST_ERRORS: Record<string, string> = {
  v: "request needs v = 1 and a non-negative integer toMs",
  toMs: "request needs v = 1 and a non-negative integer toMs",
  kind: "kind must be receipts, tasks or observations",
  epoch: "epoch must be a positive integer",
  fromMs: "fromMs must be a non-negative integer",
  cursor: "cursor must be a non-negative integer",
};

const receiptSchema = z.object({
  provider: z.string().refine(isPeerId, "receipt entry names no valid provider peer id"),
  body: z.string().transform((b) => new Uint8Array(Buffer.from(b, "base64"))),
  signature: z.string().transform((b) => new Uint8Array(Buffer.from(b, "base64"))),
});

const taskSchema = z.tuple([
  hex32,
  address,
  address,
  uint64,
  uint64,
  uint64,
  z.number().refine((s) => (TASK_STATUSES as readonly number[]).includes(s)),
  hex32,
  z.number().int().min(0).max(65_535),
  hex32,
]);

const doneSchema = z.object({ done: z.literal(true), next: uint.optional() });

function isPeerId(s: string): boolean {
  try {
    peerIdFromString(s);
    return true;
  } catch {
    return false;
  }
}

/** One frame's JSON object; anything else (not UTF-8, not JSON, an array, a scalar) breaks the protocol. */
export function parseObject(body: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(decoder.decode(body)) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new EpochExchangeError("message is not a JSON object", true);
}

/**
 * A request frame: `{"v":1,"kind","fromMs","toMs","cursor"}` (a task request must name its fromMs), or
 * `{"v":1,"kind":"observations","epoch","cursor"}`.
 */
export function parseRequest(msg: Record<string, unknown>): ExchangeRequest {
  const r = requestSchema.safeParse(msg);
  if (!r.success) {
    const field = String(r.error.issues[0]?.path[0] ?? "v");
    throw new EpochExchangeError(REQUEST_ERRORS[field] ?? `bad request field ${field}`, true);
  }
  const { kind, fromMs, toMs, epoch, cursor } = r.data;
  if (kind === "observations") {
    if (epoch === undefined) throw new EpochExchangeError(REQUEST_ERRORS.epoch!, true);
    return { kind, epoch, cursor };
  }
  if (toMs === undefined) throw new EpochExchangeError(REQUEST_ERRORS.toMs!, true);
  if ((kind === "tasks" && fromMs === undefined) || (fromMs !== undefined && fromMs > toMs)) {
    throw new EpochExchangeError(`a ${kind} request needs an integer fromMs in [0, toMs]`, true);
  }
  return { kind, fromMs, toMs, cursor };
}

/** One receipt entry `{provider, body, signature}` (base64), each part within MAX_RECEIPT_PART_BYTES. */
export function parseReceipt(v: unknown): RawReceipt {
  const r = receiptSchema.safeParse(v);
  if (!r.success) {
    const issue = r.error.issues[0];
    const custom = issue?.code === "custom";
    throw new EpochExchangeError(custom ? issue.message : "receipt entry lacks provider, body or signature", true);
  }
  const { body, signature } = r.data;
  if (
    body.byteLength === 0 ||
    body.byteLength > MAX_RECEIPT_PART_BYTES ||
    signature.byteLength > MAX_RECEIPT_PART_BYTES
  ) {
    throw new EpochExchangeError("receipt entry out of size bounds", true);
  }
  return r.data;
}

/** One task record entry: the ten TaskLog fields, integers over 2^53 as decimal strings. */
export function parseTaskRecord(v: unknown): TaskRecordValue {
  const r = taskSchema.safeParse(v);
  if (!r.success) {
    const index = r.error.issues[0]?.path[0];
    const what = typeof index === "number" ? TASK_FIELDS[index] : "not an array of 10 fields";
    throw new EpochExchangeError(`task record entry: ${what ?? "not an array of 10 fields"}`, true);
  }
  return r.data;
}

/** One observation entry (observe/observation.ts): fields checked here, its signature by the observer module. */
export function parseObservationEntry(v: unknown): SignedObservation {
  try {
    return parseObservation(v);
  } catch (err) {
    throw new EpochExchangeError(`observation entry: ${(err as Error).message}`, true);
  }
}

/**
 * One response frame: `{"done":true,"next"?}` → `{ done, next }`; `{"error":"…"}` → a (not penalised) refusal;
 * otherwise `{"<kind>":[…]}` with at most RECEIPTS_PER_FRAME entries → `{ entries }`.
 */
export function parseResponseFrame(
  msg: Record<string, unknown>,
  kind: ExchangeKind,
): { done: true; next?: number } | { done: false; entries: unknown[] } {
  if (msg.done === true) {
    const d = doneSchema.safeParse(msg);
    if (!d.success) throw new EpochExchangeError("next must be a non-negative integer cursor", true);
    return d.data;
  }
  if (typeof msg.error === "string") throw new EpochExchangeError(`peer refused: ${msg.error}`, false);
  const entries = msg[kind];
  if (!Array.isArray(entries) || entries.length > RECEIPTS_PER_FRAME) {
    throw new EpochExchangeError(`response frame without a ${kind} array of allowed size`, true);
  }
  return { done: false, entries };
}

/**
 * Classifies errors from ethers / the JSON-RPC node, so that retries are decided in one place:
 * - `transient`: connection refused/reset, timeouts, HTTP 5xx, rate limits: retry with back-off;
 * - `nonce`: the nonce we used is stale (too low, already known, underpriced replacement): re-read the chain;
 * - `revert`: the EVM reverted: never retry, the same call reverts again;
 * - `fatal`: anything else (insufficient funds, bad arguments, cancelled): surface to the caller.
 */
export type RpcErrorKind = "transient" | "nonce" | "revert" | "fatal";

const TRANSIENT_CODES = new Set(["NETWORK_ERROR", "TIMEOUT", "SERVER_ERROR"]);
const NODE_TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const TRANSIENT_MESSAGES =
  /socket hang up|fetch failed|ECONNREFUSED|ECONNRESET|timeout|timed out|rate limit|too many requests|header not found|503|502|504/i;
const NONCE_MESSAGES =
  /nonce (is )?too low|nonce has already been used|already known|known transaction|replacement (transaction )?underpriced|nonce too high/i;

/** Walks the error and its causes (ethers nests the node's error under `error`, `info.error` or `cause`). */
function* chainOf(err: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const rec = e as Record<string, unknown>;
    yield rec;
    queue.push(rec.cause, rec.error, (rec.info as Record<string, unknown> | undefined)?.error);
  }
}

export function classifyRpcError(err: unknown): RpcErrorKind {
  let sawTransientMessage = false;
  for (const e of chainOf(err)) {
    const code = e.code;
    const message = typeof e.message === "string" ? e.message : "";
    if (code === "CALL_EXCEPTION") return "revert";
    if (code === "NONCE_EXPIRED" || code === "REPLACEMENT_UNDERPRICED") return "nonce";
    if (NONCE_MESSAGES.test(message)) return "nonce";
    if (typeof code === "string" && (TRANSIENT_CODES.has(code) || NODE_TRANSIENT_CODES.has(code))) return "transient";
    // JSON-RPC -32005 (limit exceeded) and HTTP 429 are transient by code. -32603 (internal error) is not: nodes
    // also report reverts with it, so only its message (below) can make it transient.
    if (code === -32005 || code === 429) return "transient";
    if (/execution reverted|reverted with|VM Exception/i.test(message)) return "revert";
    if (code === "INSUFFICIENT_FUNDS" || code === "CANCELLED" || code === "ABORT_ERR") return "fatal";
    if (e.name === "AbortError") return "fatal";
    if (TRANSIENT_MESSAGES.test(message)) sawTransientMessage = true;
  }
  return sawTransientMessage ? "transient" : "fatal";
}

/** The revert data (`0x…` selector + args) carried by a CALL_EXCEPTION, if any. */
export function revertDataOf(err: unknown): string | undefined {
  for (const e of chainOf(err)) {
    const data = e.data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
  }
  return undefined;
}

/**
 * One audit fetch: a byte range of the object is read through the transfer module's public stream API — the very
 * call a customer's ranged read makes, on the same node, with the same identity, so the provider sees the ordinary
 * `/lumora/transfer/2.0.0` session (Hello, then pipelined part requests in index order from the part holding the
 * range's start) — and the reading stops once `budgetBytes` verified bytes arrived. The range read is never shorter
 * than the budget, so the fetch never completes and no receipt is signed: an audit never credits the provider it
 * measures.
 *
 * Measured: verified bytes, time to the first verified byte, time to the last (or to the failure), and the
 * transfer error code when the fetch failed.
 */
import { linkSignals } from "../signals.ts";
import { NoProvidersError, TransferError } from "../transfer/index.ts";
import { AuditTimeoutError } from "./errors.ts";
import type { AuditMeasurement } from "./judge.ts";

/** The slice of the transfer service an audit uses: its public streaming fetch. */
export type FetchStream = (
  objectId: string,
  options: { providers: readonly string[]; range?: { offset: number; length: number }; signal?: AbortSignal },
) => AsyncIterable<Uint8Array>;

export interface AuditFetchOptions {
  provider: string;
  objectId: string;
  /** First byte of the object read (the read starts at the part holding it). */
  offsetBytes: number;
  budgetBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** The code of a fetch failure: the provider's own failure when the fetch names one. */
export function failureCode(err: unknown, provider: string): string {
  if (err instanceof NoProvidersError) {
    const own = err.failures.find((f) => f.peerId === provider) ?? err.failures[0];
    return own?.code ?? err.code;
  }
  if (err instanceof AuditTimeoutError || err instanceof TransferError) return err.code;
  return "ERR_UNKNOWN";
}

/** Runs one audit fetch; resolves with the measurement (failures included), rejects only when `signal` aborts. */
export async function auditFetch(fetchStream: FetchStream, options: AuditFetchOptions): Promise<AuditMeasurement> {
  const now = options.now ?? Date.now;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new AuditTimeoutError(options.timeoutMs)), options.timeoutMs);
  // Linked for this audit only: AbortSignal.any on the auditor's long-lived signal kept memory per audit.
  const link = linkSignals([options.signal, timeout.signal]);
  const signal = link.signal;
  const start = now();
  let bytes = 0;
  let firstByteMs: number | undefined;
  try {
    const range = { offset: options.offsetBytes, length: options.budgetBytes };
    for await (const chunk of fetchStream(options.objectId, { providers: [options.provider], range, signal })) {
      firstByteMs ??= now() - start;
      bytes += chunk.byteLength;
      if (bytes >= options.budgetBytes) break;
    }
    return { bytes, elapsedMs: now() - start, ...(firstByteMs !== undefined && { firstByteMs }) };
  } catch (err) {
    options.signal?.throwIfAborted();
    const code = timeout.signal.aborted ? "ERR_AUDIT_TIMEOUT" : failureCode(err, options.provider);
    return { bytes, elapsedMs: now() - start, ...(firstByteMs !== undefined && { firstByteMs }), errorCode: code };
  } finally {
    clearTimeout(timer);
    link.clear();
  }
}

/**
 * The DHT validator and selector for Lumora's record namespace. Passed to `createLumoraNode`; without them
 * the DHT silently drops our records.
 */
import type { SelectFn, ValidateFn } from "@libp2p/kad-dht";

import type { Logger } from "../logger.ts";
import { PEER_RECORD_NAMESPACE } from "./constants.ts";
import { RecordError } from "./errors.ts";
import { peerIdFromRecordKey, recordSeq, verifyPeerRecord } from "./record.ts";

export function peerRecordValidator(log?: Logger): ValidateFn {
  return async (key, value) => {
    try {
      await verifyPeerRecord(key, value);
    } catch (err) {
      const e = err instanceof RecordError ? err : new RecordError("ERR_RECORD_MALFORMED", String(err));
      // The record itself is never logged, only why it was refused and whose it claims to be.
      log?.throttled("peer record rejected", "warn", "peer record rejected", {
        code: e.code,
        reason: e.message,
        key: peerIdFromRecordKey(key),
        bytes: value.byteLength,
      });
      throw e;
    }
  };
}

/** Highest sequence number wins; on a tie the first (kad-dht prefers the local copy). */
export const peerRecordSelector: SelectFn = (_key, records) => {
  let best = 0;
  let bestSeq = -1n;
  records.forEach((r, i) => {
    const seq = recordSeq(r);
    if (seq > bestSeq) {
      best = i;
      bestSeq = seq;
    }
  });
  return best;
};

/** `validators`/`selectors` to hand to `createLumoraNode`. */
export function discoveryRecordHandlers(log?: Logger): {
  validators: Record<string, ValidateFn>;
  selectors: Record<string, SelectFn>;
} {
  return {
    validators: { [PEER_RECORD_NAMESPACE]: peerRecordValidator(log) },
    selectors: { [PEER_RECORD_NAMESPACE]: peerRecordSelector },
  };
}

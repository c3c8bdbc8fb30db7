/**
 * Epoch test fixtures: an in-memory store with the tasks, transfer and health tables, signed receipts from
 * real consumer keys, and finished tasks written the way the task manager writes them.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { getAddress } from "ethers";

import {
  EpochCollector,
  type EpochCollectorComponents,
  type EpochCollectorInit,
} from "../../../keeper/epochs/collect/collector.ts";
import { HealthCounters } from "../../../keeper/health/counters.ts";
import { openStore, type Store } from "../../../keeper/store/index.ts";
import { TaskStore } from "../../../keeper/tasks/store.ts";
import { signReceipt } from "../../../keeper/transfer/receipt.ts";
import { TransferStore } from "../../../keeper/transfer/store.ts";
import { silent } from "../helpers.ts";

export interface Peer {
  key: PrivateKey;
  id: string;
  address: string;
}

export async function peer(n: number): Promise<Peer> {
  const key = await generateKeyPair("Ed25519");
  return {
    key,
    id: peerIdFromPrivateKey(key).toString(),
    address: getAddress("0x" + n.toString(16).padStart(40, "0")),
  };
}

export interface EpochWorld {
  store: Store;
  tasks: TaskStore;
  transfer: TransferStore;
  counters: HealthCounters;
  collector: EpochCollector;
  addresses: Map<string, string>;
  /** Stores a receipt signed by `consumer` for `bytes` served by `provider`, as stored at `atMs`. */
  receipt(consumer: Peer, provider: Peer, bytes: number, atMs: number, epoch?: number): Promise<void>;
  /** Stores an already signed receipt (the same one another keeper holds) as stored at `atMs`. */
  storeReceipt(r: SignedTestReceipt, atMs: number): void;
  /** Writes a finished task ending at `endedAtMs`. */
  task(id: string, consumer: Peer, executor: Peer, endedAtMs: number, status?: "succeeded" | "failed"): void;
  close(): void;
}

let objectSeq = 0;

export function world(
  init: Partial<EpochCollectorInit> = {},
  extra: Partial<EpochCollectorComponents> = {},
): EpochWorld {
  const store = openStore(":memory:");
  const tasks = new TaskStore(store);
  const transfer = new TransferStore(store);
  const counters = new HealthCounters(store);
  const addresses = new Map<string, string>();
  const collector = new EpochCollector(
    { store, logger: silent, tasks, counters, addressOf: (id) => addresses.get(id), ...extra },
    { rewardPerEpoch: 1000n, genesisMs: 1_000, ...init },
  );
  let seq = 0;
  return {
    store,
    tasks,
    transfer,
    counters,
    collector,
    addresses,
    async receipt(consumer, provider, bytes, atMs, epoch = collector.currentEpoch()) {
      this.storeReceipt(await signedReceipt(consumer, provider, bytes, epoch, atMs), atMs);
    },
    storeReceipt(r, atMs) {
      store.db
        .prepare(
          "INSERT INTO transfer_receipts (object_id, provider, epoch, body, signature, issued_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(`raw-${++objectSeq}`, r.provider, r.epoch, r.body, r.signature, atMs);
    },
    task(id, consumer, executor, endedAtMs, status = "succeeded") {
      store.db
        .prepare(
          "INSERT INTO tasks (seq, id, priority, size, consumer, deadline, capabilities, min_bandwidth, status, executor, " +
            "attempts, created_at, started_at, ended_at, bytes, sha256) VALUES (?, ?, 1, 100, ?, 0, '[]', 0, ?, ?, 1, ?, ?, ?, 100, ?)",
        )
        .run(++seq, id, consumer.id, status, executor.id, endedAtMs - 10, endedAtMs - 10, endedAtMs, "ab".repeat(32));
    },
    close: () => store.close(),
  };
}

/** A consumer-signed receipt, to be stored in several keepers' stores. */
export interface SignedTestReceipt {
  provider: string;
  epoch: number;
  bytes: number;
  body: Uint8Array;
  signature: Uint8Array;
}

export async function signedReceipt(
  consumer: Peer,
  provider: Peer,
  bytes: number,
  epoch = 1,
  issuedAtMs = Date.now(),
): Promise<SignedTestReceipt> {
  const objectId = new Uint8Array(32);
  new DataView(objectId.buffer).setUint32(0, ++objectSeq);
  const signed = await signReceipt(consumer.key, {
    objectId,
    provider: provider.id,
    consumer: consumer.id,
    epoch: BigInt(epoch),
    bytes: BigInt(bytes),
    parts: [0],
    issuedAtMs: BigInt(issuedAtMs),
  });
  return { provider: provider.id, epoch, bytes, body: signed.body, signature: signed.signature };
}

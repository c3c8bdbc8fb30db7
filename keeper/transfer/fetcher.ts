/**
 * One fetch of one object from several providers. Parts are requested in parallel (a few per provider; for a
 * stream never more than the reorder window ahead of the in-order cursor, so memory stays bounded whatever the
 * object size; to a file each verified part goes to disk at once, so none is held and no window applies),
 * verified by each provider session against the manifest (whose part hashes the session checked against the
 * object id, so each byte is hashed once), written to disk at their offsets (file mode) and handed in order to
 * the reader (stream mode). A provider whose session fails is dropped for this fetch, reported, and its parts go back to the queue for the others. Verified parts are
 * checkpointed to the store in batches after an fdatasync, so a restarted fetch skips them.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import type { Connection, PeerId, PrivateKey } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";

import type { Logger } from "../logger.ts";
import {
  PaymentError,
  toWire,
  type PaymentErrorCode,
  type SignedVoucher,
  type VoucherPayer,
} from "../payment/index.ts";
import {
  DEFAULT_CHECKPOINT_BYTES,
  DEFAULT_CHECKPOINT_INTERVAL,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_PENDING_WRITES,
  DEFAULT_PART_TIMEOUT,
  DEFAULT_REORDER_WINDOW,
  CONCENTRATE_ABOVE_UTILIZATION,
  DEFAULT_REQUESTS_PER_PROVIDER,
  SOURCE_BACKOFF_WINDOWS,
  SOURCE_JUDGE_PARTS,
  SOURCE_MAX_BACKOFF_WINDOWS,
  SOURCE_MIN_GAIN,
  SOURCE_OPEN_STAGGER,
  SOURCE_SETTLE_WINDOWS,
  SOURCE_SLOW_RATIO,
  SOURCE_TRIAL_WINDOWS,
  SPREAD_BELOW_UTILIZATION,
  TAG_LENGTH,
  UTILIZATION_WINDOW,
  VOUCHER_EVERY_BYTES,
} from "./constants.ts";
import {
  InvalidInputError,
  ManifestMismatchError,
  NoProvidersError,
  TransferError,
  type TransferErrorCode,
} from "./errors.ts";
import { objectIdFromHex, partLength, type Manifest } from "./manifest.ts";
import { signReceipt, type SignedReceipt } from "./receipt.ts";
import { ProviderSession, type PlainPart } from "./session.ts";
import { FileSink } from "./sink.ts";
import { SourcePlan } from "./sources.ts";
import type { StoredReceipt, TransferStore, VerifiedPart } from "./store.ts";

/** A provider to fetch from: a peer id or multiaddr, as a string or as the libp2p object. */
export type ProviderTarget = string | PeerId | Multiaddr;

export interface ProviderFailureDetail {
  penalise: boolean;
  message: string;
  objectId: string;
}

export type ProviderFailureReporter = (
  peerId: string,
  reason: TransferErrorCode | PaymentErrorCode | "ERR_UNKNOWN",
  detail: ProviderFailureDetail,
) => void;

export interface FetchComponents {
  self: string;
  privateKey: PrivateKey;
  logger: Logger;
  store: TransferStore;
  connect(target: ProviderTarget, options?: { signal?: AbortSignal }): Promise<Connection>;
  onProviderFailure?: ProviderFailureReporter;
  currentEpoch?(): bigint;
  /** Pays providers that take vouchers, after each verified part (docs/transfer.md); absent, nothing is paid. */
  payer?: VoucherPayer;
}

export interface FetchInit {
  /** Part requests in flight to each active source (DEFAULT_REQUESTS_PER_PROVIDER). */
  requestsPerProvider?: number;
  /** A cap on the part requests in flight across all sources, never below one per active source. Default: none
   * (each active source has `requestsPerProvider`). */
  requestsInFlight?: number;
  /** Stream fetches: parts requested at most this far ahead of the in-order cursor (DEFAULT_REORDER_WINDOW). A fetch
   * to a file holds no verified part in memory and has no such bound. */
  reorderWindow?: number;
  partTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  checkpointBytes?: number;
  checkpointIntervalMs?: number;
  maxPendingWrites?: number;
  /** true (default): one source first, another only when it measurably raises throughput, slow ones replaced by
   * spares (keeper/transfer/sources.ts, docs/transfer.md); false: every open session gets requests from the start. */
  adaptiveSources?: boolean;
}

export interface FetchOptions {
  /** Providers chosen by routing. */
  providers: readonly ProviderTarget[];
  signal?: AbortSignal;
  /**
   * Stream fetches only: read just the parts that cover bytes [offset, offset + length) of the object — whole
   * verified parts, in order, from the one holding `offset` — as a reader seeking into an object does. The
   * session is the same as for a whole fetch (Hello, then part requests in index order), starting at that part.
   * Absent: the whole object.
   */
  range?: { offset: number; length: number };
}

export interface ProviderShare {
  peerId: string;
  parts: number;
  /** Verified plaintext bytes of those parts. */
  bytes: number;
  /** What the provider sent for them (ciphertext after compression, tags included): what its receipt credits. */
  wireBytes: number;
}

export interface FetchResult {
  objectId: string;
  size: number;
  parts: number;
  /** Part size (bytes) of the manifest: publishing the fetched file again with it gives the same object id. */
  partSize: number;
  /** Parts taken from a previous, interrupted run (verified on disk, not fetched again). */
  resumedParts: number;
  /** Parts fetched over the network in this run. */
  fetchedParts: number;
  providers: ProviderShare[];
  failures: Array<{ peerId: string; code: string }>;
  receipts: SignedReceipt[];
}

/**
 * How long this thread has waited, runnable, for a core since it started (ms): Linux's schedstat run-queue time.
 * Undefined where it cannot be read (not Linux, or schedstats unavailable); the plan then counts no wait.
 */
function runQueueWaitMs(): number | undefined {
  if (schedstatMissing) return undefined;
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[1]) / 1e6;
  } catch {
    schedstatMissing = true;
    return undefined;
  }
}
let schedstatMissing = false;

/** What a fetch to a file keeps of a verified part until the cursor passes it: nothing. */
const NO_BYTES: PlainPart = [];

const MISSING = 0;
const IN_FLIGHT = 1;
const VERIFIED = 2;
/** Verified by a previous run: on disk, re-checked against the manifest when the cursor reaches it. */
const ON_DISK = 3;

export class ObjectFetch {
  private readonly log: Logger;
  private readonly idBytes: Uint8Array;
  private manifest: Manifest | undefined;
  private manifestBytes: Uint8Array | undefined;
  private state = new Uint8Array(0);
  /** Set once `prepare()` is done (in file mode, the sink is open): no part is requested before, since one that
   * arrived earlier would have nowhere to be written. */
  private prepared = false;
  private readonly retry: number[] = [];
  private scan = 0;
  private cursor = 0;
  /** Parts [first, end) are read: the whole object, or those covering `options.range`. */
  private first = 0;
  private end = 0;
  private readonly reorder = new Map<number, PlainPart>();
  private waiter: { index: number; resolve(b: PlainPart): void; reject(e: unknown): void } | undefined;
  private readonly sessions = new Set<ProviderSession>();
  private opening = 0;
  /** Providers not opened yet (adaptive sources): one is opened when the plan needs a source or one is lost. */
  private candidates: ProviderTarget[] = [];
  private fatal: unknown;
  private finished = false;
  private readonly failures: Array<{ peerId: string; code: string }> = [];
  /** Per provider that takes vouchers: its reward account (the channel its vouchers and receipt name). */
  private readonly accounts = new Map<string, string>();
  /** Per paying session: the parts (their bytes on the wire) verified since its last voucher. */
  private readonly unpaid = new Map<ProviderSession, { account: string; parts: number[]; bytes: number }>();
  /** Per paying session: what its first voucher paid ahead that the parts since have not yet used (token units). */
  private readonly prepaid = new Map<ProviderSession, bigint>();
  /** Vouchers signed and sent so far; awaited before the receipts are signed. */
  private payments: Promise<unknown> = Promise.resolve();
  /** Per provider: the parts it delivered (verified) and the bytes it sent for them. */
  private readonly shares = new Map<string, { parts: number[]; wireBytes: number }>();
  private resumedParts = 0;
  private fetchedParts = 0;
  private sink: FileSink | undefined;
  private pendingWrites = 0;
  private downloadId: number | undefined;
  private pendingCheckpoint: VerifiedPart[] = [];
  private pendingBytes = 0;
  private lastCheckpoint = Date.now();
  private checkpointChain: Promise<void> = Promise.resolve();
  /** Which sessions get requests (adaptive sources only). */
  private readonly plan: SourcePlan<ProviderSession> | undefined;
  private windowMark: { at: number; cpu: NodeJS.CpuUsage; wait: number | undefined } | undefined;
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly init: Required<FetchInit>;

  constructor(
    private readonly components: FetchComponents,
    init: FetchInit,
    readonly objectId: string,
    private readonly options: FetchOptions,
    private readonly dest: string | undefined,
  ) {
    this.log = components.logger.child("fetch");
    this.idBytes = objectIdFromHex(objectId);
    this.init = {
      requestsPerProvider: init.requestsPerProvider ?? DEFAULT_REQUESTS_PER_PROVIDER,
      requestsInFlight: init.requestsInFlight ?? Number.POSITIVE_INFINITY,
      reorderWindow: init.reorderWindow ?? DEFAULT_REORDER_WINDOW,
      partTimeoutMs: init.partTimeoutMs ?? DEFAULT_PART_TIMEOUT,
      handshakeTimeoutMs: init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT,
      checkpointBytes: init.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES,
      checkpointIntervalMs: init.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL,
      maxPendingWrites: init.maxPendingWrites ?? DEFAULT_MAX_PENDING_WRITES,
      adaptiveSources: init.adaptiveSources ?? true,
    };
    if (this.init.adaptiveSources && options.providers.length > 1) {
      this.plan = new SourcePlan({
        spreadBelow: SPREAD_BELOW_UTILIZATION,
        concentrateAbove: CONCENTRATE_ABOVE_UTILIZATION,
        minGain: SOURCE_MIN_GAIN,
        settleWindows: SOURCE_SETTLE_WINDOWS,
        trialWindows: SOURCE_TRIAL_WINDOWS,
        judgeParts: SOURCE_JUDGE_PARTS,
        backoffWindows: SOURCE_BACKOFF_WINDOWS,
        maxBackoffWindows: SOURCE_MAX_BACKOFF_WINDOWS,
        slowRatio: SOURCE_SLOW_RATIO,
      });
    }
    this.signal =
      options.signal === undefined ? this.controller.signal : AbortSignal.any([options.signal, this.controller.signal]);
  }

  /** Fetches into `dest` (file mode). */
  async toFile(): Promise<FetchResult> {
    const parts = this.ordered();
    for await (const _ of parts);
    return this.result;
  }

  private result!: FetchResult;

  /** Yields the object's bytes in order; the generator throws if anything fails verification. */
  async *ordered(): AsyncGenerator<Uint8Array, void, undefined> {
    const onAbort = () => this.setFatal(this.signal.reason);
    this.signal.addEventListener("abort", onAbort, { once: true });
    let ok = false;
    let adapting: NodeJS.Timeout | undefined;
    try {
      this.signal.throwIfAborted();
      await this.openSessions();
      await this.prepare();
      if (this.plan !== undefined) {
        this.windowMark = { at: performance.now(), cpu: process.cpuUsage(), wait: runQueueWaitMs() };
        adapting = setInterval(() => this.adaptSources(), UTILIZATION_WINDOW).unref();
      }
      const manifest = this.manifest!;
      const n = manifest.partHashes.length;
      for (let i = this.first; i < this.end; i++) {
        this.cursor = i;
        this.pump();
        const part = await this.partAt(i);
        this.reorder.delete(i);
        for (const chunk of part) yield chunk;
      }
      this.cursor = n;
      await this.complete();
      ok = true;
    } catch (err) {
      this.setFatal(err);
      throw err;
    } finally {
      clearInterval(adapting);
      this.signal.removeEventListener("abort", onAbort);
      this.finished = true;
      await this.teardown(ok);
    }
  }

  // ---- sessions ----

  /**
   * Opens the first session. Adaptive sources: one provider at a time, in the order given — the next when the one
   * opening failed or has not answered within SOURCE_OPEN_STAGGER — and the others only when the plan needs a source
   * or one is lost (`openSpare`): a handshake the fetch does not need is CPU taken from the source it uses.
   * Otherwise every provider at once.
   */
  private openSessions(): Promise<void> {
    const targets = this.options.providers;
    if (targets.length === 0) return Promise.reject(new NoProvidersError(this.objectId, []));
    this.candidates = [...targets];
    const staggered = this.plan !== undefined;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const next = () => {
        const target = this.candidates.shift();
        if (target === undefined) return;
        this.plan?.setUnopened(this.candidates.length);
        this.opening++;
        const stagger = staggered ? setTimeout(() => settled || next(), SOURCE_OPEN_STAGGER).unref() : undefined;
        void this.openOne(target).then(
          () => {
            clearTimeout(stagger);
            this.opening--;
            if (!settled && this.manifest !== undefined) {
              settled = true;
              resolve();
            } else if (!settled && this.signal.aborted) {
              // (providers may be left unopened: none will be)
              settled = true;
              reject(this.signal.reason);
            } else if (!settled && this.opening === 0 && this.candidates.length === 0) {
              settled = true;
              reject(this.signal.aborted ? this.signal.reason : new NoProvidersError(this.objectId, this.failures));
            } else if (!settled && staggered) {
              next();
            }
            this.pump();
          },
          () => {},
        );
      };
      if (staggered) next();
      else while (this.candidates.length > 0) next();
    });
  }

  /** Opens the next provider not opened yet, if any and none is opening (adaptive sources). */
  private openSpare(): void {
    if (this.opening > 0 || this.finished || this.fatal !== undefined) return;
    const target = this.candidates.shift();
    if (target === undefined) return;
    this.opening++;
    // The plan asks for no other source while this one opens.
    this.plan?.setUnopened(0);
    void this.openOne(target).then(
      () => {
        this.opening--;
        this.plan?.setUnopened(this.candidates.length);
        this.pump();
      },
      () => {},
    );
  }

  private async openOne(target: ProviderTarget): Promise<void> {
    let peerId = typeof target === "string" ? target : String(target);
    try {
      const connection = await this.components.connect(target, { signal: this.signal });
      peerId = connection.remotePeer.toString();
      if ([...this.sessions].some((s) => s.peerId === peerId) || peerId === this.components.self) {
        return;
      }
      const session = await ProviderSession.open(connection, {
        self: this.components.self,
        objectId: this.idBytes,
        partTimeoutMs: this.init.partTimeoutMs,
        handshakeTimeoutMs: this.init.handshakeTimeoutMs,
        signal: this.signal,
      });
      // Pay only the account the provider's signed record names (payment/channel.ts): a Welcome naming another is refused.
      if (session.paymentAccount !== undefined && this.components.payer !== undefined) {
        try {
          this.components.payer.checkAccount(peerId, session.paymentAccount);
        } catch (err) {
          session.fail(err);
          throw err;
        }
      }
      if (this.manifestBytes === undefined) {
        this.manifest = session.manifest;
        this.manifestBytes = session.manifestBytes;
      } else if (!Buffer.from(session.manifestBytes).equals(this.manifestBytes)) {
        session.fail(new ManifestMismatchError());
        throw new ManifestMismatchError();
      }
      if (this.finished || this.fatal !== undefined) {
        await session.close();
        return;
      }
      // The voucher ahead goes out before the first part request.
      await this.prepay(session);
      if (this.finished || this.fatal !== undefined) {
        await session.close();
        return;
      }
      this.sessions.add(session);
      this.plan?.add(session);
      this.log.debug("provider session open", { objectId: this.objectId, provider: peerId });
    } catch (err) {
      if (this.signal.aborted) return;
      this.report(peerId, err);
    }
  }

  private report(peerId: string, err: unknown): void {
    const code = err instanceof TransferError || err instanceof PaymentError ? err.code : "ERR_UNKNOWN";
    const penalise = (err instanceof TransferError || err instanceof PaymentError) && err.penalise;
    const message = err instanceof Error ? err.message : String(err);
    this.failures.push({ peerId, code });
    (penalise ? this.log.warn : this.log.info)("provider dropped", {
      objectId: this.objectId,
      provider: peerId,
      code,
      penalise,
    });
    try {
      this.components.onProviderFailure?.(peerId, code, { penalise, message, objectId: this.objectId });
    } catch (cbErr) {
      this.log.error("provider failure callback threw", { error: cbErr });
    }
  }

  private dropSession(session: ProviderSession, err: unknown): void {
    if (!this.sessions.delete(session)) return;
    this.plan?.remove(session);
    // No open spare left to take its place: open the next provider.
    if (this.plan !== undefined && this.sessions.size <= this.plan.active.length) this.openSpare();
    session.fail(err);
    if (this.fatal === undefined && !this.finished) this.report(session.peerId, err);
  }

  // ---- scheduling ----

  private takeNext(limit: number): number | undefined {
    if (this.retry.length > 0 && this.retry[0] < limit) return this.retry.shift();
    while (this.scan < limit && this.state[this.scan] !== MISSING) this.scan++;
    if (this.scan < limit) return this.scan++;
    return undefined;
  }

  private requeue(index: number): void {
    this.state[index] = MISSING;
    let i = this.retry.length;
    while (i > 0 && this.retry[i - 1] > index) i--;
    this.retry.splice(i, 0, index);
  }

  private pump(): void {
    if (this.fatal !== undefined || this.finished || this.manifest === undefined || !this.prepared) {
      this.checkStarved();
      return;
    }
    // Disk backpressure: no new requests while too many verified parts wait to be written.
    if (this.pendingWrites >= this.init.maxPendingWrites) return;
    // The reorder window bounds the verified parts a stream holds until the cursor reaches them. A fetch to a file
    // holds none (each is on its way to disk, `onPart`), so it requests past it: a source holding the part the cursor
    // waits for (slow, descheduled, just tried) no longer stops every other source 32 parts later.
    const limit = this.dest !== undefined ? this.end : Math.min(this.end, this.cursor + this.init.reorderWindow);
    // Requests go to the active sessions (the plan's, or all); spares only finish what they were given. Each
    // active one has up to `requestsPerProvider` in flight and is refilled as its parts arrive, so a faster
    // source gets more parts.
    const active = this.plan !== undefined ? [...this.plan.active] : [...this.sessions];
    const cap = Math.max(this.init.requestsInFlight, active.length);
    let inFlight = 0;
    for (const session of active) inFlight += session.inFlight;
    let assigned = true;
    while (assigned && inFlight < cap) {
      assigned = false;
      // least loaded first
      for (const session of active.sort((a, b) => a.inFlight - b.inFlight)) {
        if (inFlight >= cap) break;
        if (session.inFlight >= this.init.requestsPerProvider) continue;
        const index = this.takeNext(limit);
        if (index === undefined) return;
        this.state[index] = IN_FLIGHT;
        assigned = true;
        inFlight++;
        session.request(index).then(
          (part) => this.onPart(session, index, part.plain, part.wireBytes),
          (err) => {
            this.requeue(index);
            this.dropSession(session, err);
            this.pump();
          },
        );
      }
    }
    this.checkStarved();
  }

  /** Fails the fetch when parts are still needed but no provider is left or coming. */
  private checkStarved(): void {
    if (this.fatal !== undefined || this.finished || this.manifest === undefined) return;
    if (this.sessions.size === 0 && this.opening === 0 && this.cursor < this.end) {
      if (this.candidates.length > 0) this.openSpare();
      else this.setFatal(new NoProvidersError(this.objectId, this.failures));
    }
  }

  /** Ends one scheduling window: the plan sees the window's CPU time and length, and may change the sources. */
  private adaptSources(): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const wait = runQueueWaitMs();
    const mark = this.windowMark!;
    this.windowMark = { at: now, cpu, wait };
    const cpuMs = (cpu.user - mark.cpu.user + cpu.system - mark.cpu.system) / 1000;
    const waitMs = wait !== undefined && mark.wait !== undefined ? wait - mark.wait : 0;
    const before = this.plan!.active;
    // Parts still to arrive: not requested yet (the retry queue, and those past the scan not verified by an earlier
    // run, counted as a bound) or in flight.
    let remainingParts = Math.max(0, this.end - this.scan) + this.retry.length;
    for (const s of this.sessions) remainingParts += s.inFlight;
    const step = this.plan!.step({ elapsedMs: now - mark.at, cpuMs, waitMs, remainingParts });
    if (step === "needs a source") this.openSpare();
    if (step !== "settling" && step !== "steady") {
      this.log.debug("sources", { objectId: this.objectId, step, active: this.plan!.active.length });
    }
    if (this.plan!.active.some((s) => !before.includes(s))) this.pump();
  }

  private onPart(session: ProviderSession, index: number, plain: PlainPart, wireBytes: number): void {
    if (this.fatal !== undefined || this.finished) return;
    this.state[index] = VERIFIED;
    this.fetchedParts++;
    const provider = session.peerId;
    this.addShare(provider, index, wireBytes);
    this.plan?.deliver(session, partLength(this.manifest!, index));
    this.payFor(session, wireBytes);
    const record: VerifiedPart = { index, provider, bytes: wireBytes };
    if (this.sink !== undefined) {
      this.pendingWrites++;
      this.sink.write(index, plain).then(
        () => {
          this.pendingWrites--;
          this.queueCheckpoint(record);
          this.pump();
        },
        (err) => this.setFatal(err),
      );
    } else {
      this.queueCheckpoint(record);
    }
    // To a file, the part is on its way to disk (the sink holds it until written): the cursor needs to know it
    // arrived, not its bytes. Holding them until the cursor passed would keep up to `reorderWindow` parts alive
    // (16 MiB at 512 KiB) whenever several sources deliver out of order.
    const held = this.sink !== undefined ? NO_BYTES : plain;
    if (this.waiter?.index === index) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(held);
    } else {
      this.reorder.set(index, held);
    }
    this.pump();
  }

  /**
   * Owes the session's provider for `wireBytes` it delivered, when it takes vouchers and this node pays: a voucher is
   * signed once VOUCHER_EVERY_BYTES (at most a quarter of the provider's stated unpaid allowance) went unpaid, and for
   * the rest when the fetch ends (`settleUp`).
   */
  private payFor(session: ProviderSession, wireBytes: number): void {
    const account = session.paymentAccount;
    if (this.components.payer === undefined || account === undefined) return;
    this.accounts.set(session.peerId, account);
    let due = this.unpaid.get(session);
    if (due === undefined) this.unpaid.set(session, (due = { account, parts: [], bytes: 0 }));
    due.parts.push(wireBytes);
    due.bytes += wireBytes;
    if (due.bytes >= Math.min(VOUCHER_EVERY_BYTES, Math.floor(session.unpaidAllowance / 4))) this.settleUp(session);
  }

  /**
   * Pays a provider that takes vouchers one part ahead, right after its Welcome: its first voucher then reaches it
   * before any part, so a provider whose budget for consumers without a funded voucher is spent (by strangers) still
   * serves this one (docs/PROTOCOL.md §7). The parts that follow use it up before anything more is signed, so every
   * part is still paid once; a session that delivers nothing has paid for one part.
   */
  private async prepay(session: ProviderSession): Promise<void> {
    const payer = this.components.payer;
    const account = session.paymentAccount;
    if (payer === undefined || account === undefined) return;
    // One part at its largest on the wire (a full part, sealed; the object's size when smaller), costed as `payFor`
    // costs a part: enough to be funded, and the most a session that delivers nothing has paid for.
    const cost = payer.costOf(Math.min(session.manifest.partSize, Number(session.manifest.size)) + TAG_LENGTH);
    this.accounts.set(session.peerId, account);
    this.prepaid.set(session, cost);
    await this.sendPayment(session, payer.payAmount(account, cost)).catch(() => undefined);
  }

  /** Signs a voucher for what `session` delivered since its last one (less what it paid ahead) and sends it (a
   * session that ended only records it: the receipt carries it). */
  private settleUp(session: ProviderSession): void {
    const payer = this.components.payer;
    const due = this.unpaid.get(session);
    if (payer === undefined || due === undefined) return;
    this.unpaid.delete(session);
    const cost = payer.costOf(due.parts);
    const ahead = this.prepaid.get(session) ?? 0n;
    if (ahead > 0n) this.prepaid.set(session, ahead > cost ? ahead - cost : 0n);
    if (cost <= ahead) return;
    void this.sendPayment(session, payer.payAmount(due.account, cost - ahead));
  }

  /** Sends the voucher `signed` resolves to on `session`; awaited with the others before the receipts are signed. */
  private sendPayment(session: ProviderSession, signed: Promise<SignedVoucher>): Promise<void> {
    const paid = signed.then((v) => session.sendVoucher(toWire(v)));
    this.payments = Promise.all([this.payments, paid]).catch((err: unknown) =>
      this.log.warn("voucher not sent", { objectId: this.objectId, provider: session.peerId, error: err }),
    );
    return paid;
  }

  private async partAt(index: number): Promise<PlainPart> {
    if (this.state[index] === ON_DISK) {
      const expected = partLength(this.manifest!, index);
      const buf = await this.sink!.read(index, expected);
      if (buf !== undefined && createHash("sha256").update(buf).digest().equals(this.manifest!.partHashes[index])) {
        return [buf];
      }
      this.log.warn("resumed part no longer matches; fetching it again", { objectId: this.objectId, index });
      this.components.store.forgetPart(this.downloadId!, index);
      this.resumedParts--;
      this.requeue(index);
      this.pump();
    }
    const ready = this.reorder.get(index);
    if (ready !== undefined) return ready;
    if (this.fatal !== undefined) throw this.fatal;
    return new Promise<PlainPart>((resolve, reject) => {
      this.waiter = { index, resolve, reject };
    });
  }

  private addShare(provider: string, index: number, wireBytes: number): void {
    const share = this.shares.get(provider) ?? { parts: [], wireBytes: 0 };
    share.parts.push(index);
    share.wireBytes += wireBytes;
    this.shares.set(provider, share);
  }

  private setFatal(err: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    for (const s of this.sessions) s.fail(err);
    this.sessions.clear();
  }

  // ---- persistence ----

  /** Sets up the part states, and in file mode the sink and resume state. */
  private async prepare(): Promise<void> {
    const manifest = this.manifest!;
    this.state = new Uint8Array(manifest.partHashes.length);
    this.end = this.state.length;
    const range = this.options.range;
    if (range !== undefined) {
      if (this.dest !== undefined) throw new InvalidInputError("a byte range is read as a stream, not into a file");
      const size = Number(manifest.size);
      const { offset, length } = range;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1)
        throw new InvalidInputError(`byte range ${offset}+${length} is not a non-negative offset and a length ≥ 1`);
      if (offset + length > size)
        throw new InvalidInputError(`byte range ${offset}+${length} ends beyond the object's ${size} bytes`);
      this.first = Math.floor(offset / manifest.partSize);
      this.end = Math.ceil((offset + length) / manifest.partSize);
      this.scan = this.first;
      this.cursor = this.first;
    }
    if (this.dest === undefined) {
      this.prepared = true;
      return;
    }
    const store = this.components.store;
    const previous = store.download(this.objectId, this.dest);
    const resume =
      previous !== undefined &&
      previous.completedAt === null &&
      Buffer.from(previous.manifest).equals(this.manifestBytes!) &&
      (await FileSink.partialExists(this.dest));
    if (resume) {
      this.downloadId = previous.id;
      for (const p of store.verifiedParts(previous.id)) {
        if (p.index >= this.state.length) continue;
        this.state[p.index] = ON_DISK;
        this.addShare(p.provider, p.index, p.bytes);
        this.resumedParts++;
      }
      this.log.info("resuming fetch", {
        objectId: this.objectId,
        resumedParts: this.resumedParts,
        parts: this.state.length,
      });
    } else {
      this.downloadId = store.beginDownload(this.objectId, this.dest, this.manifestBytes!);
    }
    this.sink = await FileSink.open(this.dest, manifest.partSize, resume);
    this.prepared = true;
  }

  private queueCheckpoint(part: VerifiedPart): void {
    this.pendingCheckpoint.push(part);
    this.pendingBytes += part.bytes;
    if (
      this.pendingBytes >= this.init.checkpointBytes ||
      Date.now() - this.lastCheckpoint >= this.init.checkpointIntervalMs
    ) {
      void this.checkpoint().catch((err) => this.setFatal(err));
    }
  }

  /** Makes the parts verified so far durable, then records them (progress + contributions) in one transaction. */
  private checkpoint(): Promise<void> {
    const batch = this.pendingCheckpoint;
    this.pendingCheckpoint = [];
    this.pendingBytes = 0;
    this.lastCheckpoint = Date.now();
    this.checkpointChain = this.checkpointChain.then(async () => {
      if (batch.length === 0) return;
      if (this.sink !== undefined) await this.sink.sync();
      this.components.store.checkpoint(this.objectId, this.downloadId, batch);
    });
    return this.checkpointChain;
  }

  private async complete(): Promise<void> {
    await this.sink?.settled();
    await this.checkpoint();
    for (const session of [...this.unpaid.keys()]) this.settleUp(session);
    await this.payments;
    const manifest = this.manifest!;
    const epoch = this.components.currentEpoch?.() ?? 0n;
    const receipts: StoredReceipt[] = [];
    const shares: ProviderShare[] = [];
    for (const [provider, { parts, wireBytes }] of this.shares) {
      parts.sort((a, b) => a - b);
      const bytes = parts.reduce((n, i) => n + partLength(manifest, i), 0);
      shares.push({ peerId: provider, parts: parts.length, bytes, wireBytes });
      // Credit is for bytes carried: what this provider sent for the parts verified, never their plaintext size.
      // The receipt carries the channel's latest voucher: what paid for those bytes, signed by the payer.
      const account = this.accounts.get(provider);
      const voucher = account === undefined ? undefined : await this.components.payer?.latest(account);
      const signed = await signReceipt(this.components.privateKey, {
        objectId: this.idBytes as Uint8Array<ArrayBuffer>,
        provider,
        consumer: this.components.self,
        epoch,
        bytes: BigInt(wireBytes),
        plainBytes: BigInt(bytes),
        parts,
        issuedAtMs: BigInt(Date.now()),
        ...(voucher !== undefined && { voucher: toWire(voucher) }),
      });
      receipts.push({ objectId: this.objectId, provider, epoch, ...signed });
    }
    if (this.sink !== undefined) {
      await this.sink.finish(Number(manifest.size));
      this.sink = undefined;
    }
    this.components.store.completeDownload(this.downloadId, receipts);
    this.result = {
      objectId: this.objectId,
      size: Number(manifest.size),
      parts: manifest.partHashes.length,
      partSize: manifest.partSize,
      resumedParts: this.resumedParts,
      fetchedParts: this.fetchedParts,
      providers: shares,
      failures: this.failures,
      receipts: receipts.map((r) => ({ body: r.body, signature: r.signature })),
    };
    this.log.info("fetch complete", {
      objectId: this.objectId,
      size: this.result.size,
      fetchedParts: this.fetchedParts,
      resumedParts: this.resumedParts,
      providers: shares.length,
      failures: this.failures.length,
    });
  }

  private async teardown(ok: boolean): Promise<void> {
    // A failed fetch still pays for what it verified (the last vouchers go out before the sessions close).
    for (const session of [...this.unpaid.keys()]) this.settleUp(session);
    this.controller.abort();
    await Promise.all([...this.sessions].map((s) => s.close().catch(() => {})));
    this.sessions.clear();
    this.reorder.clear();
    if (ok) return;
    // Keep what was verified: the next fetch resumes from it.
    if (this.sink !== undefined) {
      await this.checkpoint().catch((err) => this.log.warn("checkpoint failed", { error: err }));
      await this.sink.close();
      this.sink = undefined;
    }
  }
}

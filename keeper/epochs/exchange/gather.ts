/**
 * Before a close: pulls the evidence the other keepers hold — receipts signed by their consumers and the task
 * records they coordinated — so that every provider's verified bytes and every coordinator's tasks count in the
 * epoch this keeper closes, whoever saw them.
 *
 * A keeper that just restarted may not have re-learned its peers yet. A close therefore waits (at most
 * `waitMs`) until it knows at least as many keepers as `expected()` says it should (the records it knew before
 * the restart), so a close right after a restart does not gather from nobody.
 */
import { sleep } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import { linkSignals } from "../../signals.ts";
import type { EpochCollector } from "../collect/collector.ts";
import type { EpochExchange } from "./protocol.ts";
import type { RemoteReceipts, RemoteTasks } from "./remote.ts";

/** Upper bound of the wait for known keepers before a close (a close is never held longer). */
export const GATHER_WAIT_MS = 30_000;
/**
 * Budget of the directory walk before a gather: a keeper that joined a moment ago (its record published after
 * we first looked it up) is found here rather than at the next periodic refresh, a minute later.
 */
export const GATHER_REFRESH_MS = 5_000;
const GATHER_POLL_MS = 250;

export interface EvidenceGathererComponents {
  exchange: Pick<EpochExchange, "pull" | "pullTasks">;
  remoteReceipts: RemoteReceipts;
  remoteTasks: RemoteTasks;
  collector: Pick<EpochCollector, "currentEpochStartMs">;
  logger: Logger;
  /** Peer ids of the other keepers known now. */
  keepers: () => string[];
  /** How many other keepers this one should know before gathering (default: none to wait for). */
  expected?: () => number;
  /** Walks the directory for keepers not known yet (bounded by GATHER_REFRESH_MS); errors are logged. */
  refreshDirectory?: (options: { signal: AbortSignal }) => Promise<unknown>;
  onStep?: (epoch: number, step: string, info?: Record<string, string | number>) => void;
}

export interface EvidenceGathererInit {
  waitMs?: number;
}

export class EvidenceGatherer {
  private readonly log: Logger;

  constructor(
    private readonly components: EvidenceGathererComponents,
    private readonly init: EvidenceGathererInit = {},
  ) {
    this.log = components.logger.child("epochs:gather");
  }

  /** Pulls every known keeper's evidence into the store; resolves with how many receipts and tasks were new. */
  async gather(epoch: number, options: { signal: AbortSignal }): Promise<{ receipts: number; tasks: number }> {
    const c = this.components;
    await this.awaitKeepers(options);
    if (c.refreshDirectory !== undefined) {
      const link = linkSignals([options.signal], GATHER_REFRESH_MS);
      await c
        .refreshDirectory({ signal: link.signal })
        .catch((err: unknown) => {
          options.signal.throwIfAborted();
          this.log.debug("directory walk before the gather incomplete", { error: err as Error });
        })
        .finally(() => link.clear());
    }
    const toMs = Date.now();
    const peers = c.keepers();
    c.onStep?.(epoch, "receipts:gathering", { keepers: peers.length });
    const results = await Promise.allSettled(
      peers.map(async (peerId) => {
        const receipts = await c.exchange.pull(peerId, toMs, options);
        const tasks = await c.exchange.pullTasks(peerId, c.remoteTasks.nextPullFrom(peerId), toMs, options);
        return { receipts, tasks };
      }),
    );
    // Stamped just before the gather began, inside the open epoch: what was gathered belongs to the epoch this
    // close freezes (whose end is at or after the gather), never to a window already frozen.
    const stamp = Math.max(toMs - 1, c.collector.currentEpochStartMs());
    let receipts = 0;
    let tasks = 0;
    results.forEach((r, i) => {
      if (r.status === "fulfilled") {
        receipts += c.remoteReceipts.add(r.value.receipts, stamp);
        tasks += c.remoteTasks.add(r.value.tasks, stamp);
        c.remoteTasks.pulled(peers[i]!, toMs);
      } else this.log.warn("could not gather records from a keeper", { peer: peers[i]!, error: r.reason as Error });
    });
    this.log.info("records gathered for the epoch close", { keepers: peers.length, added: receipts, tasks });
    c.onStep?.(epoch, "receipts:gathered", { keepers: peers.length, added: receipts });
    return { receipts, tasks };
  }

  private async awaitKeepers(options: { signal: AbortSignal }): Promise<void> {
    const { keepers, expected } = this.components;
    if (expected === undefined) return;
    const want = expected();
    const deadline = Date.now() + (this.init.waitMs ?? GATHER_WAIT_MS);
    while (keepers().length < want) {
      if (Date.now() >= deadline) {
        this.log.warn("closing before every known keeper was found again", { known: keepers().length, expected: want });
        return;
      }
      await sleep(GATHER_POLL_MS, options);
    }
  }
}

export function evidenceGatherer(
  init: EvidenceGathererInit = {},
): (components: EvidenceGathererComponents) => EvidenceGatherer {
  return (components) => new EvidenceGatherer(components, init);
}

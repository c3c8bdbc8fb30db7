/**
 * Keeps the keeper's epochs in step with the chain they are committed to.
 *
 * - At start (no chain needed): the data dir remembers the deployment it was used with. A different deployment
 *   is refused in one line saying what to do, unless the operator asked to start over (`chain.newDeployment`):
 *   then the earlier epochs become an archived era (EpochCollector.startNewEra) — never committed again — and
 *   the closer and the submission journal forget them.
 * - In the background, once the chain answers: a chain that lost epochs this keeper saw on it (a reset node,
 *   contracts redeployed at the same addresses) is treated the same way — start over when asked, otherwise an
 *   alarm (the monitor's one-line message) and closes wait. Then the epoch numbering is taken from the chain
 *   (a fresh keeper continues after the chain's last epoch).
 * - `ready()` resolves once that is done: the closer awaits it before every close and hand-over, so nothing is
 *   numbered or submitted against a chain whose state is unknown.
 * - `openEpoch()` is the chain's open epoch (last on chain + 1) as last checked: what receipts are stamped with.
 */
import type { ChainMemory } from "../chain/memory.ts";
import type { ChainMonitor } from "../chain/monitor.ts";
import type { Logger } from "../logger.ts";
import type { EpochCloser } from "./closer.ts";
import type { EpochCollector } from "./collect/collector.ts";
import type { SubmitJournal } from "./submit/journal.ts";

/** Thrown at start when the data dir belongs to another deployment and starting over was not asked for. */
export class DeploymentChangedError extends Error {
  override readonly name = "DeploymentChangedError";
  constructor(
    readonly stored: string,
    readonly configured: string,
  ) {
    super(
      `chain.deployment: this data dir's epochs belong to deployment ${stored}, the configured one is ${configured}; ` +
        "to start over against it (earlier epochs archived, never committed again) restart with " +
        "--chain-new-deployment true (docs/operator.md, 'Starting over')",
    );
  }
}

export interface EpochChainSyncInit {
  /** `deploymentIdentity()` of the configured deployment. */
  identity: string;
  /** The operator asked to start over against a new deployment or a reset chain. */
  newDeployment: boolean;
}

export interface EpochChainSyncComponents {
  monitor: ChainMonitor;
  memory: ChainMemory;
  collector: EpochCollector;
  closer: EpochCloser;
  journal: SubmitJournal;
  logger: Logger;
}

export class EpochChainSync {
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private prepared: Promise<void> | undefined;
  private done = false;

  constructor(
    private readonly components: EpochChainSyncComponents,
    private readonly init: EpochChainSyncInit,
  ) {
    this.log = components.logger.child("epochs:chain");
  }

  /**
   * Checks the data dir's deployment (throws DeploymentChangedError), then prepares the numbering in the
   * background. Call before the closer starts.
   */
  start(): void {
    const { memory } = this.components;
    const stored = memory.deployment();
    if (stored === undefined) memory.bind(this.init.identity);
    else if (stored !== this.init.identity) {
      if (!this.init.newDeployment) throw new DeploymentChangedError(stored, this.init.identity);
      this.startOver(`new deployment ${this.init.identity} (was ${stored})`);
    }
    this.prepared = this.prepare(this.controller.signal).then(() => void (this.done = true));
    this.prepared.catch(() => {});
  }

  stop(): void {
    this.controller.abort(new Error("epoch chain sync stopped"));
  }

  /** Resolves once the numbering follows the chain (see the header); rejects when `signal` aborts. */
  async ready(options: { signal: AbortSignal }): Promise<void> {
    if (this.prepared === undefined) throw new Error("epoch chain sync not started");
    options.signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(options.signal.reason as Error);
      options.signal.addEventListener("abort", onAbort, { once: true });
      this.prepared!.then(resolve, reject).finally(() => options.signal.removeEventListener("abort", onAbort));
    });
  }

  /** Whether closes may proceed now. */
  isReady(): boolean {
    return this.done;
  }

  /** The chain's open epoch as last checked (undefined before the first good check). */
  openEpoch(): number | undefined {
    const s = this.components.monitor.state();
    if (s.taskLogEpoch === undefined || s.rewardPoolEpoch === undefined) return undefined;
    return Math.max(s.taskLogEpoch, s.rewardPoolEpoch) + 1;
  }

  private async prepare(signal: AbortSignal): Promise<void> {
    const { monitor, collector } = this.components;
    let state = await monitor.when((s) => s.reachable && (s.problem === undefined || s.problem === "chain-rewound"), {
      signal,
    });
    if (state.problem === "chain-rewound") {
      if (!this.init.newDeployment) {
        // The monitor said it in one line; wait until the operator restarts with newDeployment (or it heals).
        state = await monitor.whenHealthy({ signal });
      } else {
        this.startOver(state.message ?? "the chain lost its epochs");
        state = await monitor.check();
        if (state.problem !== undefined) state = await monitor.whenHealthy({ signal });
      }
    }
    const onChain = Math.max(state.taskLogEpoch ?? 0, state.rewardPoolEpoch ?? 0);
    if (!collector.alignWithChain(onChain) && collector.currentEpoch() <= onChain) {
      this.log.warn("this keeper's epochs lag the chain's; it will verify rather than submit until they meet", {
        open: collector.currentEpoch(),
        onChain,
      });
    }
  }

  private startOver(reason: string): void {
    const { memory, collector, closer, journal } = this.components;
    const era = collector.startNewEra(0, reason);
    closer.startNewEra(era);
    journal.startNewEra();
    memory.bind(this.init.identity);
    this.log.warn("started over against the configured deployment", { era, reason });
  }
}

export function epochChainSync(init: EpochChainSyncInit): (components: EpochChainSyncComponents) => EpochChainSync {
  return (components) => new EpochChainSync(components, init);
}

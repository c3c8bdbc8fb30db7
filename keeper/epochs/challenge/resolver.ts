/**
 * Challenge resolution by the keepers, without an operator (docs/epochs.md "Challenges resolved by the keepers"): a
 * keeper that sees an open challenge on chain (RewardPool `EpochChallenged`, then `challengeOf(epoch).id` while the
 * epoch is Challenged) judges it (judge.ts), signs its verdict, gathers the other keepers' signed verdicts over
 * `/lumora/challenge-sign/1.0.0` (protocol.ts) and, once one verdict holds `EpochQuorum.supermajority()` signatures,
 * submits `EpochQuorum.resolveChallenge`. Any keeper may submit: whoever is first resolves it, the others find the
 * epoch no longer challenged. The same object answers the other keepers' requests (`verdict`).
 */
import { getAddress } from "ethers";

import type { Chain } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import { APPROVAL_LOG_WINDOW } from "../constants.ts";
import { latestApproval } from "../quorum/approvals.ts";
import { namesDeployment, packSignatures, quorumDomain } from "../quorum/commitment.ts";
import { CHALLENGE_POLL_MS } from "./constants.ts";
import type { ChallengeJudge } from "./judge.ts";
import type { ChallengeRequest, ChallengeSignatures, SignedVerdict } from "./protocol.ts";
import { resolutionDigest } from "./resolution.ts";

/** RewardPool.statusOf of a challenged epoch (keeper/chain/epoch-status.ts). */
const CHALLENGED = 5n;

export interface ChallengeResolverComponents {
  chain: Chain;
  logger: Logger;
  judge: Pick<ChallengeJudge, "judge">;
  signatures: Pick<ChallengeSignatures, "gather">;
}

export interface ChallengeResolverInit {
  /** How often the chain is polled for challenges (CHALLENGE_POLL_MS); 0: only when `tick` is called. */
  pollMs?: number;
}

export type ResolveOutcome =
  | { status: "resolved"; upheld: boolean; tx: string }
  | { status: "not-challenged" }
  | { status: "abstained"; reason: string };

export class ChallengeResolver {
  private readonly log: Logger;
  /** Verdicts given, by `epoch/challengeId` (a verdict is given once: the evidence of a closed epoch is fixed). */
  private readonly verdicts = new Map<string, { upheld: boolean; signature: string }>();
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setInterval> | undefined;
  private fromBlock = 0;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly components: ChallengeResolverComponents,
    private readonly init: ChallengeResolverInit = {},
  ) {
    this.log = components.logger.child("epochs:challenge");
    this.fromBlock = components.chain.deployment.deploymentBlock;
  }

  start(): void {
    const every = this.init.pollMs ?? CHALLENGE_POLL_MS;
    if (every > 0) this.timer = setInterval(() => void this.tick().catch(() => {}), every);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.controller.abort(new Error("challenge resolver stopped"));
  }

  private get quorum() {
    const quorum = this.components.chain.contracts.epochQuorum;
    if (quorum === undefined) throw new Error("challenge resolution needs a deployment with an EpochQuorum");
    return quorum;
  }

  private domain() {
    const { chainId, contracts } = this.components.chain.deployment;
    return quorumDomain(chainId, contracts.EpochQuorum!);
  }

  /** The open challenge of `epoch`, or undefined when it is not challenged. */
  private async openChallenge(epoch: number, options: { signal: AbortSignal }): Promise<bigint | undefined> {
    const { chain } = this.components;
    const pool = chain.contracts.rewardPool;
    const status = await chain.read("RewardPool.statusOf", () => pool.statusOf(epoch), options);
    if (BigInt(status) !== CHALLENGED) return undefined;
    const challenge = await chain.read("RewardPool.challengeOf", () => pool.challengeOf(epoch), options);
    return BigInt(challenge.id);
  }

  /** This keeper's signed verdict on challenge `challengeId` of `epoch` (judged once). */
  private async ownVerdict(
    epoch: number,
    challengeId: bigint,
    options: { signal: AbortSignal },
  ): Promise<{ upheld: boolean; signature: string } | { abstain: string }> {
    const key = `${epoch}/${challengeId}`;
    const known = this.verdicts.get(key);
    if (known !== undefined) return known;
    const verdict = await this.components.judge.judge(epoch, options);
    if ("abstain" in verdict) return verdict;
    const signature = this.components.chain.signDigest(
      resolutionDigest(this.domain(), { epoch, challengeId, upheld: verdict.upheld }),
    );
    this.log.info("challenge judged", { epoch, challengeId, upheld: verdict.upheld, reason: verdict.reason });
    const given = { upheld: verdict.upheld, signature };
    this.verdicts.set(key, given);
    return given;
  }

  /** Answers another keeper's request (protocol.ts server side). */
  async verdict(request: ChallengeRequest, options: { signal: AbortSignal }): Promise<SignedVerdict> {
    const { chain } = this.components;
    const me = chain.address;
    if (me === undefined) return { code: "no-key", reason: "this keeper has no chain key" };
    if (!namesDeployment(chain.deployment, request))
      return {
        code: "wrong-deployment",
        reason: `this keeper resolves chain ${chain.deployment.chainId}'s challenges only`,
      };
    const open = await this.openChallenge(request.epoch, options);
    if (open !== request.challengeId)
      return {
        code: "not-challenged",
        reason: `challenge ${request.challengeId} of epoch ${request.epoch} is not open`,
      };
    const own = await this.ownVerdict(request.epoch, open, options);
    if ("abstain" in own) return { code: "abstain", reason: own.abstain };
    return { signer: getAddress(me), ...own };
  }

  /**
   * Resolves the open challenge of `epoch`: judges, gathers a supermajority for one verdict and submits it. Throws
   * ChallengeNotResolvedError when no verdict reached the supermajority in time (tried again at the next tick).
   */
  async resolve(epoch: number, options: { signal?: AbortSignal } = {}): Promise<ResolveOutcome> {
    const signal = AbortSignal.any([this.controller.signal, ...(options.signal ? [options.signal] : [])]);
    const { chain } = this.components;
    const challengeId = await this.openChallenge(epoch, { signal });
    if (challengeId === undefined) return { status: "not-challenged" };
    const own = await this.ownVerdict(epoch, challengeId, { signal });
    const quorum = this.quorum;
    const [keepers, needed] = await Promise.all([
      chain.read("EpochQuorum.keepers", () => quorum.keepers(), { signal }),
      chain.read("EpochQuorum.supermajority", () => quorum.supermajority(), { signal }),
    ]);
    const domain = this.domain();
    const gathered = await this.components.signatures.gather(
      {
        request: {
          chainId: chain.deployment.chainId,
          quorum: chain.deployment.contracts.EpochQuorum!,
          epoch,
          challengeId,
        },
        keepers: new Set(keepers.map((k) => getAddress(k))),
        needed: Number(needed),
        digestOf: (upheld) => resolutionDigest(domain, { epoch, challengeId, upheld }),
        ...(!("abstain" in own) && chain.address !== undefined && { own: { signer: chain.address, ...own } }),
      },
      { signal },
    );
    if ((await this.openChallenge(epoch, { signal })) !== challengeId) return { status: "not-challenged" };
    const sent = await chain.send(
      {
        label: `EpochQuorum.resolveChallenge(${epoch}, ${challengeId}, ${gathered.upheld})`,
        to: chain.deployment.contracts.EpochQuorum!,
        data: quorum.interface.encodeFunctionData("resolveChallenge", [
          epoch,
          challengeId,
          gathered.upheld,
          packSignatures(gathered.signatures),
        ]),
        iface: quorum.interface,
      },
      { signal },
    );
    this.log.info("challenge resolved", { epoch, challengeId, upheld: gathered.upheld, tx: sent.hash });
    return { status: "resolved", upheld: gathered.upheld, tx: sent.hash };
  }

  /** Looks for challenges opened since the last tick and resolves every epoch still challenged. */
  tick(): Promise<void> {
    this.ticking ??= this.scan().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async scan(): Promise<void> {
    const { chain } = this.components;
    const signal = this.controller.signal;
    const pool = chain.contracts.rewardPool;
    const tip = await chain.read("blockNumber", () => chain.provider.getBlockNumber(), { signal });
    const epochs = new Set<number>();
    // RPC providers cap a log query's block range: read it in windows.
    for (let from = this.fromBlock; from <= tip; from += APPROVAL_LOG_WINDOW) {
      const to = Math.min(tip, from + APPROVAL_LOG_WINDOW - 1);
      const events = await chain.read(
        "RewardPool.EpochChallenged",
        () => pool.queryFilter(pool.filters.EpochChallenged(), from, to),
        { signal },
      );
      for (const e of events) epochs.add(Number(e.args.epoch));
    }
    let failed = false;
    for (const epoch of epochs) {
      try {
        await this.resolve(epoch, { signal });
      } catch (err) {
        failed = true;
        if (signal.aborted) return;
        this.log.warn("challenge not resolved yet", { epoch, error: err as Error });
      }
    }
    // A challenge left open is looked at again from the same block next time.
    if (!failed) this.fromBlock = tip + 1;
  }
}

/** The digest of the quorum's latest EpochApproved of `epoch` (what the judge compares with); undefined when none. */
export async function approvedDigestOf(
  chain: Chain,
  epoch: number,
  options: { signal?: AbortSignal } = {},
): Promise<string | undefined> {
  return (await latestApproval(chain, epoch, options))?.digest;
}

/** Factory in the keeper's component style: `challengeResolver(init)(components)`. */
export function challengeResolver(
  init: ChallengeResolverInit = {},
): (components: ChallengeResolverComponents) => ChallengeResolver {
  return (components) => new ChallengeResolver(components, init);
}

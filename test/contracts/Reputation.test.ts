import { expect } from "chai";
import { ZeroAddress, ZeroHash, toBeHex, type BigNumberish, type ContractTransactionResponse } from "ethers";
import { network } from "hardhat";

import type { Reputation } from "../../types/ethers-contracts/index.js";
import { createRandom, type Random } from "./helpers/random.js";
import {
  FlagReason,
  ReputationModel,
  applyReport,
  decayed,
  decayedExactly,
  neverReported,
  parametersTuple,
  type NodeState,
  type ReputationParameters,
} from "./helpers/reputationModel.js";
import { REPUTATION_PARAMETERS } from "./helpers/reputation-parameters.ts";

const { ethers, networkHelpers } = await network.create();

const PARAMETERS: ReputationParameters = REPUTATION_PARAMETERS;

type Report = { node: string; successes: bigint; failures: bigint };

const report = (node: string, successes: number, failures: number): Report => ({
  node,
  successes: BigInt(successes),
  failures: BigInt(failures),
});

/**
 * `node` (20 bytes) · `successes` (4) · `failures` (4) · 4 zero bytes, big-endian: the packed report that
 * {applyReports} takes, written out independently of the contract's {encodeReport}.
 */
function packReport(r: Report): string {
  return toBeHex((BigInt(r.node) << 96n) | (r.successes << 64n) | (r.failures << 32n), 32);
}

function applyReports(reputation: Reputation, epoch: BigNumberish, reports: Report[]) {
  return reputation.applyReports(epoch, reports.map(packReport));
}

/** Random parameters that satisfy every validation rule. */
function randomParameters(random: Random): ReputationParameters {
  const flagBelowScore = random.int(0, 5000);
  return {
    neutralScore: random.int(flagBelowScore, 10_000),
    decayBps: random.int(0, 10_000),
    learningRateBps: random.int(1, 10_000),
    failingRateBps: random.int(0, 10_000),
    flagAfterFailingEpochs: random.int(1, 5),
    flagBelowScore,
    warnBelowScore: random.int(flagBelowScore, 10_000),
    unflagAfterGoodEpochs: random.int(1, 4),
    unflagAtScore: random.int(flagBelowScore, 10_000),
  };
}

function stateOf(node: Awaited<ReturnType<Reputation["nodeOf"]>>): NodeState {
  return {
    score: node.score,
    successes: node.successes,
    failures: node.failures,
    failStreak: Number(node.failStreak),
    goodStreak: Number(node.goodStreak),
    flagged: node.flagged,
    lastEpoch: node.lastEpoch,
  };
}

/** The contract's events of a transaction, as `[name, ...args]` lists, in log order. */
async function eventsOf(reputation: Reputation, tx: ContractTransactionResponse): Promise<unknown[][]> {
  const receipt = await tx.wait();
  return receipt!.logs.map((log) => {
    const parsed = reputation.interface.parseLog(log)!;
    return [parsed.name, ...parsed.args.toArray()];
  });
}

describe("Reputation", function () {
  async function deployReputationFixture() {
    const [admin, keeper, stranger] = await ethers.getSigners();
    const reputation: Reputation = await ethers.deployContract("Reputation", [admin.address, PARAMETERS]);
    await reputation.connect(admin).grantRole(await reputation.KEEPER_ROLE(), keeper.address);
    const random = createRandom();
    const nodes = Array.from({ length: 6 }, () => random.address());
    return { reputation, admin, keeper, stranger, nodes, random };
  }

  describe("deployment", function () {
    it("stores the initial parameters and gives the admin the admin role", async function () {
      const { reputation, admin, keeper } = await networkHelpers.loadFixture(deployReputationFixture);
      expect(await reputation.parameters()).to.deep.equal(parametersTuple(PARAMETERS));
      expect(await reputation.hasRole(await reputation.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await reputation.hasRole(await reputation.DEFAULT_ADMIN_ROLE(), keeper.address)).to.equal(false);
      expect(await reputation.KEEPER_ROLE()).to.equal(ethers.id("KEEPER_ROLE"));
      expect(await reputation.MAX_SCORE()).to.equal(10_000n);
      expect(await reputation.currentEpoch()).to.equal(0n);
    });

    it("emits ParametersUpdated with the initial parameters", async function () {
      const [admin] = await ethers.getSigners();
      const reputation = await ethers.deployContract("Reputation", [admin.address, PARAMETERS]);
      await expect(reputation.deploymentTransaction())
        .to.emit(reputation, "ParametersUpdated")
        .withArgs(parametersTuple(PARAMETERS));
    });

    it("reverts when the admin is the zero address", async function () {
      const factory = await ethers.getContractFactory("Reputation");
      await expect(factory.deploy(ZeroAddress, PARAMETERS)).to.be.revertedWithCustomError(
        factory,
        "ReputationZeroAdmin",
      );
    });

    it("validates the initial parameters like setParameters", async function () {
      const [admin] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Reputation");
      await expect(factory.deploy(admin.address, { ...PARAMETERS, learningRateBps: 0 }))
        .to.be.revertedWithCustomError(factory, "ReputationInvalidParameters")
        .withArgs("learning rate not in 1..10000");
    });
  });

  describe("views of a node that was never reported", function () {
    it("gives it the neutral score, no flag and an all-zero state", async function () {
      const { reputation, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      expect(await reputation.scoreOf(nodes[0])).to.equal(BigInt(PARAMETERS.neutralScore));
      expect(await reputation.isFlagged(nodes[0])).to.equal(false);
      expect(stateOf(await reputation.nodeOf(nodes[0]))).to.deep.equal(neverReported());
    });

    it("follows the neutral score when the parameters change", async function () {
      const { reputation, admin, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, neutralScore: 6100 });
      expect(await reputation.scoreOf(nodes[0])).to.equal(6100n);
    });
  });

  describe("applyReports", function () {
    it("learns from the epoch's success rate and records the counts", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 9, 1), report(nodes[1], 1, 3)]);

      const neutral = BigInt(PARAMETERS.neutralScore);
      const learning = BigInt(PARAMETERS.learningRateBps);
      // Successes 9 of 10 → target 9000, above neutral; 1 of 4 → target 2500, below neutral.
      const up = neutral + ((9000n - neutral) * learning) / 10_000n;
      const down = neutral - ((neutral - 2500n) * learning) / 10_000n;
      expect(await reputation.scoreOf(nodes[0])).to.equal(up);
      expect(await reputation.scoreOf(nodes[1])).to.equal(down);

      const state = stateOf(await reputation.nodeOf(nodes[0]));
      expect(state).to.deep.equal({
        ...neverReported(),
        score: up,
        successes: 9n,
        failures: 1n,
        goodStreak: 1,
        lastEpoch: 1n,
      });
      expect(await reputation.currentEpoch()).to.equal(1n);
    });

    it("accumulates successes and failures across epochs", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 4, 1)]);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 7, 2)]);
      const state = await reputation.nodeOf(nodes[0]);
      expect([state.successes, state.failures, state.lastEpoch]).to.deep.equal([11n, 3n, 2n]);
    });

    it("accepts counts up to the uint32 maximum", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const max = 2 ** 32 - 1;
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], max, max)]);
      const state = await reputation.nodeOf(nodes[0]);
      expect([state.successes, state.failures]).to.deep.equal([BigInt(max), BigInt(max)]);
    });

    it("emits NodeReported with the counts and the new score", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const expected = applyReport(neverReported(), 1n, 2n, 6n, PARAMETERS).state;
      await expect(applyReports(reputation.connect(keeper), 1, [report(nodes[0], 2, 6)]))
        .to.emit(reputation, "NodeReported")
        .withArgs(nodes[0], 1n, 2n, 6n, expected.score);
    });

    it("emits EpochStarted once, with the first batch of a new epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await expect(applyReports(reputation.connect(keeper), 4, [report(nodes[0], 1, 0)]))
        .to.emit(reputation, "EpochStarted")
        .withArgs(4n);
      await expect(applyReports(reputation.connect(keeper), 4, [report(nodes[1], 1, 0)])).to.not.emit(
        reputation,
        "EpochStarted",
      );
      expect(await reputation.currentEpoch()).to.equal(4n);
    });

    it("applies an epoch's reports split across several transactions like one batch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const reports = nodes.map((node, i) => report(node, i + 1, i));
      await applyReports(reputation.connect(keeper), 1, reports.slice(0, 2));
      await applyReports(reputation.connect(keeper), 1, reports.slice(2, 3));
      await applyReports(reputation.connect(keeper), 1, reports.slice(3));

      const model = new ReputationModel(PARAMETERS);
      model.applyReports(1n, reports);
      for (const node of nodes) {
        expect(stateOf(await reputation.nodeOf(node)), `node ${node}`).to.deep.equal(model.nodeOf(node));
      }
    });

    it("accepts an empty batch, which only advances the epoch", async function () {
      const { reputation, keeper } = await networkHelpers.loadFixture(deployReputationFixture);
      await expect(applyReports(reputation.connect(keeper), 3, []))
        .to.emit(reputation, "EpochStarted")
        .withArgs(3n)
        .and.to.not.emit(reputation, "NodeReported");
      expect(await reputation.currentEpoch()).to.equal(3n);
    });

    it("reverts when a node is reported twice in one batch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await expect(applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 0), report(nodes[0], 1, 0)]))
        .to.be.revertedWithCustomError(reputation, "ReputationNodeAlreadyReported")
        .withArgs(nodes[0], 1n);
    });

    it("reverts the whole later batch when one of its nodes was already reported in the epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 0)]);
      await expect(applyReports(reputation.connect(keeper), 1, [report(nodes[1], 1, 0), report(nodes[0], 3, 0)]))
        .to.be.revertedWithCustomError(reputation, "ReputationNodeAlreadyReported")
        .withArgs(nodes[0], 1n);
      expect((await reputation.nodeOf(nodes[1])).lastEpoch).to.equal(0n);
      expect((await reputation.nodeOf(nodes[0])).successes).to.equal(1n);
    });

    it("reports the same node again in a later epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 0)]);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 1, 0)]);
      expect((await reputation.nodeOf(nodes[0])).lastEpoch).to.equal(2n);
    });

    it("reverts when the epoch is older than the current epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 5, [report(nodes[0], 1, 0)]);
      await expect(applyReports(reputation.connect(keeper), 4, [report(nodes[1], 1, 0)]))
        .to.be.revertedWithCustomError(reputation, "ReputationEpochInPast")
        .withArgs(4n, 5n);
    });

    it("reverts when the epoch is more than MAX_EPOCH_STEP ahead, so one mistyped epoch cannot freeze reports", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const step = await reputation.MAX_EPOCH_STEP();
      expect(step).to.equal(1024n);
      await applyReports(reputation.connect(keeper), 5, [report(nodes[0], 1, 0)]);
      for (const typo of [5n + step + 1n, 2n ** 64n - 1n]) {
        await expect(applyReports(reputation.connect(keeper), typo, [report(nodes[1], 1, 0)]))
          .to.be.revertedWithCustomError(reputation, "ReputationEpochTooFar")
          .withArgs(typo, 5n, step);
      }
      expect(await reputation.currentEpoch()).to.equal(5n);
      // The next epochs still apply, up to exactly MAX_EPOCH_STEP ahead.
      await applyReports(reputation.connect(keeper), 6, [report(nodes[1], 1, 0)]);
      await applyReports(reputation.connect(keeper), 6n + step, [report(nodes[1], 1, 0)]);
      expect(await reputation.currentEpoch()).to.equal(6n + step);
    });

    it("accepts a first epoch of at most MAX_EPOCH_STEP", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const step = await reputation.MAX_EPOCH_STEP();
      await expect(applyReports(reputation.connect(keeper), step + 1n, [report(nodes[0], 1, 0)]))
        .to.be.revertedWithCustomError(reputation, "ReputationEpochTooFar")
        .withArgs(step + 1n, 0n, step);
      await applyReports(reputation.connect(keeper), step, [report(nodes[0], 1, 0)]);
      expect(await reputation.currentEpoch()).to.equal(step);
    });

    it("reverts for epoch 0", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await expect(applyReports(reputation.connect(keeper), 0, [report(nodes[0], 1, 0)])).to.be.revertedWithCustomError(
        reputation,
        "ReputationZeroEpoch",
      );
    });

    it("reverts when a report names the zero address", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await expect(
        applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 0), report(ZeroAddress, 1, 0)]),
      ).to.be.revertedWithCustomError(reputation, "ReputationZeroNode");
    });

    it("reverts when the caller is not a keeper, the admin included", async function () {
      const { reputation, admin, stranger, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const keeperRole = await reputation.KEEPER_ROLE();
      for (const caller of [stranger, admin]) {
        await expect(applyReports(reputation.connect(caller), 1, [report(nodes[0], 1, 0)]))
          .to.be.revertedWithCustomError(reputation, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, keeperRole);
      }
    });
  });

  describe("packed reports (encodeReport, decodeReport)", function () {
    it("packs a report as node · successes · failures · four zero bytes, and unpacks it", async function () {
      const { reputation, random } = await networkHelpers.loadFixture(deployReputationFixture);
      const max = 2n ** 32n - 1n;
      const cases: Report[] = [
        { node: ethers.getAddress("0x" + "ff".repeat(20)), successes: max, failures: max },
        { node: ethers.getAddress("0x" + "00".repeat(19) + "01"), successes: 0n, failures: 0n },
        { node: random.address(), successes: max, failures: 0n },
        { node: random.address(), successes: 0n, failures: max },
        ...Array.from({ length: 8 }, () => ({
          node: random.address(),
          successes: random.uint(32),
          failures: random.uint(32),
        })),
      ];
      for (const r of cases) {
        const context = `seed ${random.seed}, ${JSON.stringify(r, (_, v) => (typeof v === "bigint" ? `${v}` : v))}`;
        const packed = await reputation.encodeReport(r);
        expect(packed, context).to.equal(packReport(r));
        expect(packed.slice(-8), `${context}: last four bytes`).to.equal("00000000");
        const decoded = await reputation.decodeReport(packed);
        expect([decoded.node, decoded.successes, decoded.failures], context).to.deep.equal([
          r.node,
          r.successes,
          r.failures,
        ]);
      }
    });

    it("applies what encodeReport packed exactly like the report it was given", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const r = report(nodes[0], 7, 3);
      await reputation.connect(keeper).applyReports(1, [await reputation.encodeReport(r)]);
      const model = new ReputationModel(PARAMETERS);
      model.applyReports(1n, [r]);
      expect(stateOf(await reputation.nodeOf(nodes[0]))).to.deep.equal(model.nodeOf(nodes[0]));
    });

    it("reverts the whole batch when a packed report's last four bytes are not zero", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const valid = packReport(report(nodes[0], 1, 0));
      // The lowest and the highest bit of the four trailing bytes.
      for (const stray of [1n, 1n << 31n]) {
        const malformed = toBeHex(BigInt(packReport(report(nodes[1], 1, 0))) | stray, 32);
        await expect(reputation.connect(keeper).applyReports(1, [valid, malformed]))
          .to.be.revertedWithCustomError(reputation, "ReputationMalformedReport")
          .withArgs(malformed);
      }
      expect((await reputation.nodeOf(nodes[0])).lastEpoch).to.equal(0n);
      expect(await reputation.currentEpoch()).to.equal(0n);
    });
  });

  describe("failing epochs", function () {
    it("counts an epoch as failing only when the failure rate is above failingRateBps", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      // failingRateBps = 20 %: 1 failure of 5 is exactly 20 % (good), 1 of 4 is 25 % (failing).
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 4, 1), report(nodes[1], 3, 1)]);
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(0n);
      expect((await reputation.nodeOf(nodes[0])).goodStreak).to.equal(1n);
      expect((await reputation.nodeOf(nodes[1])).failStreak).to.equal(1n);
      expect((await reputation.nodeOf(nodes[1])).goodStreak).to.equal(0n);
    });

    it("resets the fail streak after a good epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 1)]);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 1, 1)]);
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(2n);
      await applyReports(reputation.connect(keeper), 3, [report(nodes[0], 5, 0)]);
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(0n);
    });

    it("warns one failing epoch before the limit, then flags the node for its failing epochs", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      // One success and one failure: 50 % failures (failing) while the score stays at neutral.
      const tx1 = applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 1)]);
      await expect(tx1).to.not.emit(reputation, "NodeWarned");
      await expect(tx1).to.not.emit(reputation, "NodeFlagged");

      const score = await reputation.scoreOf(nodes[0]);
      expect(score).to.be.greaterThanOrEqual(BigInt(PARAMETERS.warnBelowScore));
      await expect(applyReports(reputation.connect(keeper), 2, [report(nodes[0], 1, 1)]))
        .to.emit(reputation, "NodeWarned")
        .withArgs(nodes[0], 2n, score, 2n)
        .and.to.not.emit(reputation, "NodeFlagged");
      expect(await reputation.isFlagged(nodes[0])).to.equal(false);

      await expect(applyReports(reputation.connect(keeper), 3, [report(nodes[0], 1, 1)]))
        .to.emit(reputation, "NodeFlagged")
        .withArgs(nodes[0], 3n, FlagReason.FailingEpochs, score)
        .and.to.not.emit(reputation, "NodeWarned");
      expect(await reputation.isFlagged(nodes[0])).to.equal(true);
    });

    it("counts failing epochs as consecutive only when the node is reported in consecutive reports", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      // The streak counts the node's reported epochs: unreported epochs in between neither reset nor extend it.
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 1)]);
      await applyReports(reputation.connect(keeper), 5, [report(nodes[0], 1, 1)]);
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(2n);
    });

    it("flags at once when a single failing epoch is the limit, without a streak warning", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const p = { ...PARAMETERS, flagAfterFailingEpochs: 1 };
      await reputation.connect(admin).setParameters(p);
      const { score } = applyReport(neverReported(), 1n, 3n, 3n, p).state;
      await expect(applyReports(reputation.connect(keeper), 1, [report(nodes[0], 3, 3)]))
        .to.emit(reputation, "NodeFlagged")
        .withArgs(nodes[0], 1n, FlagReason.FailingEpochs, score)
        .and.to.not.emit(reputation, "NodeWarned");
    });
  });

  describe("low scores", function () {
    // A failing rate of 100 % never counts an epoch as failing, so only the score decides.
    const scoreOnly: ReputationParameters = { ...PARAMETERS, failingRateBps: 10_000 };

    it("warns below warnBelowScore and flags below flagBelowScore with the LowScore reason", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await reputation.connect(admin).setParameters(scoreOnly);
      const model = new ReputationModel(scoreOnly);
      const seen: string[] = [];
      for (let epoch = 1n; epoch <= 10n && !(await reputation.isFlagged(nodes[0])); epoch++) {
        const [{ outcome }] = model.applyReports(epoch, [report(nodes[0], 0, 10)]);
        const score = outcome.state.score;
        const tx = applyReports(reputation.connect(keeper), epoch, [report(nodes[0], 0, 10)]);
        if (score < BigInt(scoreOnly.flagBelowScore)) {
          await expect(tx, `epoch ${epoch}`)
            .to.emit(reputation, "NodeFlagged")
            .withArgs(nodes[0], epoch, FlagReason.LowScore, score);
          seen.push("flagged");
        } else if (score < BigInt(scoreOnly.warnBelowScore)) {
          await expect(tx, `epoch ${epoch}`).to.emit(reputation, "NodeWarned").withArgs(nodes[0], epoch, score, 0n);
          seen.push("warned");
        } else {
          await expect(tx, `epoch ${epoch}`).to.not.emit(reputation, "NodeWarned");
          seen.push("none");
        }
      }
      expect(seen).to.include("warned");
      expect(seen.at(-1)).to.equal("flagged");
      expect(await reputation.isFlagged(nodes[0])).to.equal(true);
    });

    it("flags for low score on the first report when learning is immediate", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await reputation.connect(admin).setParameters({ ...scoreOnly, learningRateBps: 10_000 });
      // With a learning rate of 100 % the score jumps to the success rate, 1 of 10.
      await expect(applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 9)]))
        .to.emit(reputation, "NodeFlagged")
        .withArgs(nodes[0], 1n, FlagReason.LowScore, (1n * 10_000n) / 10n);
    });

    it("prefers the FailingEpochs reason when both rules apply", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await reputation
        .connect(admin)
        .setParameters({ ...PARAMETERS, flagAfterFailingEpochs: 1, learningRateBps: 10_000 });
      await expect(applyReports(reputation.connect(keeper), 1, [report(nodes[0], 0, 4)]))
        .to.emit(reputation, "NodeFlagged")
        .withArgs(nodes[0], 1n, FlagReason.FailingEpochs, 0n);
    });

    it("does not flag a flagged node again", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, flagAfterFailingEpochs: 1 });
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 0, 4)]);
      const tx = applyReports(reputation.connect(keeper), 2, [report(nodes[0], 0, 4)]);
      await expect(tx).to.not.emit(reputation, "NodeFlagged");
      await expect(tx).to.not.emit(reputation, "NodeWarned");
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(2n);
    });
  });

  describe("recovery", function () {
    async function flaggedNodeFixture() {
      const base = await deployReputationFixture();
      const [node] = base.nodes;
      for (let epoch = 1; epoch <= PARAMETERS.flagAfterFailingEpochs; epoch++) {
        await applyReports(base.reputation.connect(base.keeper), epoch, [report(node, 0, 5)]);
      }
      return { ...base, node, nextEpoch: BigInt(PARAMETERS.flagAfterFailingEpochs) + 1n };
    }

    it("unflags after unflagAfterGoodEpochs good epochs once the score reaches unflagAtScore", async function () {
      const { reputation, keeper, node, nextEpoch } = await networkHelpers.loadFixture(flaggedNodeFixture);
      expect(await reputation.isFlagged(node)).to.equal(true);
      const model = new ReputationModel(PARAMETERS);
      model.nodes.set(node, stateOf(await reputation.nodeOf(node)));
      model.currentEpoch = nextEpoch - 1n;

      let unflaggedAt: bigint | undefined;
      for (let epoch = nextEpoch; epoch < nextEpoch + 20n && unflaggedAt === undefined; epoch++) {
        const [{ outcome }] = model.applyReports(epoch, [report(node, 10, 0)]);
        const tx = applyReports(reputation.connect(keeper), epoch, [report(node, 10, 0)]);
        if (outcome.transition.kind === "unflagged") {
          await expect(tx).to.emit(reputation, "NodeUnflagged").withArgs(node, epoch, outcome.state.score);
          unflaggedAt = epoch;
        } else {
          await expect(tx, `epoch ${epoch}`).to.not.emit(reputation, "NodeUnflagged");
          expect(await reputation.isFlagged(node), `epoch ${epoch}`).to.equal(true);
        }
      }
      expect(unflaggedAt !== undefined, "the node recovered within 20 epochs").to.equal(true);
      expect(await reputation.isFlagged(node)).to.equal(false);
      const state = await reputation.nodeOf(node);
      expect(state.goodStreak).to.be.greaterThanOrEqual(BigInt(PARAMETERS.unflagAfterGoodEpochs));
      expect(state.score).to.be.greaterThanOrEqual(BigInt(PARAMETERS.unflagAtScore));
    });

    it("stays flagged after a single perfect epoch, however high the score", async function () {
      const { reputation, admin, keeper, node, nextEpoch } = await networkHelpers.loadFixture(flaggedNodeFixture);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, learningRateBps: 10_000 });
      await expect(applyReports(reputation.connect(keeper), nextEpoch, [report(node, 10, 0)])).to.not.emit(
        reputation,
        "NodeUnflagged",
      );
      expect(await reputation.scoreOf(node)).to.equal(10_000n);
      expect(await reputation.isFlagged(node)).to.equal(true);
      await expect(applyReports(reputation.connect(keeper), nextEpoch + 1n, [report(node, 10, 0)]))
        .to.emit(reputation, "NodeUnflagged")
        .withArgs(node, nextEpoch + 1n, 10_000n);
    });

    it("stays flagged after enough good epochs while the score is below unflagAtScore", async function () {
      const { reputation, admin, keeper, node, nextEpoch } = await networkHelpers.loadFixture(flaggedNodeFixture);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, unflagAtScore: 9000 });
      // 4 of 5 successes: good (20 % failures) but the target of 8000 keeps the score below 9000.
      for (let epoch = nextEpoch; epoch < nextEpoch + 6n; epoch++) {
        await expect(
          applyReports(reputation.connect(keeper), epoch, [report(node, 4, 1)]),
          `epoch ${epoch}`,
        ).to.not.emit(reputation, "NodeUnflagged");
      }
      expect((await reputation.nodeOf(node)).goodStreak).to.equal(6n);
      expect(await reputation.isFlagged(node)).to.equal(true);
    });

    it("restarts the good streak after a failing epoch", async function () {
      const { reputation, admin, keeper, node, nextEpoch } = await networkHelpers.loadFixture(flaggedNodeFixture);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, learningRateBps: 10_000 });
      await applyReports(reputation.connect(keeper), nextEpoch, [report(node, 10, 0)]);
      await applyReports(reputation.connect(keeper), nextEpoch + 1n, [report(node, 0, 10)]);
      await expect(applyReports(reputation.connect(keeper), nextEpoch + 2n, [report(node, 10, 0)])).to.not.emit(
        reputation,
        "NodeUnflagged",
      );
      expect((await reputation.nodeOf(node)).goodStreak).to.equal(1n);
      expect(await reputation.isFlagged(node)).to.equal(true);
    });

    it("keeps a flagged node flagged through idle reports, however far its score recovers", async function () {
      const { reputation, admin, keeper, node, nextEpoch } = await networkHelpers.loadFixture(flaggedNodeFixture);
      // unflagAtScore at the flag threshold: the decay toward neutral alone lifts the score above it, so only
      // the missing good epochs keep the node flagged.
      const p = { ...PARAMETERS, unflagAtScore: PARAMETERS.flagBelowScore };
      await reputation.connect(admin).setParameters(p);
      const flaggedState = stateOf(await reputation.nodeOf(node));
      const model = new ReputationModel(p);
      model.nodes.set(node, flaggedState);
      model.currentEpoch = nextEpoch - 1n;
      const idleEpochs = 2n * BigInt(p.unflagAfterGoodEpochs) + 4n;
      for (let epoch = nextEpoch; epoch < nextEpoch + idleEpochs; epoch++) {
        model.applyReports(epoch, [report(node, 0, 0)]);
        await expect(
          applyReports(reputation.connect(keeper), epoch, [report(node, 0, 0)]),
          `epoch ${epoch}`,
        ).to.not.emit(reputation, "NodeUnflagged");
      }
      const state = stateOf(await reputation.nodeOf(node));
      expect(state).to.deep.equal(model.nodeOf(node));
      expect(state.score).to.be.greaterThan(flaggedState.score);
      expect(state.score).to.be.greaterThanOrEqual(BigInt(p.unflagAtScore));
      expect([state.failStreak, state.goodStreak]).to.deep.equal([flaggedState.failStreak, 0]);
      expect(await reputation.isFlagged(node)).to.equal(true);

      // Good epochs, unlike idle ones, do lift the flag under these parameters.
      const recovery = nextEpoch + idleEpochs;
      for (let epoch = recovery; epoch < recovery + BigInt(p.unflagAfterGoodEpochs); epoch++) {
        await applyReports(reputation.connect(keeper), epoch, [report(node, 10, 0)]);
      }
      expect(await reputation.isFlagged(node)).to.equal(false);
    });
  });

  describe("streak saturation", function () {
    // 65 535 reported epochs are out of reach of a test, so the node's word is written directly. The layout
    // (score 16 · successes 64 · failures 64 · failStreak 16 · goodStreak 16 · flagged 8 · lastEpoch 64 bits)
    // is the one {nodeOf} decodes; each test first checks that nodeOf reads back what was written.
    const NODES_SLOT = 3n; // AccessControl._roles, currentEpoch, _parameters, then _nodes
    const MAX_STREAK = 2n ** 16n - 1n;

    function packNode(n: NodeState): bigint {
      return (
        n.score |
        (n.successes << 16n) |
        (n.failures << 80n) |
        (BigInt(n.failStreak) << 144n) |
        (BigInt(n.goodStreak) << 160n) |
        ((n.flagged ? 1n : 0n) << 176n) |
        (n.lastEpoch << 184n)
      );
    }

    async function writeNode(reputation: Reputation, node: string, state: NodeState) {
      const slot = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [node, NODES_SLOT]),
      );
      await networkHelpers.setStorageAt(await reputation.getAddress(), slot, packNode(state));
      expect(stateOf(await reputation.nodeOf(node)), "nodeOf reads the written word").to.deep.equal(state);
    }

    it("keeps a fail streak at 65535 after one more failing epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const saturated: NodeState = {
        score: 4000n,
        successes: 3n,
        failures: 9n,
        failStreak: Number(MAX_STREAK),
        goodStreak: 0,
        flagged: true,
        lastEpoch: 1n,
      };
      await writeNode(reputation, nodes[0], saturated);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 1, 4)]);
      const expected = applyReport(saturated, 2n, 1n, 4n, PARAMETERS).state;
      expect(expected.failStreak).to.equal(Number(MAX_STREAK));
      expect(stateOf(await reputation.nodeOf(nodes[0]))).to.deep.equal(expected);
    });

    it("keeps a good streak at 65535 after one more good epoch", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      const saturated: NodeState = {
        score: 9000n,
        successes: 70_000n,
        failures: 0n,
        failStreak: 0,
        goodStreak: Number(MAX_STREAK),
        flagged: false,
        lastEpoch: 1n,
      };
      await writeNode(reputation, nodes[0], saturated);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 5, 0)]);
      const expected = applyReport(saturated, 2n, 5n, 0n, PARAMETERS).state;
      expect(expected.goodStreak).to.equal(Number(MAX_STREAK));
      expect(stateOf(await reputation.nodeOf(nodes[0]))).to.deep.equal(expected);
    });
  });

  describe("decay toward neutral", function () {
    it("decays a reported score lazily: scoreOf moves with the epoch, the stored score does not", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 10, 0)]);
      const stored = (await reputation.nodeOf(nodes[0])).score;
      expect(stored).to.be.greaterThan(BigInt(PARAMETERS.neutralScore));

      for (const epoch of [2n, 3n, 7n, 40n]) {
        await applyReports(reputation.connect(keeper), epoch, [report(nodes[1], 1, 0)]);
        expect(await reputation.scoreOf(nodes[0]), `epoch ${epoch}`).to.equal(decayed(stored, epoch - 1n, PARAMETERS));
        expect((await reputation.nodeOf(nodes[0])).score, `stored at epoch ${epoch}`).to.equal(stored);
      }
    });

    it("decays a low score up toward neutral", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 0, 10)]);
      const stored = (await reputation.nodeOf(nodes[0])).score;
      await applyReports(reputation.connect(keeper), 4, []);
      const score = await reputation.scoreOf(nodes[0]);
      expect(score).to.be.greaterThan(stored);
      expect(score).to.be.lessThan(BigInt(PARAMETERS.neutralScore));
      expect(score).to.equal(decayed(stored, 3n, PARAMETERS));
    });

    it("applies the pending decay before learning from the next report", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 10, 0)]);
      const stored = (await reputation.nodeOf(nodes[0])).score;
      await applyReports(reputation.connect(keeper), 6, [report(nodes[0], 1, 1)]);
      // Epochs 2..5 were not reported: four epochs of decay, then learning toward 5000.
      const before = decayed(stored, 4n, PARAMETERS);
      const learned = before - ((before - 5000n) * BigInt(PARAMETERS.learningRateBps)) / 10_000n;
      expect((await reputation.nodeOf(nodes[0])).score).to.equal(learned);
    });

    it("treats a report with no tasks as one more epoch of decay that leaves both streaks unchanged", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 10, 0), report(nodes[1], 1, 1)]);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[1], 1, 1)]);
      const [good, failing] = [await reputation.nodeOf(nodes[0]), await reputation.nodeOf(nodes[1])];
      expect([good.failStreak, good.goodStreak]).to.deep.equal([0n, 1n]);
      expect([failing.failStreak, failing.goodStreak]).to.deep.equal([2n, 0n]);

      await applyReports(reputation.connect(keeper), 3, [report(nodes[0], 0, 0), report(nodes[1], 0, 0)]);
      const afterGood = await reputation.nodeOf(nodes[0]);
      expect(afterGood.score).to.equal(decayed(good.score, 2n, PARAMETERS));
      expect([afterGood.failStreak, afterGood.goodStreak]).to.deep.equal([0n, 1n]);
      expect(afterGood.lastEpoch).to.equal(3n);
      const afterFailing = await reputation.nodeOf(nodes[1]);
      expect(afterFailing.score).to.equal(decayed(failing.score, 1n, PARAMETERS));
      expect([afterFailing.failStreak, afterFailing.goodStreak]).to.deep.equal([2n, 0n]);
    });

    it("continues a fail streak across an idle epoch, so the next failing epoch flags the node", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 1)]);
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 1, 1)]);
      await applyReports(reputation.connect(keeper), 3, [report(nodes[0], 0, 0)]);
      expect(await reputation.isFlagged(nodes[0])).to.equal(false);
      const score = await reputation.scoreOf(nodes[0]);
      // The score sits at neutral (target 5000 from 5000): only the streak can flag the node.
      expect(score).to.equal(BigInt(PARAMETERS.neutralScore));
      await expect(applyReports(reputation.connect(keeper), 4, [report(nodes[0], 1, 1)]))
        .to.emit(reputation, "NodeFlagged")
        .withArgs(nodes[0], 4n, FlagReason.FailingEpochs, score);
    });

    it("reaches neutral after a very long gap", async function () {
      const { reputation, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 10, 0), report(nodes[1], 0, 10)]);
      // applyReports moves at most MAX_EPOCH_STEP a call: the very long gap is written into currentEpoch (slot 1,
      // after AccessControl._roles) directly.
      const CURRENT_EPOCH_SLOT = 1n;
      await networkHelpers.setStorageAt(await reputation.getAddress(), CURRENT_EPOCH_SLOT, 2n ** 63n);
      expect(await reputation.currentEpoch()).to.equal(2n ** 63n);
      expect(await reputation.scoreOf(nodes[0])).to.equal(BigInt(PARAMETERS.neutralScore));
      expect(await reputation.scoreOf(nodes[1])).to.equal(BigInt(PARAMETERS.neutralScore));
    });

    it("does not decay at all when decayBps is zero, and fully in one epoch when it is 10000", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 10, 0)]);
      const stored = (await reputation.nodeOf(nodes[0])).score;
      await reputation.connect(admin).setParameters({ ...PARAMETERS, decayBps: 0 });
      await applyReports(reputation.connect(keeper), 50, []);
      expect(await reputation.scoreOf(nodes[0])).to.equal(stored);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, decayBps: 10_000 });
      expect(await reputation.scoreOf(nodes[0])).to.equal(BigInt(PARAMETERS.neutralScore));
    });

    it("matches the decay formula for random gaps and parameters", async function () {
      const { reputation, admin, keeper, random } = await networkHelpers.loadFixture(deployReputationFixture);
      let epoch = 1n;
      for (let i = 0; i < 40; i++) {
        const p = randomParameters(random);
        await reputation.connect(admin).setParameters(p);
        const node = random.address();
        const successes = random.int(0, 20);
        await applyReports(reputation.connect(keeper), epoch, [
          report(node, successes, random.int(successes === 0 ? 1 : 0, 20)),
        ]);
        const stored = (await reputation.nodeOf(node)).score;
        const gap = BigInt(random.chance(0.8) ? random.int(1, 60) : random.int(61, 400));
        epoch += gap;
        await applyReports(reputation.connect(keeper), epoch, []);
        epoch += 1n;

        const onChain = await reputation.scoreOf(node);
        const context = `seed ${random.seed}, case ${i}, score ${stored}, gap ${gap}, ${JSON.stringify(p)}`;
        expect(onChain, context).to.equal(decayed(stored, gap, p));
        const exact = decayedExactly(stored, gap, p);
        const distance = onChain > exact ? onChain - exact : exact - onChain;
        expect(distance <= 1n, `${context}: exact ${exact}, on chain ${onChain}`).to.equal(true);
        const neutral = BigInt(p.neutralScore);
        const towardNeutral =
          (stored >= neutral && onChain >= neutral && onChain <= stored) ||
          (stored <= neutral && onChain <= neutral && onChain >= stored);
        expect(towardNeutral, `${context}: stays between the score and neutral`).to.equal(true);
      }
    });
  });

  describe("setParameters", function () {
    it("replaces the parameters and emits ParametersUpdated", async function () {
      const { reputation, admin, random } = await networkHelpers.loadFixture(deployReputationFixture);
      const p = randomParameters(random);
      await expect(reputation.connect(admin).setParameters(p))
        .to.emit(reputation, "ParametersUpdated")
        .withArgs(parametersTuple(p));
      expect(await reputation.parameters()).to.deep.equal(parametersTuple(p));
    });

    it("accepts the bounds: scores and rates of exactly 10000, equal thresholds", async function () {
      const { reputation, admin } = await networkHelpers.loadFixture(deployReputationFixture);
      const edge: ReputationParameters = {
        neutralScore: 10_000,
        decayBps: 10_000,
        learningRateBps: 10_000,
        failingRateBps: 10_000,
        flagAfterFailingEpochs: 1,
        flagBelowScore: 10_000,
        warnBelowScore: 10_000,
        unflagAfterGoodEpochs: 1,
        unflagAtScore: 10_000,
      };
      await reputation.connect(admin).setParameters(edge);
      expect(await reputation.parameters()).to.deep.equal(parametersTuple(edge));
      await reputation.connect(admin).setParameters({ ...edge, flagBelowScore: 0, learningRateBps: 1, decayBps: 0 });
      expect((await reputation.parameters()).learningRateBps).to.equal(1n);
    });

    const invalid: [string, Partial<ReputationParameters>, string][] = [
      ["neutralScore is above 10000", { neutralScore: 10_001 }, "score above 10000"],
      ["warnBelowScore is above 10000", { warnBelowScore: 10_001 }, "score above 10000"],
      ["unflagAtScore is above 10000", { unflagAtScore: 10_001 }, "score above 10000"],
      ["decayBps is above 10000", { decayBps: 10_001 }, "rate above 10000"],
      ["failingRateBps is above 10000", { failingRateBps: 10_001 }, "rate above 10000"],
      ["learningRateBps is zero", { learningRateBps: 0 }, "learning rate not in 1..10000"],
      ["learningRateBps is above 10000", { learningRateBps: 10_001 }, "learning rate not in 1..10000"],
      ["flagAfterFailingEpochs is zero", { flagAfterFailingEpochs: 0 }, "flagAfterFailingEpochs is zero"],
      // A zero would unflag a flagged node on its first good epoch whatever its streak: recovery takes one.
      ["unflagAfterGoodEpochs is zero", { unflagAfterGoodEpochs: 0 }, "unflagAfterGoodEpochs is zero"],
      ["warnBelowScore is below flagBelowScore", { warnBelowScore: 1999 }, "warnBelowScore < flagBelowScore"],
      ["unflagAtScore is below flagBelowScore", { unflagAtScore: 1999 }, "unflagAtScore < flagBelowScore"],
      ["neutralScore is below flagBelowScore", { neutralScore: 1999 }, "neutralScore < flagBelowScore"],
    ];
    for (const [when, change, reason] of invalid) {
      it(`reverts with "${reason}" when ${when}`, async function () {
        const { reputation, admin } = await networkHelpers.loadFixture(deployReputationFixture);
        await expect(reputation.connect(admin).setParameters({ ...PARAMETERS, ...change }))
          .to.be.revertedWithCustomError(reputation, "ReputationInvalidParameters")
          .withArgs(reason);
      });
    }

    it("reverts when the caller is not the admin, a keeper included", async function () {
      const { reputation, keeper, stranger } = await networkHelpers.loadFixture(deployReputationFixture);
      for (const caller of [keeper, stranger]) {
        await expect(reputation.connect(caller).setParameters(PARAMETERS))
          .to.be.revertedWithCustomError(reputation, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, ZeroHash);
      }
    });

    it("applies new parameters from the next report on", async function () {
      const { reputation, admin, keeper, nodes } = await networkHelpers.loadFixture(deployReputationFixture);
      await applyReports(reputation.connect(keeper), 1, [report(nodes[0], 1, 1)]);
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(1n);
      await reputation.connect(admin).setParameters({ ...PARAMETERS, failingRateBps: 5000 });
      // 50 % failures is no longer above the failing rate.
      await applyReports(reputation.connect(keeper), 2, [report(nodes[0], 1, 1)]);
      expect((await reputation.nodeOf(nodes[0])).failStreak).to.equal(0n);
    });
  });

  describe("random report sequences", function () {
    /**
     * Applies random report sequences for 50 nodes over 20 epochs (some epochs skipped, each epoch in one to
     * three batches) and checks the contract against the reference model after every batch (events) and every
     * epoch (every node's state, score and flag). Returns how often each transition happened.
     */
    async function checkAgainstModel(parameters: ReputationParameters | "random") {
      const { reputation, admin, keeper, random } = await networkHelpers.loadFixture(deployReputationFixture);
      const p = parameters === "random" ? randomParameters(random) : parameters;
      await reputation.connect(admin).setParameters(p);
      const model = new ReputationModel(p);
      const transitions = { warned: 0, flagged: 0, unflagged: 0 };

      // Each node has a reliability, drifting per epoch, so that streaks, flags and recoveries happen.
      const nodes = Array.from({ length: 50 }, () => ({ address: random.address(), reliability: random.int(0, 100) }));
      let epoch = 0n;
      for (let round = 0; round < 20; round++) {
        epoch += random.chance(0.8) ? 1n : BigInt(random.int(2, 6));
        const reports = random
          .shuffle(nodes)
          .filter(() => random.chance(0.7))
          .map(({ address, reliability }) => {
            const tasks = random.chance(0.05) ? 0 : random.int(1, 30);
            const rate = Math.min(100, Math.max(0, reliability + random.int(-30, 30)));
            const successes = Math.round((tasks * rate) / 100);
            return report(address, successes, tasks - successes);
          });

        const cuts = [
          0,
          ...Array.from({ length: random.int(0, 2) }, () => random.int(0, reports.length)),
          reports.length,
        ];
        cuts.sort((a, b) => a - b);
        const context = `seed ${random.seed}, parameters ${JSON.stringify(p)}, round ${round}, epoch ${epoch}`;
        for (let b = 0; b + 1 < cuts.length; b++) {
          const batch = reports.slice(cuts[b], cuts[b + 1]);
          const expected: unknown[][] = epoch > model.currentEpoch ? [["EpochStarted", epoch]] : [];
          for (const [i, { node, outcome }] of model.applyReports(epoch, batch).entries()) {
            const { score, failStreak } = outcome.state;
            const streak = BigInt(failStreak);
            expected.push(["NodeReported", node, epoch, batch[i].successes, batch[i].failures, score]);
            const t = outcome.transition;
            if (t.kind === "warned") expected.push(["NodeWarned", node, epoch, score, streak]);
            if (t.kind === "flagged") expected.push(["NodeFlagged", node, epoch, BigInt(t.reason), score]);
            if (t.kind === "unflagged") expected.push(["NodeUnflagged", node, epoch, score]);
            if (t.kind !== "none") transitions[t.kind] += 1;
          }
          const tx = await applyReports(reputation.connect(keeper), epoch, batch);
          expect(await eventsOf(reputation, tx), `${context}, batch ${b}: events`).to.deep.equal(expected);
        }

        expect(await reputation.currentEpoch(), context).to.equal(model.currentEpoch);
        const onChain = await Promise.all(
          nodes.map(({ address }) =>
            Promise.all([reputation.nodeOf(address), reputation.scoreOf(address), reputation.isFlagged(address)]),
          ),
        );
        for (const [i, [state, score, flagged]] of onChain.entries()) {
          const node = nodes[i].address;
          expect(stateOf(state), `${context}, node ${node}: state`).to.deep.equal(model.nodeOf(node));
          expect(score, `${context}, node ${node}: score`).to.equal(model.scoreOf(node));
          expect(flagged, `${context}, node ${node}: flag`).to.equal(model.nodeOf(node).flagged);
        }
      }
      return transitions;
    }

    it("follows the reference model with the default parameters, through warnings, flags and recoveries", async function () {
      this.timeout(120_000);
      const transitions = await checkAgainstModel(PARAMETERS);
      // With 50 nodes of spread reliability over 20 epochs every transition happens; if not, the generator
      // stopped exercising the rules.
      expect(transitions.warned, JSON.stringify(transitions)).to.be.greaterThan(0);
      expect(transitions.flagged, JSON.stringify(transitions)).to.be.greaterThan(0);
      expect(transitions.unflagged, JSON.stringify(transitions)).to.be.greaterThan(0);
    });

    it("follows the reference model with random valid parameters", async function () {
      this.timeout(120_000);
      await checkAgainstModel("random");
    });
  });
});

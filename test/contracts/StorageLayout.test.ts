/**
 * Storage layouts the code relies on, read from the compiler's `storageLayout` output (hardhat.config.ts selects it
 * into the build info): a reordered or resized field fails here instead of silently costing gas or breaking the
 * claim header, whose `terms` word is the stored Epoch slot verbatim.
 */
import { readFile } from "node:fs/promises";

import { expect } from "chai";
import { AbiCoder, keccak256, toBeHex } from "ethers";
import { network } from "hardhat";

import { LUMORA_DEFAULTS } from "../../ignition/modules/Lumora.js";

const { ethers, networkHelpers } = await network.create();
const REPUTATION_PARAMETERS = LUMORA_DEFAULTS.reputationParameters;

interface StorageEntry {
  label: string;
  slot: string;
  offset: number;
  type: string;
}
interface StorageLayout {
  storage: StorageEntry[];
  types: Record<string, { label: string; numberOfBytes: string; members?: StorageEntry[] }>;
}

async function layoutOf(contract: string): Promise<StorageLayout> {
  const artifactUrl = new URL(`../../artifacts/contracts/${contract}.sol/${contract}.json`, import.meta.url);
  const { buildInfoId } = JSON.parse(await readFile(artifactUrl, "utf8")) as { buildInfoId: string };
  const outputUrl = new URL(`../../artifacts/build-info/${buildInfoId}.output.json`, import.meta.url);
  const { output } = JSON.parse(await readFile(outputUrl, "utf8")) as {
    output: { contracts: Record<string, Record<string, { storageLayout?: StorageLayout }>> };
  };
  const layout = output.contracts[`project/contracts/${contract}.sol`]?.[contract]?.storageLayout;
  if (layout === undefined) throw new Error(`no storageLayout for ${contract}: is outputSelection set?`);
  return layout;
}

/** `[label, slot, offset]` of each variable, or of each member of a struct type. */
const shape = (entries: readonly StorageEntry[]) => entries.map((e) => [e.label, Number(e.slot), e.offset]);

function member(layout: StorageLayout, variable: string): StorageEntry {
  const entry = layout.storage.find((e) => e.label === variable);
  if (entry === undefined) throw new Error(`no variable ${variable}`);
  return entry;
}

function structMembers(layout: StorageLayout, struct: string) {
  const type = Object.values(layout.types).find((t) => t.label === `struct ${struct}`);
  if (type?.members === undefined) throw new Error(`no struct ${struct}`);
  return { members: shape(type.members), bytes: Number(type.numberOfBytes) };
}

describe("storage layout", function () {
  describe("RewardPool", function () {
    it("keeps its pool-wide slots in order, AccessControl's roles first", async function () {
      const layout = await layoutOf("RewardPool");
      expect(shape(layout.storage)).to.deep.equal([
        ["_roles", 0, 0],
        ["_ledger", 1, 0],
        ["_terms", 2, 0],
        ["challengeBond", 3, 0],
        ["challengeReward", 3, 12],
        ["challengeCount", 3, 24],
        ["bonded", 4, 0],
        ["_epochs", 5, 0],
        ["_states", 6, 0],
        ["_claimedBitmap", 7, 0],
        ["_challenges", 8, 0],
        ["_flagged", 9, 0],
      ]);
    });

    it("shares one slot between the accounting and the pause state a claim reads", async function () {
      const layout = await layoutOf("RewardPool");
      expect(structMembers(layout, "RewardPool.Ledger")).to.deep.equal({
        members: [
          ["reserved", 0, 0],
          ["unreserved", 0, 12],
          ["lastEpoch", 0, 24],
          ["pauseClock", 0, 28],
        ],
        bytes: 32,
      });
      expect(structMembers(layout, "RewardPool.Terms")).to.deep.equal({
        members: [
          ["challengeWindow", 0, 0],
          ["pausedAt", 0, 3],
          ["claimPeriod", 0, 8],
          ["rewardCap", 0, 13],
          ["rewardCapBps", 0, 25],
          ["flagsMirrored", 0, 27],
        ],
        bytes: 32,
      });
    });

    it("packs an epoch's mutable state into the one slot a claim writes, and its terms as the header's word", async function () {
      const layout = await layoutOf("RewardPool");
      expect(structMembers(layout, "RewardPool.EpochState")).to.deep.equal({
        members: [
          ["claimed", 0, 0],
          ["closed", 0, 12],
          ["headerDigest", 0, 13],
        ],
        bytes: 32,
      });
      // EpochHeader.terms = ΣC (bits 0-119) · R_total (120-215) · claimableAt (216-255): byte offsets 0, 15, 27.
      expect(structMembers(layout, "RewardPool.Epoch")).to.deep.equal({
        members: [
          ["root", 0, 0],
          ["totalContribution", 1, 0],
          ["rewardTotal", 1, 15],
          ["claimableAt", 1, 27],
        ],
        bytes: 64,
      });
    });

    it("hands claims the stored epoch words verbatim as their header", async function () {
      const [admin] = await ethers.getSigners();
      const token = await ethers.deployContract("LumoraToken", [admin.address, 10n ** 24n]);
      const reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
      const pool = await ethers.deployContract("RewardPool", [
        admin.address,
        await token.getAddress(),
        await reputation.getAddress(),
        600,
        86_400,
      ]);
      await reputation.setFlagMirror(await pool.getAddress());
      await pool.grantRole(await pool.KEEPER_ROLE(), admin.address);
      await token.approve(await pool.getAddress(), 10n ** 20n);
      await pool.fund(10n ** 20n);
      const root = keccak256("0x01");
      await pool.commitEpoch(1n, root, 12_345n, 10n ** 18n);

      const base = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [1n, 5n])));
      const stored = await networkHelpers.getStorageAt(await pool.getAddress(), base + 1n);
      const header = await pool.claimHeaderOf(1n);
      expect(header.root).to.equal(await networkHelpers.getStorageAt(await pool.getAddress(), base));
      expect(toBeHex(header.terms, 32)).to.equal(stored);
      expect(header.terms & (2n ** 120n - 1n)).to.equal(12_345n);
      expect((header.terms >> 120n) & (2n ** 96n - 1n)).to.equal(10n ** 18n);
    });
  });

  describe("Reputation", function () {
    it("keeps its slots in order, AccessControl's roles first", async function () {
      const layout = await layoutOf("Reputation");
      expect(shape(layout.storage)).to.deep.equal([
        ["_roles", 0, 0],
        ["currentEpoch", 1, 0],
        ["_parameters", 2, 0],
        ["_nodes", 3, 0],
        ["flagMirror", 4, 0],
      ]);
      expect(member(layout, "_nodes").type).to.equal("t_mapping(t_address,t_uint256)");
    });

    it("stores a node as one word: score · successes · failures · failStreak · goodStreak · flagged · lastEpoch", async function () {
      const [admin] = await ethers.getSigners();
      const reputation = await ethers.deployContract("Reputation", [
        admin.address,
        { ...REPUTATION_PARAMETERS, flagAfterFailingEpochs: 1 },
      ]);
      await reputation.grantRole(await reputation.KEEPER_ROLE(), admin.address);
      const node = "0x00000000000000000000000000000000000000aa";
      const report = ethers.solidityPacked(["address", "uint32", "uint32", "uint32"], [node, 3, 9, 0]);
      await reputation.applyReports(5n, [report]);

      const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [node, 3n]));
      const word = BigInt(await networkHelpers.getStorageAt(await reputation.getAddress(), slot));
      const n = await reputation.nodeOf(node);
      const field = (from: bigint, bits: bigint) => (word >> from) & ((1n << bits) - 1n);
      expect([
        field(0n, 16n),
        field(16n, 64n),
        field(80n, 64n),
        field(144n, 16n),
        field(160n, 16n),
        field(176n, 8n),
        field(184n, 64n),
        word >> 248n,
      ]).to.deep.equal([n.score, 3n, 9n, 1n, 0n, 1n, 5n, 0n]);
      expect(n.flagged).to.equal(true, "the report must exercise the flag bit");
    });

    it("reverts instead of wrapping a cumulative counter past 2^64 - 1", async function () {
      const [admin] = await ethers.getSigners();
      const reputation = await ethers.deployContract("Reputation", [
        admin.address,
        { ...REPUTATION_PARAMETERS, flagAfterFailingEpochs: 1 },
      ]);
      await reputation.grantRole(await reputation.KEEPER_ROLE(), admin.address);
      const node = "0x00000000000000000000000000000000000000bb";
      const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [node, 3n]));
      // score 5000, successes 2^64 - 1, last reported in epoch 1.
      const word = 5000n | ((2n ** 64n - 1n) << 16n) | (1n << 184n);
      await networkHelpers.setStorageAt(await reputation.getAddress(), slot, word);
      const report = ethers.solidityPacked(["address", "uint32", "uint32", "uint32"], [node, 1, 0, 0]);
      await expect(reputation.applyReports(2n, [report]))
        .to.be.revertedWithCustomError(reputation, "ReputationCounterOverflow")
        .withArgs(node);
    });
  });
});

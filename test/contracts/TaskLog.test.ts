import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ZeroAddress, ZeroHash } from "ethers";
import { network } from "hardhat";

import type { TaskLog } from "../../types/ethers-contracts/index.js";
import type { TaskLog as TaskLogTypes } from "../../types/ethers-contracts/TaskLog.js";
import { createRandom, type Random } from "./helpers/random.js";

const { ethers, networkHelpers } = await network.create();

/** The StandardMerkleTree leaf encoding of a task record, as documented in TaskLog.sol. */
const RECORD_ENCODING = [
  "bytes32",
  "address",
  "address",
  "uint64",
  "uint64",
  "uint64",
  "uint8",
  "bytes32",
  "uint16",
  "bytes32",
];

type RecordTuple = [string, string, string, bigint, bigint, bigint, number, string, number, string];

const FIELDS = [
  "taskId",
  "consumer",
  "executor",
  "bytesMoved",
  "startedAt",
  "endedAt",
  "status",
  "dataSha256",
  "attempts",
  "evidence",
] as const;

function randomRecord(random: Random): RecordTuple {
  const startedAt = BigInt(random.int(1_700_000_000, 1_900_000_000));
  return [
    random.bytes32(),
    random.address(),
    random.address(),
    random.uint(64),
    startedAt,
    startedAt + BigInt(random.int(0, 86_400)),
    random.int(1, 3),
    random.bytes32(),
    random.int(1, 5),
    random.bytes32(),
  ];
}

/** A copy of `record` with field `index` changed to another valid value of its type. */
function alterField(record: RecordTuple, index: number, random: Random): RecordTuple {
  const altered = [...record] as RecordTuple;
  switch (RECORD_ENCODING[index]) {
    case "bytes32":
    case "address": {
      const value = altered[index] as string;
      const last = value.slice(-2) === "00" ? "01" : "00";
      altered[index] = RECORD_ENCODING[index] === "address" ? random.address() : value.slice(0, -2) + last;
      break;
    }
    case "uint64":
      altered[index] = (((altered[index] as bigint) + 1n) % 2n ** 64n) as never;
      break;
    case "uint8":
      altered[index] = (((altered[index] as number) + 1) % 256) as never;
      break;
    case "uint16":
      altered[index] = (((altered[index] as number) + 1) % 65_536) as never;
      break;
  }
  return altered;
}

/** The record as the contract's named struct. */
function toStruct(record: RecordTuple): TaskLogTypes.TaskRecordStruct {
  return Object.fromEntries(FIELDS.map((field, i) => [field, record[i]])) as TaskLogTypes.TaskRecordStruct;
}

function recordTree(records: RecordTuple[]) {
  return StandardMerkleTree.of(records, RECORD_ENCODING);
}

describe("TaskLog", function () {
  async function deployTaskLogFixture() {
    const [admin, keeper, stranger] = await ethers.getSigners();
    const taskLog: TaskLog = await ethers.deployContract("TaskLog", [admin.address]);
    await taskLog.connect(admin).grantRole(await taskLog.KEEPER_ROLE(), keeper.address);
    const random = createRandom();
    return { taskLog, admin, keeper, stranger, random };
  }

  /** The fixture plus epoch 1 committed with a random tree of 50 records. */
  async function committedEpochFixture() {
    const base = await deployTaskLogFixture();
    const records = Array.from({ length: 50 }, () => randomRecord(base.random));
    const tree = recordTree(records);
    await base.taskLog.connect(base.keeper).commit(1, tree.root, records.length, "ipfs://epoch-1");
    return { ...base, records, tree };
  }

  describe("deployment", function () {
    it("gives the admin the admin role and nobody the keeper role", async function () {
      const { taskLog, admin } = await networkHelpers.loadFixture(deployTaskLogFixture);
      expect(await taskLog.hasRole(await taskLog.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await taskLog.hasRole(await taskLog.KEEPER_ROLE(), admin.address)).to.equal(false);
    });

    it("defines KEEPER_ROLE as keccak256 of its name", async function () {
      const { taskLog } = await networkHelpers.loadFixture(deployTaskLogFixture);
      expect(await taskLog.KEEPER_ROLE()).to.equal(ethers.id("KEEPER_ROLE"));
    });

    it("starts with no committed epoch", async function () {
      const { taskLog } = await networkHelpers.loadFixture(deployTaskLogFixture);
      expect(await taskLog.lastEpoch()).to.equal(0n);
      expect(await taskLog.rootOf(1)).to.equal(ZeroHash);
    });

    it("reverts when the admin is the zero address", async function () {
      const factory = await ethers.getContractFactory("TaskLog");
      await expect(factory.deploy(ZeroAddress)).to.be.revertedWithCustomError(factory, "TaskLogZeroAdmin");
    });
  });

  describe("commit", function () {
    it("stores the first epoch's root, and its task count and commit time in the event's log and block", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      const root = random.bytes32();
      const tx = await taskLog.connect(keeper).commit(1, root, 7, "ipfs://bafy-epoch-1");
      const receipt = (await tx.wait())!;

      expect(await taskLog.rootOf(1)).to.equal(root);
      expect(await taskLog.lastEpoch()).to.equal(1n);
      const [committed] = await taskLog.queryFilter(taskLog.filters.EpochCommitted(1));
      expect(committed.args.taskCount).to.equal(7n);
      expect(committed.blockNumber, "the commit time is the event's block time").to.equal(receipt.blockNumber);
    });

    it("writes one fresh storage slot per epoch: the root", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(committedEpochFixture);
      const root = random.bytes32();
      const address = await taskLog.getAddress();
      // The roots mapping is the contract's third variable (slot 2: after AccessControl's roles and lastEpoch).
      const slotOf = (epoch: bigint) =>
        ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [epoch, 2n]));
      await taskLog.connect(keeper).commit(2, root, 9, "ipfs://epoch-2");
      expect(await ethers.provider.getStorage(address, slotOf(2n))).to.equal(root);
      const next = BigInt(slotOf(2n)) + 1n;
      expect(await ethers.provider.getStorage(address, next)).to.equal(ZeroHash);
    });

    it("emits EpochCommitted with the epoch, root, task count and uri", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      const root = random.bytes32();
      const uri = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/epoch-1.json";
      await expect(taskLog.connect(keeper).commit(1, root, 123, uri))
        .to.emit(taskLog, "EpochCommitted")
        .withArgs(1n, root, 123n, uri);
    });

    it("commits consecutive epochs one after another", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      const roots = [random.bytes32(), random.bytes32(), random.bytes32()];
      for (const [i, root] of roots.entries()) {
        await taskLog.connect(keeper).commit(i + 1, root, i + 1, `uri-${i + 1}`);
      }
      expect(await taskLog.lastEpoch()).to.equal(3n);
      const events = await taskLog.queryFilter(taskLog.filters.EpochCommitted());
      for (const [i, root] of roots.entries()) {
        expect(await taskLog.rootOf(i + 1), `root of epoch ${i + 1}`).to.equal(root);
        expect(events[i].args.epoch, `event ${i}`).to.equal(BigInt(i + 1));
        expect(events[i].args.taskCount, `task count of epoch ${i + 1}`).to.equal(BigInt(i + 1));
      }
    });

    it("reverts when the first epoch is not 1", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      await expect(taskLog.connect(keeper).commit(0, random.bytes32(), 1, ""))
        .to.be.revertedWithCustomError(taskLog, "TaskLogNonConsecutiveEpoch")
        .withArgs(0n, 1n);
      await expect(taskLog.connect(keeper).commit(2, random.bytes32(), 1, ""))
        .to.be.revertedWithCustomError(taskLog, "TaskLogNonConsecutiveEpoch")
        .withArgs(2n, 1n);
    });

    it("reverts when an epoch is skipped", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(committedEpochFixture);
      await expect(taskLog.connect(keeper).commit(3, random.bytes32(), 1, ""))
        .to.be.revertedWithCustomError(taskLog, "TaskLogNonConsecutiveEpoch")
        .withArgs(3n, 2n);
    });

    it("never lets a committed epoch be committed again", async function () {
      const { taskLog, keeper, random, tree, records } = await networkHelpers.loadFixture(committedEpochFixture);
      await expect(taskLog.connect(keeper).commit(1, random.bytes32(), 1, "ipfs://other"))
        .to.be.revertedWithCustomError(taskLog, "TaskLogNonConsecutiveEpoch")
        .withArgs(1n, 2n);
      expect(await taskLog.rootOf(1)).to.equal(tree.root);
      const events = await taskLog.queryFilter(taskLog.filters.EpochCommitted(1));
      expect(events.map((e) => e.args.taskCount)).to.deep.equal([BigInt(records.length)]);
    });

    it("reverts when the root is zero", async function () {
      const { taskLog, keeper } = await networkHelpers.loadFixture(deployTaskLogFixture);
      await expect(taskLog.connect(keeper).commit(1, ZeroHash, 1, ""))
        .to.be.revertedWithCustomError(taskLog, "TaskLogZeroRoot")
        .withArgs(1n);
    });

    it("reverts when the epoch has no tasks", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      await expect(taskLog.connect(keeper).commit(1, random.bytes32(), 0, ""))
        .to.be.revertedWithCustomError(taskLog, "TaskLogEmptyEpoch")
        .withArgs(1n);
    });

    it("reverts when the caller is not a keeper, the admin included", async function () {
      const { taskLog, admin, stranger, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      const keeperRole = await taskLog.KEEPER_ROLE();
      for (const caller of [stranger, admin]) {
        await expect(taskLog.connect(caller).commit(1, random.bytes32(), 1, ""))
          .to.be.revertedWithCustomError(taskLog, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, keeperRole);
      }
    });

    it("stops accepting commits from a keeper whose role was revoked", async function () {
      const { taskLog, admin, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      const keeperRole = await taskLog.KEEPER_ROLE();
      await taskLog.connect(admin).revokeRole(keeperRole, keeper.address);
      await expect(taskLog.connect(keeper).commit(1, random.bytes32(), 1, ""))
        .to.be.revertedWithCustomError(taskLog, "AccessControlUnauthorizedAccount")
        .withArgs(keeper.address, keeperRole);
    });

    it("only lets the admin grant the keeper role", async function () {
      const { taskLog, keeper, stranger } = await networkHelpers.loadFixture(deployTaskLogFixture);
      await expect(taskLog.connect(keeper).grantRole(await taskLog.KEEPER_ROLE(), stranger.address))
        .to.be.revertedWithCustomError(taskLog, "AccessControlUnauthorizedAccount")
        .withArgs(keeper.address, await taskLog.DEFAULT_ADMIN_ROLE());
    });
  });

  describe("verifyTask and leafOf", function () {
    it("computes the StandardMerkleTree leaf hash of every record", async function () {
      const { taskLog, tree } = await networkHelpers.loadFixture(committedEpochFixture);
      for (const [i, record] of tree.entries()) {
        expect(await taskLog.leafOf(toStruct(record)), `leaf ${i}`).to.equal(tree.leafHash(record));
      }
    });

    it("proves every record of a random 50-record epoch", async function () {
      const { taskLog, tree, random } = await networkHelpers.loadFixture(committedEpochFixture);
      for (const [i, record] of tree.entries()) {
        expect(
          await taskLog.verifyTask(1, toStruct(record), tree.getProof(i)),
          `record ${i}, seed ${random.seed}`,
        ).to.equal(true);
      }
    });

    it("proves the only record of a one-record epoch with an empty proof", async function () {
      const { taskLog, keeper, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      const record = randomRecord(random);
      const tree = recordTree([record]);
      await taskLog.connect(keeper).commit(1, tree.root, 1, "");
      expect(tree.getProof(0)).to.deep.equal([]);
      expect(await taskLog.verifyTask(1, toStruct(record), [])).to.equal(true);
    });

    it("rejects a record with any single field altered", async function () {
      const { taskLog, tree, records, random } = await networkHelpers.loadFixture(committedEpochFixture);
      const index = random.int(0, records.length - 1);
      const proof = tree.getProof(index);
      expect(await taskLog.verifyTask(1, toStruct(records[index]), proof)).to.equal(true);
      for (const [field, name] of FIELDS.entries()) {
        const altered = alterField(records[index], field, random);
        expect(altered[field], `${name} was altered`).to.not.equal(records[index][field]);
        expect(await taskLog.verifyTask(1, toStruct(altered), proof), `${name} altered, seed ${random.seed}`).to.equal(
          false,
        );
      }
    });

    it("rejects a record with the proof of another record", async function () {
      const { taskLog, tree, records } = await networkHelpers.loadFixture(committedEpochFixture);
      expect(await taskLog.verifyTask(1, toStruct(records[0]), tree.getProof(1))).to.equal(false);
    });

    it("rejects a record proven against another epoch's root", async function () {
      const { taskLog, keeper, tree, records, random } = await networkHelpers.loadFixture(committedEpochFixture);
      const otherRecords = Array.from({ length: 20 }, () => randomRecord(random));
      const otherTree = recordTree(otherRecords);
      await taskLog.connect(keeper).commit(2, otherTree.root, otherRecords.length, "ipfs://epoch-2");

      expect(await taskLog.verifyTask(1, toStruct(records[3]), tree.getProof(3))).to.equal(true);
      expect(await taskLog.verifyTask(2, toStruct(records[3]), tree.getProof(3))).to.equal(false);
      expect(await taskLog.verifyTask(2, toStruct(otherRecords[0]), otherTree.getProof(otherRecords[0]))).to.equal(
        true,
      );
      expect(await taskLog.verifyTask(1, toStruct(otherRecords[0]), otherTree.getProof(otherRecords[0]))).to.equal(
        false,
      );
    });

    it("rejects every proof for an epoch that was never committed", async function () {
      const { taskLog, tree, records } = await networkHelpers.loadFixture(committedEpochFixture);
      expect(await taskLog.verifyTask(1, toStruct(records[5]), tree.getProof(5))).to.equal(true);
      for (const epoch of [0n, 2n, 2n ** 256n - 1n]) {
        expect(await taskLog.verifyTask(epoch, toStruct(records[5]), tree.getProof(5)), `epoch ${epoch}`).to.equal(
          false,
        );
      }
    });

    it("rejects a record with an empty proof when the epoch was never committed", async function () {
      const { taskLog, random } = await networkHelpers.loadFixture(deployTaskLogFixture);
      // With no root stored, the zero root must not be treated as a commitment.
      expect(await taskLog.verifyTask(1, toStruct(randomRecord(random)), [])).to.equal(false);
    });
  });
});

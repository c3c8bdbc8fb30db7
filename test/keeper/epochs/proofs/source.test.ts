import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress } from "ethers";

import { proofsHandler } from "../../../../keeper/api/proofs.ts";
import { buildEpoch } from "../../../../keeper/epochs/build.ts";
import { EpochUnknownError } from "../../../../keeper/epochs/collect/errors.ts";
import { AccountNotInEpochError, ProofRequestError } from "../../../../keeper/epochs/proofs/errors.ts";
import { leafHashOf, REWARD_LEAF_ENCODING, verifyProof } from "../../../../keeper/epochs/merkle/tree.ts";
import { DirectoryProofSource, HttpProofSource, type RewardProof } from "../../../../keeper/epochs/proofs/source.ts";
import { ProofsService } from "../../../../keeper/epochs/proofs/p2p.ts";
import {
  epochDir,
  publishEpoch,
  readEpochSummary,
  type EpochSummary,
} from "../../../../keeper/epochs/proofs/publish.ts";
import type { EpochBundle } from "../../../../keeper/epochs/types.ts";
import { silent, startNode, type TestKeeper } from "../../helpers.ts";

const accounts = Array.from({ length: 5 }, (_, i) => getAddress("0x" + (0xabc0 + i).toString(16).padStart(40, "0")));
const bundle: EpochBundle = {
  epoch: 7,
  startMs: 1_000,
  endMs: 2_000,
  tasks: [
    [
      "0x" + "11".repeat(32),
      accounts[0]!,
      accounts[1]!,
      100n,
      1n,
      2n,
      1,
      "0x" + "22".repeat(32),
      1,
      "0x" + "33".repeat(32),
    ],
  ],
  contributions: accounts.map((account, i) => ({ account, index: i * 3, contribution: BigInt(100 * (i + 1)) })),
  reputation: [{ node: accounts[1]!, successes: 3, failures: 1 }],
  rewardTotal: 1_000_000n,
};
const stranger = getAddress("0x" + "ee".repeat(20));

function checkProof(p: RewardProof, account: string, index: number): void {
  assert.equal(p.account, account);
  assert.equal(p.index, index);
  const leaf = leafHashOf([BigInt(p.epoch), BigInt(p.index), p.account, BigInt(p.contribution)], REWARD_LEAF_ENCODING);
  assert.ok(verifyProof(p.root, leaf, p.proof), `proof of ${account} verifies`);
}

describe("epochs/publish + proofs", () => {
  let base: string;
  let summary: EpochSummary;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), "lumora-proofs-"));
    summary = await publishEpoch(await buildEpoch(bundle), base, {
      uri: "file://epochs/7",
      transactions: { taskLog: "0x01" },
    });
  });
  after(() => rm(base, { recursive: true, force: true }));

  it("publishes dumps third-party tools load, and a summary with roots and totals", async () => {
    const dir = epochDir(base, 7);
    const rewards = StandardMerkleTree.load(JSON.parse(await readFile(join(dir, "rewards.json"), "utf8")));
    assert.equal(rewards.root, summary.rewards!.root);
    const tasks = StandardMerkleTree.load(JSON.parse(await readFile(join(dir, "tasks.json"), "utf8")));
    assert.equal(tasks.root, summary.tasks!.root);
    assert.equal(summary.rewards!.totalContribution, "1500");
    assert.equal(summary.rewards!.accounts, 5);
    assert.equal(summary.tasks!.count, 1);
    assert.deepEqual(await readEpochSummary(base, 7), summary);
    for (const [i, v] of rewards.entries()) {
      assert.equal(v[0], "7", `leaf ${i} epoch`);
    }
  });

  it("serves proofs from the directory with the amount the pool pays", async () => {
    const source = new DirectoryProofSource(base);
    const p = await source.proof(7, accounts[2]!.toLowerCase());
    checkProof(p, accounts[2]!, 6);
    assert.equal(p.amount, ((1_000_000n * 300n) / 1500n).toString());
    await assert.rejects(source.proof(7, stranger), AccountNotInEpochError);
    await assert.rejects(source.proof(8, stranger), EpochUnknownError);
    await assert.rejects(source.proof(7, "0x12"), ProofRequestError);
  });

  describe("HTTP", () => {
    let server: Server;
    let url: string;
    before(async () => {
      const handle = proofsHandler(new DirectoryProofSource(base), silent);
      server = createServer((req, res) => {
        void handle(req, res).then((handled) => {
          if (!handled) {
            res.writeHead(404, { "content-type": "application/json" });
            res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "no route" } }));
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("GET /proofs/<epoch>/<account> answers the proof JSON", async () => {
      const res = await fetch(`${url}/proofs/7/${accounts[4]}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const p = (await res.json()) as RewardProof;
      checkProof(p, accounts[4]!, 12);
      assert.equal(p.contribution, "500");
    });

    it("answers 404 with a JSON error for an unknown epoch or account, 400 for a bad one", async () => {
      for (const [path, status, code] of [
        [`/proofs/7/${stranger}`, 404, "ACCOUNT_NOT_IN_EPOCH"],
        [`/proofs/99/${stranger}`, 404, "EPOCH_UNKNOWN"],
        [`/epochs/99`, 404, "EPOCH_UNKNOWN"],
        [`/proofs/x/${stranger}`, 400, "BAD_REQUEST"],
      ] as const) {
        const res = await fetch(url + path);
        assert.equal(res.status, status, path);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, path);
      }
    });

    it("GET /epochs/<epoch> answers the summary, and HttpProofSource reads both", async () => {
      const res = await fetch(`${url}/epochs/7`);
      assert.deepEqual(await res.json(), summary);
      const source = new HttpProofSource(url);
      checkProof(await source.proof(7, accounts[0]!), accounts[0]!, 0);
      await assert.rejects(source.proof(7, stranger), AccountNotInEpochError);
      await assert.rejects(source.summary(8), EpochUnknownError);
    });
  });

  describe("libp2p /lumora/proofs/1.0.0", () => {
    let server: TestKeeper;
    let client: TestKeeper;
    let served: ProofsService;
    let asking: ProofsService;

    before(async () => {
      [server, client] = await Promise.all([startNode(), startNode()]);
      served = new ProofsService({ node: server.node, logger: silent, source: new DirectoryProofSource(base) });
      asking = new ProofsService({ node: client.node, logger: silent, source: new DirectoryProofSource(base) });
      await served.start();
      await client.node.dial(server.node.getMultiaddrs()[0]!);
    });
    after(async () => {
      await served.stop();
      await Promise.all([server.node.stop(), client.node.stop()]);
    });

    it("fetches a proof and a summary from another keeper", async () => {
      const peer = server.node.peerId;
      checkProof(await asking.fetchProof(peer, 7, accounts[3]!), accounts[3]!, 9);
      assert.deepEqual(await asking.fetchSummary(peer, 7), summary);
      const remote = asking.sourceFor(peer);
      checkProof(await remote.proof(7, accounts[1]!), accounts[1]!, 3);
    });

    it("answers typed errors for unknown epochs and accounts", async () => {
      const peer = server.node.peerId;
      await assert.rejects(asking.fetchProof(peer, 7, stranger), AccountNotInEpochError);
      await assert.rejects(asking.fetchProof(peer, 8, stranger), EpochUnknownError);
      await assert.rejects(asking.fetchSummary(peer, 8), EpochUnknownError);
    });
  });
});

/**
 * `lumora:verify-epoch` (claims/verify.ts) against epochs that the keeper's own code published
 * (keeper/epochs/proofs/publish.ts) and committed (keeper/epochs/submit/submitter.ts, through keeper/chain over JSON-RPC on
 * 127.0.0.1): a full epoch, an empty one (markers on both contracts) and one with tasks but no contributions; and
 * epochs published with their full signed evidence, whose every C_i is recomputed from it.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, Mnemonic, Wallet, parseEther, toBeHex } from "ethers";
import { network } from "hardhat";

import LumoraModule from "../../ignition/modules/Lumora.js";
import { BondView } from "../../keeper/chain/bonds.ts";
import { Chain } from "../../keeper/chain/index.ts";
import { proofsHandler } from "../../keeper/api/proofs.ts";
import {
  DEFAULT_PAYMENT_TERMS,
  connectContracts,
  EpochNotPublishedError,
  fundPool,
  keeperEpochsDir,
  publishedRecords,
  verifyPublishedEpoch,
  type EpochVerification,
  type LumoraContracts,
} from "../../claims/index.ts";
import { signPeerRecord } from "../../keeper/discovery/record.ts";
import { buildEpoch } from "../../keeper/epochs/build.ts";
import { mergeObservations } from "../../keeper/epochs/observe/merge.ts";
import {
  observationSetHash,
  signObservation,
  type SignedObservation,
} from "../../keeper/epochs/observe/observation.ts";
import { evidenceHashOf } from "../../keeper/epochs/quorum/commitment.ts";
import { receiptId } from "../../keeper/transfer/receipt.ts";
import { RemoteProofError } from "../../keeper/epochs/proofs/errors.ts";
import { DirectoryProofSource } from "../../keeper/epochs/proofs/source.ts";
import { epochDir, publishEpoch } from "../../keeper/epochs/proofs/publish.ts";
import { EpochSubmitter } from "../../keeper/epochs/submit/submitter.ts";
import type { EpochBundle, EpochEvidence, PaymentRule, TaskRecordValue } from "../../keeper/epochs/types.ts";
import { VaultSettlement } from "../../keeper/payment/index.ts";
import { createLogger } from "../../keeper/logger.ts";
import { openStore, type Store } from "../../keeper/store/index.ts";
import { buildDeploymentRecord, resolveParameters } from "../../scripts/lib/deployments.js";
import { serveJsonRpc } from "../../scripts/lib/rpc-bridge.ts";
import type { NodeRegistry } from "../../types/ethers-contracts/index.ts";
import { peer, world, type Peer } from "../keeper/epochs/fixtures.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

const REWARD = parseEther("1000");
const DEPLOYER_KEY = HDNodeWallet.fromMnemonic(
  Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
  "m/44'/60'/0'/0/0",
).privateKey;

function task(n: number, consumer: string, executor: string): TaskRecordValue {
  return [toBeHex(n, 32), consumer, executor, 1000n, 10n, 20n, 1, toBeHex(n + 1, 32), 1, toBeHex(n + 2, 32)];
}

/**
 * The keeper's proofs routes (keeper/api/proofs.ts, the handler its ApiServer mounts for its publication folder) on
 * a bare node:http server: ApiServer itself needs a running Keeper (libp2p), the routes do not.
 */
async function serveEpochs(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const route = proofsHandler(new DirectoryProofSource(dir));
  const server: Server = createServer((req, res) => {
    route(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end();
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function expectVerified(result: EpochVerification): void {
  expect(result.ok, result.message).to.equal(true);
  expect(result.problems).to.deep.equal([]);
  expect([result.taskLog.status, result.rewardPool.status]).to.deep.equal(["match", "match"]);
  expect(result.lines, "one line per check").to.have.length(4);
  for (const line of result.lines.slice(0, 3)) expect(line, line).to.contain("match:");
  expect(result.lines[3]).to.match(/^evidence +(match:|not published in full)/);
}

describe("verify-epoch (claims/verify)", function () {
  this.timeout(60_000);
  let contracts: LumoraContracts;
  let base: string;
  let rpc: Awaited<ReturnType<typeof serveJsonRpc>>;
  let chain: Chain;
  let store: Store;
  let submitter: EpochSubmitter;
  let published: string;
  let registry: NodeRegistry;
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async function () {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  before(async function () {
    const [deployer, alice, bob, carol] = await ethers.getSigners();
    const deployed = await ignition.deploy(LumoraModule, {});
    registry = deployed.nodeRegistry as unknown as NodeRegistry;
    const addresses = {
      LumoraToken: await deployed.token.getAddress(),
      Reputation: await deployed.reputation.getAddress(),
      TaskLog: await deployed.taskLog.getAddress(),
      RewardPool: await deployed.rewardPool.getAddress(),
    };
    contracts = await connectContracts(ethers, {
      ...addresses,
      EpochQuorum: await deployed.epochQuorum.getAddress(),
      CreditVault: await deployed.creditVault.getAddress(),
    });
    await fundPool(contracts, deployer!, parseEther("10000"));
    rpc = await serveJsonRpc(connection.provider);
    base = await mkdtemp(path.join(tmpdir(), "lumora-verify-epoch-"));
    store = openStore(path.join(base, "keeper.db"));
    published = path.join(base, "lumora-data", "epochs");
    const deployment = buildDeploymentRecord({
      network: "test",
      chainId: (await ethers.provider.getNetwork()).chainId,
      deployer: deployer!.address,
      // The keeper commits through the deployment's EpochQuorum, whose only keeper (1 of 1) is the deployer.
      contracts: { ...addresses, EpochQuorum: await deployed.epochQuorum.getAddress() },
      deploymentBlock: 0,
      parameters: resolveParameters({}, deployer!.address),
    });
    const logger = createLogger("test", { level: "silent" });
    chain = new Chain({ logger }, { rpcUrl: rpc.url, deployment, privateKey: DEPLOYER_KEY, receiptPollMs: 50 });
    await chain.start();
    submitter = new EpochSubmitter({ chain, store, logger });

    // What a keeper does at each close: build, publish to its folder, submit (markers for empty sides).
    const bundles: EpochBundle[] = [
      {
        epoch: 1,
        startMs: 1_000_000,
        endMs: 2_000_000,
        tasks: [task(10, alice!.address, bob!.address), task(11, carol!.address, alice!.address)],
        contributions: [
          { account: alice!.address, index: 0, contribution: 3n },
          { account: bob!.address, index: 1, contribution: 5n },
          { account: carol!.address, index: 2, contribution: 7n },
        ],
        reputation: [],
        rewardTotal: REWARD,
      },
      {
        epoch: 2,
        startMs: 2_000_000,
        endMs: 3_000_000,
        tasks: [],
        contributions: [],
        reputation: [],
        rewardTotal: REWARD,
      },
      {
        epoch: 3,
        startMs: 3_000_000,
        endMs: 4_000_000,
        tasks: [task(30, alice!.address, bob!.address)],
        contributions: [],
        reputation: [],
        rewardTotal: REWARD,
      },
    ];
    for (const bundle of bundles) {
      const built = await buildEpoch(bundle);
      await publishEpoch(built, published, { uri: `lumora:epoch/${bundle.epoch}` });
      await submitter.submit(built);
    }
  });

  after(async function () {
    await submitter?.stop();
    await chain?.stop();
    store?.close();
    await rpc?.close();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  });

  it("verifies an empty epoch, committed as a TaskLog marker and a 1-wei RewardPool marker", async function () {
    const records = publishedRecords(base, "test", { proofsDir: published });
    const result = await verifyPublishedEpoch(contracts, records, 2);
    expectVerified(result);
    expect(result.taskLog.expected).to.include({ marker: true, count: 1n });
    expect(result.rewardPool.expected).to.include({ marker: true, count: 1n, rewardTotal: 1n });
    expect(result.lines[1]).to.contain("marker record of an epoch without tasks");
    expect(result.lines[2]).to.contain("1-wei marker");
  });

  it("verifies an epoch with tasks but no contributions: its tree on TaskLog, the marker on RewardPool", async function () {
    const result = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 3);
    expectVerified(result);
    expect(result.taskLog.expected).to.include({ marker: false, count: 1n });
    expect(result.rewardPool.expected).to.include({ marker: true });
  });

  it("verifies a full epoch from --proofs-dir, saying per contract what matched", async function () {
    const result = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 1);
    expectVerified(result);
    expect(result.taskLog.chain).to.deep.equal({ root: result.taskLog.expected.root, count: 2n });
    expect(result.rewardPool.chain).to.deep.equal({
      root: result.rewardPool.expected.root,
      count: 15n,
      rewardTotal: REWARD,
    });
    expect(result.lines[1]).to.match(/^TaskLog +match: root 0x[0-9a-f]{64}, 2 task records$/);
    expect(result.lines[2]).to.match(/^RewardPool match: root 0x[0-9a-f]{64}, ΣC 15, R_total 1000\.0 LUM$/);
    expect(result.source).to.equal(published);
  });

  it("verifies every epoch from --proofs-url, over the keeper's proofs routes on 127.0.0.1", async function () {
    const api = await serveEpochs(published);
    cleanups.push(api.close);
    for (const epoch of [1, 2, 3]) {
      const result = await verifyPublishedEpoch(
        contracts,
        publishedRecords(base, "test", { proofsUrl: api.url }),
        epoch,
      );
      expect(result.source, `epoch ${epoch}`).to.equal(api.url);
      expectVerified(result);
    }
    // The route serves the published dump byte for byte.
    const res = await fetch(`${api.url}/epochs/1/rewards.json`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.equal(await readFile(path.join(epochDir(published, 1), "rewards.json"), "utf8"));
    const none = await fetch(`${api.url}/epochs/2/rewards.json`);
    expect(none.status, "an empty epoch publishes no rewards.json").to.equal(404);
  });

  it("fails on a tampered publication with one line naming RewardPool and both roots", async function () {
    const copy = await mkdtemp(path.join(tmpdir(), "lumora-verify-tampered-"));
    cleanups.push(() => rm(copy, { recursive: true, force: true }));
    await cp(published, copy, { recursive: true });
    const file = path.join(epochDir(copy, 1), "rewards.json");
    const dump = JSON.parse(await readFile(file, "utf8")) as { values: { value: string[] }[] };
    const bob = dump.values.find((v) => v.value[3] === "5")!;
    bob.value[3] = "500";
    await writeFile(file, JSON.stringify(dump));

    const onChain = (await contracts.pool.epochOf(1))[0].root;
    const api = await serveEpochs(copy);
    cleanups.push(api.close);
    for (const options of [{ proofsDir: copy }, { proofsUrl: api.url }]) {
      const result = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", options), 1);
      expect(result.ok, JSON.stringify(options)).to.equal(false);
      expect(result.taskLog.status).to.equal("match");
      expect(result.rewardPool.status).to.equal("mismatch");
      expect(result.message).to.not.contain("\n");
      expect(result.message).to.match(/^epoch 1 does NOT match/);
      expect(result.message).to.contain(
        `RewardPool holds root ${onChain}, the published records commit to ${result.rewardPool.expected.root}`,
      );
      expect(result.message).to.contain("RewardPool holds ΣC 15, the published records 510");
      expect(result.publication.join("; ")).to.contain("rewards.json rebuilds to root");
      expect(result.lines[2]).to.match(/^RewardPool MISMATCH: /);
    }
  });

  it("recomputes every C_i from the signed evidence: an honest epoch verifies, an inflated one fails loudly", async function () {
    // A keeper's real close: consumer-signed receipts, signed peer records, health outcomes.
    const now = Date.now();
    const [consumer, p1, p2] = await Promise.all([peer(101), peer(102), peer(103)]);
    const records = new Map<string, Uint8Array>();
    for (const p of [consumer, p1, p2]) {
      records.set(
        p.id,
        await signPeerRecord(p.key, {
          seq: 1n,
          issuedAtMs: now - 60_000,
          expiresAtMs: now + 600_000,
          capabilities: ["provider"],
          bandwidthBps: 1_000_000,
          capacity: 1,
          load: 0,
          shard: 0,
          rewardAddress: p.address,
          addrs: ["/ip4/127.0.0.1/tcp/1"],
        }),
      );
    }
    const w = world({ genesisMs: now - 10_000 }, { recordOf: (id) => records.get(id) });
    cleanups.push(async () => w.close());
    for (const p of [consumer, p1, p2]) w.addresses.set(p.id, p.address);
    await w.receipt(consumer, p1, 4_000, now - 5_000);
    await w.receipt(consumer, p2, 1_000, now - 4_000);
    w.counters.record(1, p2.id, false);
    const honest = await w.collector.close({ endMs: now });
    const evidence = w.collector.evidence(honest.epoch);
    const api = await serveEpochs(published);
    cleanups.push(api.close);

    // Epoch 4: committed as the evidence computes it.
    const four = await buildEpoch({ ...honest, epoch: 4, rewardTotal: REWARD });
    await publishEpoch(four, published, { uri: "lumora:epoch/4", evidence });
    await submitter.submit(four);
    for (const options of [{ proofsDir: published }, { proofsUrl: api.url }]) {
      const ok = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", options), 4);
      expectVerified(ok);
      expect(ok.lines[3]).to.contain("2 signed receipts and 2 signed peer records recompute every C_i");
    }

    // Epoch 5: the same evidence, but the keeper gave p1 ten times its C_i — committed on chain and published
    // consistently (roots match), so only the evidence can tell.
    const inflated = honest.contributions.map((c) =>
      c.account === p1.address ? { ...c, contribution: c.contribution * 10n } : c,
    );
    const five = await buildEpoch({ ...honest, epoch: 5, contributions: inflated, rewardTotal: REWARD });
    await publishEpoch(five, published, { uri: "lumora:epoch/5", evidence });
    await submitter.submit(five);
    const p1Honest = honest.contributions.find((c) => c.account === p1.address)!.contribution;
    for (const options of [{ proofsDir: published }, { proofsUrl: api.url }]) {
      const bad = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", options), 5);
      expect([bad.taskLog.status, bad.rewardPool.status]).to.deep.equal(["match", "match"]);
      expect(bad.ok).to.equal(false);
      expect(bad.evidence).to.deep.equal([
        `the evidence gives ${p1.address} C ${p1Honest}; rewards.json says ${p1Honest * 10n}`,
      ]);
      expect(bad.lines[3]).to.match(/^evidence +MISMATCH: /);
      expect(bad.message).to.match(/^epoch 5 does NOT match/);
    }
  });

  it("recomputes the bond rule from the evidence: a saturated epoch verifies, crediting an unbonded account fails", async function () {
    // A keeper's real close under the bond rule, its bonds read from the deployment's NodeRegistry.
    const [deployer] = await ethers.getSigners();
    const now = Date.now();
    const [consumer, p1, p2, p3, consumer2] = await Promise.all([111, 112, 113, 114, 115].map((n) => peer(n)));
    const records = new Map<string, Uint8Array>();
    for (const p of [consumer, p1, p2, p3, consumer2]) {
      records.set(
        p.id,
        await signPeerRecord(p.key, {
          ...{ seq: 1n, issuedAtMs: now - 60_000, expiresAtMs: now + 600_000, capabilities: ["provider"] },
          ...{ bandwidthBps: 1_000_000, capacity: 1, load: 0, shard: 0, rewardAddress: p.address },
          addrs: ["/ip4/127.0.0.1/tcp/1"],
        }),
      );
    }
    const minBond = await registry.minBond();
    await (await contracts.token.connect(deployer!).approve(await registry.getAddress(), 4n * minBond)).wait();
    await (await registry.connect(deployer!).bondFor(p1.address, minBond)).wait();
    await (await registry.connect(deployer!).bondFor(p2.address, 3n * minBond)).wait();
    const view = new BondView(registry);
    const w = world(
      { genesisMs: now - 10_000, rewardPerEpoch: REWARD },
      { recordOf: (id) => records.get(id), bondsOf: (accounts, opts) => view.read(accounts, opts) },
    );
    cleanups.push(async () => w.close());
    for (const p of [consumer, p1, p2, p3, consumer2]) w.addresses.set(p.id, p.address);
    // p1 and p2 serve different consumers: what p1's cap cuts from its consumer's pot has nobody to go to.
    await w.receipt(consumer, p1, 4_000, now - 5_000); // share 4/5 of the bonded, bond share 1/4: capped
    await w.receipt(consumer2, p2, 1_000, now - 4_000);
    await w.receipt(consumer, p3, 9_000, now - 3_000); // p3 never bonded
    const honest = await w.collector.close({ endMs: now });
    expect(honest.contributions.map((c) => c.account)).to.have.members([p1.address, p2.address]);
    expect(honest.rewardTotal < REWARD, "the cap withholds part of R").to.equal(true);
    const evidence = w.collector.evidence(honest.epoch);

    const six = await buildEpoch({ ...honest, epoch: 6 });
    await publishEpoch(six, published, { uri: "lumora:epoch/6", evidence });
    await submitter.submit(six);
    const ok = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 6);
    expectVerified(ok);
    expect(ok.lines[3]).to.contain("3 signed peer records and 3 frozen bonds recompute every C_i");

    // Epoch 7: the same evidence, but the keeper also credited unbonded p3 and committed the whole R.
    const p3Entry = { account: p3.address, index: honest.contributions.length, contribution: 10n ** 17n };
    const seven = await buildEpoch({
      ...honest,
      epoch: 7,
      contributions: [...honest.contributions, p3Entry],
      rewardTotal: REWARD,
    });
    await publishEpoch(seven, published, { uri: "lumora:epoch/7", evidence });
    await submitter.submit(seven);
    const bad = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 7);
    expect([bad.taskLog.status, bad.rewardPool.status]).to.deep.equal(["match", "match"]);
    expect(bad.ok).to.equal(false);
    expect(bad.evidence).to.deep.equal([
      `rewards.json credits ${p3.address} with C ${p3Entry.contribution}; the evidence, nothing`,
      `the evidence's bond rule yields R_total ${honest.rewardTotal} wei; epoch.json states ${REWARD} wei`,
    ]);
  });

  it("reports an unpublished epoch with where it looked and how to point elsewhere", async function () {
    const err = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 9).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(EpochNotPublishedError);
    expect((err as Error).message).to.equal(`epoch 9 is not published in ${published} (--proofs-dir)`);

    const root = await mkdtemp(path.join(tmpdir(), "lumora-verify-root-"));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const byDefault = publishedRecords(root, "localhost", { env: {} });
    const missing = await verifyPublishedEpoch(contracts, byDefault, 1).catch((e: unknown) => e as Error);
    expect(missing).to.be.instanceOf(EpochNotPublishedError);
    expect((missing as Error).message).to.contain(path.join(root, "lumora-data", "epochs"));
    expect((missing as Error).message).to.contain(path.join(root, "deployments", "localhost", "epochs"));
    expect((missing as Error).message).to.contain("--proofs-dir");
    expect((missing as Error).message).to.contain("--proofs-url");

    // A URL where no keeper API listens: one clear error, not a fetch stack trace.
    const api = await serveEpochs(published);
    await api.close();
    const unreachable = await verifyPublishedEpoch(
      contracts,
      publishedRecords(base, "test", { proofsUrl: api.url }),
      1,
    ).catch((e: unknown) => e as Error);
    expect(unreachable).to.be.instanceOf(RemoteProofError);
    expect((unreachable as Error).message).to.contain(`no keeper API answers at ${api.url}/epochs/1`);
  });

  it("defaults to the folder a keeper started from the project folder publishes to", async function () {
    const root = await mkdtemp(path.join(tmpdir(), "lumora-verify-default-"));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    expect(keeperEpochsDir(root, {})).to.equal(path.join(root, "lumora-data", "epochs"));
    expect(keeperEpochsDir(root, { LUMORA_DATA_DIR: "/srv/k1" })).to.equal("/srv/k1/epochs");
    expect(keeperEpochsDir(root, { LUMORA_EPOCHS_DIR: "pub" })).to.equal(path.join(root, "pub"));
    // The keeper's config file: paths count from its folder, epochs.dir wins over dataDir.
    await mkdir(path.join(root, "k1"));
    await writeFile(path.join(root, "k1", "lumora.config.json"), '{ // comments are allowed\n "dataDir": "./data" }');
    expect(keeperEpochsDir(root, { LUMORA_CONFIG: "k1/lumora.config.json" })).to.equal(
      path.join(root, "k1", "data", "epochs"),
    );
    await writeFile(path.join(root, "lumora.config.json"), '{ "dataDir": "./d", "epochs": { "dir": "./e" } }');
    expect(keeperEpochsDir(root, {})).to.equal(path.join(root, "e"));

    // Verifying from the default: the keeper's folder, whichever epochs it holds.
    await cp(published, path.join(root, "e"), { recursive: true });
    const records = publishedRecords(root, "localhost", { env: {} });
    expect(records.source.location).to.equal(path.join(root, "e"));
    expectVerified(await verifyPublishedEpoch(contracts, records, 2));
    // No keeper folder: the copy under deployments/<network>/epochs.
    await rm(path.join(root, "lumora.config.json"));
    await cp(published, path.join(root, "deployments", "localhost", "epochs"), { recursive: true });
    const copied = publishedRecords(root, "localhost", { env: {} });
    expect(copied.source.location).to.equal(path.join(root, "deployments", "localhost", "epochs"));
    expectVerified(await verifyPublishedEpoch(contracts, copied, 1));
  });
  /** The deployment's quorum keeper (the deployer) and a stranger, signing observations for its EpochQuorum. */
  async function observing() {
    const quorumAddress = await contracts.quorum!.getAddress();
    const domain = { chainId: Number((await ethers.provider.getNetwork()).chainId), quorum: quorumAddress };
    const keeper = new Wallet(DEPLOYER_KEY);
    const stranger = new Wallet("0x" + "5a".repeat(32));
    const observe = (
      signer: Wallet,
      epoch: number,
      p: { id: string; address: string },
      failures: number,
      successes = 4,
    ): SignedObservation =>
      signObservation(
        domain,
        { epoch, observer: signer.address, subject: p.id, account: p.address, successes, failures },
        (d) => signer.signingKey.sign(d).serialized,
      );
    const [consumer, p1, p2] = await Promise.all([peer(121), peer(122), peer(123)]);
    return { quorumAddress, domain, keeper, stranger, observe, peers: { consumer, p1, p2 } };
  }

  /**
   * Closes, publishes (with full evidence and `sets[epoch]` as its observations, f = 0) and commits each epoch of
   * `order` as a keeper does: the bundle names its set, so the evidence hash binds it.
   */
  async function commitObserved(
    order: number[],
    sets: Record<number, SignedObservation[]>,
    domain: { chainId: number; quorum: string },
    { consumer, p1, p2 }: { consumer: Peer; p1: Peer; p2: Peer },
  ) {
    const now = Date.now();
    const records = new Map<string, Uint8Array>();
    for (const p of [p1, p2]) {
      records.set(
        p.id,
        await signPeerRecord(p.key, {
          ...{ seq: 1n, issuedAtMs: now - 60_000, expiresAtMs: now + 600_000, capabilities: ["provider"] },
          ...{ bandwidthBps: 1_000_000, capacity: 1, load: 0, shard: 0, rewardAddress: p.address },
          addrs: ["/ip4/127.0.0.1/tcp/1"],
        }),
      );
    }
    // f = 0: every observer counts, so the keeper's observations are the reports (and C_i's weight).
    const rule = { maxFaulty: 0 };
    const w = world(
      { genesisMs: now - 10_000 },
      {
        recordOf: (id) => records.get(id),
        mergedReports: (e) => mergeObservations(sets[order[e - 1]!]!, rule).reports,
        observationsHash: (e) => observationSetHash(sets[order[e - 1]!]!),
      },
    );
    cleanups.push(async () => w.close());
    for (const p of [p1, p2]) w.addresses.set(p.id, p.address);
    const evidences: Record<number, EpochEvidence> = {};
    for (const [i, epoch] of order.entries()) {
      await w.receipt(consumer, p1, 4_000, now - 5_000 + i * 2_000);
      await w.receipt(consumer, p2, 2_000, now - 4_500 + i * 2_000);
      const bundle = await w.collector.close({ endMs: now - 3_000 + i * 2_000 });
      const evidence = (evidences[epoch] = {
        ...w.collector.evidence(bundle.epoch),
        observations: sets[epoch]!,
        observationRule: rule,
        observationDomain: domain,
      });
      const built = await buildEpoch({ ...bundle, epoch, rewardTotal: REWARD });
      await publishEpoch(built, published, { uri: `lumora:epoch/${epoch}`, evidence });
      await submitter.submit(built);
    }
    return { rule, evidences };
  }

  it("checks that every published observation's observer is a keeper of EpochQuorum: a stranger's fails loudly", async function () {
    // The deployment's quorum has one keeper (the deployer); a stranger signs a valid observation of its own.
    const { quorumAddress, domain, keeper, stranger, observe, peers } = await observing();
    const { p1, p2 } = peers;
    const sets: Record<number, SignedObservation[]> = {
      8: [observe(keeper, 8, p1, 1)],
      9: [observe(keeper, 9, p1, 1), observe(stranger, 9, p2, 4)],
    };
    await commitObserved([8, 9], sets, domain, peers);

    const ok = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 8);
    expectVerified(ok);
    expect(ok.lines[3]).to.match(/; 1 observations, every observer a quorum keeper at block \d+$/);

    // Epoch 9: committed and published consistently (its reports include the stranger's view of p2), so only the
    // observer's membership tells.
    const bad = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 9);
    expect([bad.taskLog.status, bad.rewardPool.status]).to.deep.equal(["match", "match"]);
    expect(bad.ok).to.equal(false);
    expect(bad.evidence).to.have.length(1);
    expect(bad.evidence[0]).to.match(
      new RegExp(
        `^observation of ${p2.id} by ${stranger.address}: not a keeper of EpochQuorum ${quorumAddress} at block \\d+$`,
      ),
    );
    expect(bad.message).to.match(/^epoch 9 does NOT match/);
  });

  it("fails loudly when the published observation set differs from the one the quorum committed (M-3)", async function () {
    const { domain, keeper, observe, peers } = await observing();
    const { p1 } = peers;
    const sets: Record<number, SignedObservation[]> = { 10: [observe(keeper, 10, p1, 1)] };
    // Epochs 8 and 9 are the previous test's: this world's first collector epoch is published as 10.
    const { rule, evidences } = await commitObserved([10], sets, domain, peers);
    const dir = publishedRecords(base, "test", { proofsDir: published });
    const honest = await verifyPublishedEpoch(contracts, dir, 10);
    expectVerified(honest);
    expect(honest.lines[3]).to.match(/; the evidence hash the quorum approved binds them; 1 observations, every/);

    // After the commitment, the keeper's observation is swapped for another one of its own, signed and with the
    // same weight (S+1)/(S+F+1) = 5/6, so every C_i, the reward root and the membership of observers stay as
    // committed; the publication is made consistent with it (its reports, its stated set hash).
    const swapped = [observe(keeper, 10, p1, 2, 9)];
    const evidence = { ...evidences[10]!, observations: swapped };
    const summary = JSON.parse(await readFile(path.join(epochDir(published, 10), "epoch.json"), "utf8")) as {
      reputation: unknown;
    };
    const rebuilt = await buildEpoch({
      epoch: 10,
      startMs: 0,
      endMs: 0,
      tasks: [],
      contributions: [],
      reputation: mergeObservations(swapped, rule).reports,
      rewardTotal: REWARD,
      observationsHash: observationSetHash(swapped),
    });
    await publishEpoch(rebuilt, path.join(base, "swap"), { evidence });
    await cp(
      path.join(epochDir(path.join(base, "swap"), 10), "evidence.json"),
      path.join(epochDir(published, 10), "evidence.json"),
    );
    const swappedSummary = JSON.parse(
      await readFile(path.join(epochDir(path.join(base, "swap"), 10), "epoch.json"), "utf8"),
    ) as { evidence: unknown; reputation: unknown };
    await writeFile(
      path.join(epochDir(published, 10), "epoch.json"),
      JSON.stringify({ ...summary, evidence: swappedSummary.evidence, reputation: swappedSummary.reputation }),
    );

    // A fresh reader (a source caches the epochs it parsed).
    const bad = await verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), 10);
    expect([bad.taskLog.status, bad.rewardPool.status]).to.deep.equal(["match", "match"]);
    expect(bad.ok).to.equal(false);
    expect(bad.evidence).to.deep.equal([
      `EpochQuorum approved evidence hash ${evidenceHashOf(
        evidences[10]!.receipts.map((r) => receiptId(r.body)),
        observationSetHash(sets[10]),
      )}; ` +
        `the published receipts and observation set hash to ${evidenceHashOf(
          evidences[10]!.receipts.map((r) => receiptId(r.body)),
          observationSetHash(swapped),
        )}` +
        ": not the evidence the keepers signed",
    ]);
    expect(bad.message).to.match(/^epoch 10 does NOT match/);
  });
  it("checks the evidence's payment rule against the deployment and the network's terms: a tampered rule fails loudly", async function () {
    // A keeper's real close under paid demand, on the deployment's CreditVault at the protocol's terms.
    const vault = contracts.creditVault!;
    const vaultAddress = await vault.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const rule: PaymentRule = {
      weiPerGiB: DEFAULT_PAYMENT_TERMS.weiPerGiB,
      subsidyBps: DEFAULT_PAYMENT_TERMS.subsidyBps,
      domain: { chainId, vault: vaultAddress },
      settle: DEFAULT_PAYMENT_TERMS.settle,
    };
    const now = Date.now();
    const [consumer, p1] = await Promise.all([peer(131), peer(132)]);
    const record = await signPeerRecord(p1.key, {
      ...{ seq: 1n, issuedAtMs: now - 60_000, expiresAtMs: now + 600_000, capabilities: ["provider"] },
      ...{ bandwidthBps: 1_000_000, capacity: 1, load: 0, shard: 0, rewardAddress: p1.address },
      addrs: ["/ip4/127.0.0.1/tcp/1"],
    });
    const settlement = new VaultSettlement({
      vault,
      pool: contracts.pool,
      logger: createLogger("t", { level: "silent" }),
    });
    const w = world(
      { genesisMs: now - 10_000, payment: rule },
      {
        recordOf: (id) => (id === p1.id ? record : undefined),
        // The world's first epoch: nothing to wait for; its receipts carry no voucher, so there is nothing to read.
        settlement: (e, vouchers, opts) => settlement.settleAndRead(e, vouchers, { signal: opts.signal }),
      },
    );
    cleanups.push(async () => w.close());
    w.addresses.set(p1.id, p1.address);
    await w.receipt(consumer, p1, 4_000, now - 5_000);
    const bundle = await w.collector.close({ endMs: now - 3_000 });
    const honest = w.collector.evidence(bundle.epoch);
    expect(honest.payment?.rule).to.deep.equal(rule);

    // Each variant published and committed consistently after the epochs before: only the rule differs.
    const committed = (await contracts.pool.queryFilter(contracts.pool.filters.EpochCommitted())).map((e) =>
      Number(e.args.epoch),
    );
    let epoch = Math.max(0, ...committed);
    const publishWith = async (r: PaymentRule) => {
      epoch++;
      const built = await buildEpoch({ ...bundle, epoch, rewardTotal: REWARD });
      await publishEpoch(built, published, {
        uri: `lumora:epoch/${epoch}`,
        evidence: { ...honest, payment: { ...honest.payment!, rule: r } },
      });
      await submitter.submit(built);
      return verifyPublishedEpoch(contracts, publishedRecords(base, "test", { proofsDir: published }), epoch);
    };
    expectVerified(await publishWith(rule));

    const own = Wallet.createRandom().address;
    const variants: Array<[string, PaymentRule, RegExp]> = [
      [
        "another vault",
        { ...rule, domain: { chainId, vault: own } },
        new RegExp(`counts payments on vault ${own}; the deployment's CreditVault is ${vaultAddress}`),
      ],
      [
        "another chain",
        { ...rule, domain: { chainId: 1n, vault: vaultAddress } },
        new RegExp(`vouchers are for chain 1; the deployment is on chain ${chainId}`),
      ],
      [
        "a lower price",
        { ...rule, weiPerGiB: 1n },
        new RegExp(`prices a GiB at 1 wei; the network's price is ${rule.weiPerGiB} wei`),
      ],
      ["a higher subsidy", { ...rule, subsidyBps: 10_000n }, /subsidy is 10000 bps; the network's is 500 bps/],
      [
        "other settlement terms",
        { ...rule, settle: { gridMs: 1_000, windowMs: 1_000_000_000 } },
        /settlement terms are grid 1000 ms, window 1000000000 ms; the network's are grid 60000 ms, window 120000 ms/,
      ],
    ];
    for (const [what, r, problem] of variants) {
      const bad = await publishWith(r);
      expect([bad.taskLog.status, bad.rewardPool.status], what).to.deep.equal(["match", "match"]);
      expect(bad.ok, what).to.equal(false);
      expect(
        bad.evidence.some((p) => problem.test(p)),
        `${what}: ${bad.evidence.join("; ")}`,
      ).to.equal(true);
      expect(bad.lines[3], what).to.match(/^evidence +MISMATCH: /);
    }
    // A network that announced other terms is verified against them when the verifier states them.
    const cheaper = { ...DEFAULT_PAYMENT_TERMS, weiPerGiB: 1n };
    const stated = await verifyPublishedEpoch(
      contracts,
      publishedRecords(base, "test", { proofsDir: published }),
      epoch - 2,
      { paymentTerms: cheaper },
    );
    expectVerified(stated);
  });
});

/**
 * `npm run demo` — Lumora's main job on embedded defaults, end to end:
 * an in-process Hardhat chain (served to the keepers over JSON-RPC on 127.0.0.1), the Ignition deployment,
 * a funded pool, six keepers on 127.0.0.1, real transfers routed to executors (one executor is killed mid-task
 * and its task reassigned; three keepers coordinate tasks, so Reputation reports merge two keepers' signed
 * observations of an executor), an epoch closed, published and committed through a 2-of-3 keeper quorum (EpochQuorum:
 * three keepers hold chain keys, the submitter gathers a second keeper's signature over /lumora/epoch-sign/1.0.0),
 * the challenge window passed by time travel, and every participant's reward claimed through the same claim
 * library the Hardhat tasks use. Demand is paid: every node that fetches has a consumer account with credit deposited
 * in CreditVault and signs a cumulative voucher after each verified part; providers ask for vouchers, the epoch
 * credits bytes only as far as they were paid, and the vouchers the published evidence carries are settled on chain
 * (the fees fund the pool, a share burned).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { HDNodeWallet, Mnemonic, formatUnits, parseEther } from "ethers";
import { network } from "hardhat";

import LumoraModule from "../ignition/modules/Lumora.js";
import {
  claimAll,
  connectContracts,
  settleEpochVouchers,
  vouchersOfEvidence,
  type ClaimContext,
} from "../claims/index.ts";
import { epochStatusName } from "../keeper/chain/epoch-status.ts";
import { DirectoryProofSource } from "../keeper/epochs/proofs/source.ts";
import { startKeeper, type Keeper } from "../keeper/keeper.ts";
import { createLogger } from "../keeper/logger.ts";
import type { Capability } from "../keeper/types.ts";
import { buildDeploymentRecord, resolveParameters } from "./lib/deployments.js";
import { serveJsonRpc } from "./lib/rpc-bridge.ts";

const t0 = Date.now();

const CHALLENGE_WINDOW = 600n; // RewardPool.MIN_CHALLENGE_WINDOW; passed by time travel below
const REWARD_PER_EPOCH = parseEther("10000");
const QUORUM_THRESHOLD = 2n;
const CONSUMER_CREDIT = parseEther("10");
/** What consumers pay per GiB carried (every keeper the same): 1 LUM, so the demo's few MiB show in the totals. */
const PRICE_PER_GIB = parseEther("1");
const MiB = 1024 * 1024;
const log = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const short = (s: string) => `${s.slice(0, 6)}…${s.slice(-4)}`;
const lum = (v: bigint, decimals = 4) => `${Number(formatUnits(v, 18)).toFixed(decimals)} LUM`;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  // ── chain ───────────────────────────────────────────────────────────────────────────────────────────────────
  const connection = await network.create();
  const { ethers, ignition, networkHelpers } = connection;
  const signers = await ethers.getSigners();
  const deployer = signers[0]!;
  // Three keepers' chain keys (Hardhat's accounts 7–9; 1–6 are the nodes' reward accounts): 2 of 3 commit an epoch.
  const quorumKeys = [7, 8, 9].map(
    (i) =>
      HDNodeWallet.fromMnemonic(
        Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
        `m/44'/60'/0'/0/${i}`,
      ).privateKey,
  );
  const quorumAddresses = [7, 8, 9].map((i) => signers[i]!.address);
  const parameters = {
    LumoraModule: {
      challengeWindow: CHALLENGE_WINDOW,
      claimPeriod: 30n * 86_400n,
      keepers: quorumAddresses,
      threshold: QUORUM_THRESHOLD,
    },
  };
  const deployed = await ignition.deploy(LumoraModule, { parameters });
  const contracts = {
    LumoraToken: await deployed.token.getAddress(),
    Reputation: await deployed.reputation.getAddress(),
    TaskLog: await deployed.taskLog.getAddress(),
    RewardPool: await deployed.rewardPool.getAddress(),
    EpochQuorum: await deployed.epochQuorum.getAddress(),
    NodeRegistry: await deployed.nodeRegistry.getAddress(),
    CreditVault: await deployed.creditVault.getAddress(),
  };
  const { chainId } = await ethers.provider.getNetwork();
  const deployment = buildDeploymentRecord({
    network: "demo",
    chainId,
    deployer: deployer.address,
    contracts,
    deploymentBlock: 0,
    parameters: resolveParameters(parameters, deployer.address),
  });
  log(`deployed with Ignition on chain ${chainId}: RewardPool ${contracts.RewardPool}`);
  const token = deployed.token;
  const pool = deployed.rewardPool;
  await (await token.approve(contracts.RewardPool, REWARD_PER_EPOCH * 10n)).wait();
  await (await pool.fund(REWARD_PER_EPOCH * 10n)).wait();
  log(`pool funded with ${lum(REWARD_PER_EPOCH * 10n)}`);
  // Every node's reward account bonds before the epoch (the deployer pays, `bondFor`; the bond is the account's):
  // the coordinator routes to, credits and reports only bonded accounts, each share capped by its bond.
  const registry = deployed.nodeRegistry;
  const minBond = await registry.minBond();
  const nodeCount = 6;
  await (await token.approve(contracts.NodeRegistry, minBond * BigInt(nodeCount))).wait();
  for (let i = 1; i <= nodeCount; i++) await (await registry.bondFor(signers[i]!.address, minBond)).wait();
  log(`${nodeCount} reward accounts bonded ${lum(minBond)} each in NodeRegistry`);
  // Paid demand: each node's consumer account (Hardhat's accounts 10–15) gets credit deposited in CreditVault (the
  // deployer pays, `depositFor`; the credit is the consumer's), and signs vouchers from it as data arrives.
  const vault = deployed.creditVault;
  const consumerKeys = Array.from(
    { length: nodeCount },
    (_, i) =>
      HDNodeWallet.fromMnemonic(
        Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
        `m/44'/60'/0'/0/${10 + i}`,
      ).privateKey,
  );
  const consumerAddresses = Array.from({ length: nodeCount }, (_, i) => signers[10 + i]!.address);
  await (await token.approve(contracts.CreditVault, CONSUMER_CREDIT * BigInt(nodeCount))).wait();
  for (const a of consumerAddresses) await (await vault.depositFor(a, CONSUMER_CREDIT)).wait();
  log(`${nodeCount} consumer accounts hold ${lum(CONSUMER_CREDIT)} of credit each in CreditVault`);
  const rpc = await serveJsonRpc(connection.provider);
  log(`chain served to the keepers at ${rpc.url}`);

  log(
    `EpochQuorum ${short(contracts.EpochQuorum)} holds KEEPER_ROLE; keepers ${quorumAddresses.map(short).join(", ")}, ` +
      `${QUORUM_THRESHOLD} signatures an epoch`,
  );

  // ── keepers ─────────────────────────────────────────────────────────────────────────────────────────────────
  const dir = mkdtempSync(join(tmpdir(), "lumora-demo-"));
  const logger = createLogger("demo", { level: process.env.LUMORA_LOG_LEVEL === undefined ? "error" : undefined });
  interface Role {
    name: string;
    capabilities: Capability[];
    bandwidthBps: number;
    executionDelayMs?: number;
  }
  const roles: Role[] = [
    { name: "coordinator", capabilities: ["coordinator", "consumer"], bandwidthBps: 50_000_000 },
    { name: "provider-1", capabilities: ["provider"], bandwidthBps: 200_000_000 },
    { name: "provider-2", capabilities: ["provider"], bandwidthBps: 200_000_000 },
    // The fastest-advertising executor is routed first; it is killed mid-task to show the reassignment.
    {
      name: "executor-1",
      capabilities: ["executor", "provider"],
      bandwidthBps: 1_000_000_000,
      executionDelayMs: 3_000,
    },
    { name: "executor-2", capabilities: ["executor", "provider"], bandwidthBps: 400_000_000 },
    { name: "executor-3", capabilities: ["executor", "provider"], bandwidthBps: 300_000_000 },
  ];
  if (roles.length !== nodeCount) throw new Error(`bonded ${nodeCount} accounts for ${roles.length} nodes`);
  const keepers: Keeper[] = [];
  for (const [i, role] of roles.entries()) {
    // The coordinator and the two providers are the quorum's keepers: each closes the epoch and signs it.
    const chainKey = quorumKeys[i];
    const k = await startKeeper({
      dataDir: join(dir, role.name),
      bootstrap: keepers.length > 0 ? [keepers[0]!.addresses[0]!] : [],
      capabilities: role.capabilities,
      bandwidthBps: role.bandwidthBps,
      capacity: 4,
      // One shard: with the default 16, the task's shard holds one of the 5 other keepers, and when that is a
      // slower executor it is routed first whatever the scores (executor-1 would never get the task).
      shards: 1,
      rewardAddress: signers[i + 1]!.address,
      attemptTimeoutMs: 30_000,
      dhtQuerySelfIntervalMs: 1_000,
      routingRefreshMs: 500,
      executionDelayMs: role.executionDelayMs,
      logger: logger.child(role.name),
      payment: {
        consumerKey: consumerKeys[i],
        vault: { chainId, address: contracts.CreditVault },
        weiPerGiB: PRICE_PER_GIB,
        // The in-process chain stamps each block a second after the last, so it runs ahead of the clock: a settlement
        // cutoff set by the clock would have passed on chain before the closes settle. The three closes run at once
        // and settle every voucher in full, so reading at the close gives them one root here.
        settle: false,
        // The demo's channels carry a few MiB each: settle every one (the default minimum is worth 100 MiB at 0.01 LUM/GiB).
        minSettleAmount: 1n,
      },
      epochs: {
        rewardPerEpoch: REWARD_PER_EPOCH,
        publishDir: join(dir, `published-epochs-${role.name}`),
        ...(chainKey !== undefined && {
          chain: { rpcUrl: rpc.url, deployment, privateKey: chainKey, confirmations: 1 },
          keepers: quorumAddresses,
          // The keepers that only verify see the submitted epoch within half a second (default: every 15 s).
          turnPollMs: 500,
        }),
      },
    });
    keepers.push(k);
  }
  const [coordinator, provider1, provider2, slowExecutor] = keepers as [Keeper, Keeper, Keeper, Keeper];
  const nameOf = new Map(keepers.map((k, i) => [k.peerId.toString(), roles[i]!.name]));
  log(
    `${keepers.length} keepers started on 127.0.0.1 (${keepers.map((k, i) => `${roles[i]!.name} ${short(k.peerId.toString())}`).join(", ")})`,
  );

  await until("every keeper's signed record in the coordinator's directory", async () => {
    await coordinator.refreshRouting({ refreshDirectory: true });
    return coordinator.discovery.peers().length >= keepers.length;
  });
  await until("executors measured and routable", () =>
    keepers.slice(3).every((k) => coordinator.routing.isAvailable(k.peerId.toString())),
  );
  log("discovery through the DHT complete: every keeper knows every other keeper's signed record");

  // ── data ────────────────────────────────────────────────────────────────────────────────────────────────────
  const objects: { name: string; path: string }[] = [
    { name: "random 6 MiB", path: join(dir, "random.bin") },
    { name: "text 8 MiB", path: join(dir, "text.log") },
    { name: "random 2 MiB", path: join(dir, "small.bin") },
  ];
  writeFileSync(objects[0]!.path, randomBytes(6 * MiB));
  writeFileSync(
    objects[1]!.path,
    Array.from({ length: (8 * MiB) / 64 }, (_, i) =>
      `${String(i).padStart(10, "0")} lumora bandwidth record ok\n`.padEnd(64, "."),
    ).join(""),
  );
  writeFileSync(objects[2]!.path, randomBytes(2 * MiB));
  const published: { name: string; path: string; objectId: string; size: number }[] = [];
  for (const o of objects) {
    const a = await provider1.publish(o.path);
    await provider2.publish(o.path);
    published.push({ ...o, objectId: a.objectId, size: a.size });
  }
  log(`providers published ${published.length} objects (${published.map((p) => p.name).join(", ")})`);

  // ── tasks ───────────────────────────────────────────────────────────────────────────────────────────────────
  const providers = [provider1.addresses[0]!, provider2.addresses[0]!];
  const first = coordinator.requestTransfer({ ...published[0]!, providers, id: "demo-task-1" });
  await until("the routed executor to start the first task", () => slowExecutor.execution.load > 0, 30_000);
  log(
    `task demo-task-1 routed to ${nameOf.get(slowExecutor.peerId.toString())}; killing it mid-task (injected failure)`,
  );
  await slowExecutor.stop();
  const outcomes = [await first];
  // The two other quorum keepers coordinate a task each too, so each executor's outcomes are observed by more than one
  // keeper: a Reputation report is merged from the keepers' signed observations and needs f + 1 = 2 observers of a
  // peer (docs/epochs.md "Reputation reports"). Three coordinators over two live executors: some executor has two.
  const observers = [provider1, provider2];
  await until("the other quorum keepers' routing to an executor", async () => {
    await Promise.all(observers.map((k) => k.refreshRouting({ refreshDirectory: true })));
    return observers.every((k) => keepers.slice(4).some((e) => k.routing.isAvailable(e.peerId.toString())));
  });
  outcomes.push(
    ...(await Promise.all(
      published.slice(1).map((p, i) => coordinator.requestTransfer({ ...p, providers, id: `demo-task-${i + 2}` })),
    )),
  );
  // After the coordinator's tasks, so that they do not compete with them for the executors; each on an object of its
  // own (1 MiB), so that no executor is asked twice for the same object at once.
  const observed = await Promise.all(
    observers.map(async (k, i) => {
      const file = join(dir, `observed-${i + 1}.bin`);
      writeFileSync(file, randomBytes(MiB));
      const object = await provider1.publish(file);
      await provider2.publish(file);
      return k.requestTransfer({
        objectId: object.objectId,
        size: object.size,
        providers,
        id: `demo-observed-${i + 1}`,
      });
    }),
  );
  // Not part of the story's success: a failed attempt is an observation too (a failure), so either way the keeper
  // observed the executors it tried; only the outcome is reported.
  for (const [i, o] of observed.entries()) {
    const tried = observers[i]!.tasks.taskStore.attemptsOf(o.id).map((a) => `${nameOf.get(a.executor)}: ${a.outcome}`);
    log(
      `task ${o.id} (coordinated by ${i === 0 ? "provider-1" : "provider-2"}): ${o.status}` +
        (tried.length > 0 ? ` (${tried.join(" → ")})` : o.status === "succeeded" ? "" : `: ${o.reason}`),
    );
  }
  for (const o of outcomes) {
    const attempts = coordinator.tasks.taskStore.attemptsOf(o.id);
    log(
      `task ${o.id}: ${o.status} by ${nameOf.get(o.executor ?? "") ?? "-"} after ${o.attempts} attempt(s)` +
        (attempts.length > 1 ? ` (${attempts.map((a) => `${nameOf.get(a.executor)}: ${a.outcome}`).join(" → ")})` : ""),
    );
    if (o.status !== "succeeded") throw new Error(`task ${o.id} ${o.status}: ${o.reason}`);
  }
  // The consumer takes delivery from the executors that now hold verified copies (they earn for serving it).
  let delivered = 0;
  mkdirSync(join(dir, "delivered"));
  for (const [i, o] of outcomes.entries()) {
    const executor = keepers.find((k) => k.peerId.toString() === o.executor)!;
    const got = await coordinator.transfer.fetch(published[i]!.objectId, {
      providers: [executor.addresses[0]!],
      to: join(dir, "delivered", `${i}.bin`),
    });
    delivered += got.size;
  }
  log(
    `consumer received ${(delivered / MiB).toFixed(1)} MiB from the executors, every part decrypted and SHA-256 checked`,
  );

  // ── epoch ───────────────────────────────────────────────────────────────────────────────────────────────────
  // The three quorum keepers close the epoch; the rotation's designated keeper submits it with a second keeper's
  // signature, the others verify the roots on chain.
  const closes = await Promise.all([coordinator, provider1, provider2].map((k) => k.closeEpoch()));
  const submitterIndex = closes.findIndex((c) => c.submit !== undefined);
  if (submitterIndex < 0) throw new Error("no keeper submitted the epoch");
  const closed = closes[submitterIndex]!;
  const epoch = closed.built.bundle.epoch;
  const submitted = closed.submit!;
  const quorum = await ethers.getContractAt("EpochQuorum", contracts.EpochQuorum);
  const [approval] = await quorum.queryFilter(quorum.filters.EpochApproved(epoch));
  const signedBy = (await quorum.keepers()).filter((_k, i) => ((approval?.args.signers ?? 0n) >> BigInt(i)) & 1n);
  log(
    `${roles[submitterIndex]!.name} submitted epoch ${epoch} through EpochQuorum with the signatures of ` +
      `${signedBy.map(short).join(" and ")}; the others verified: ${closes.map((c) => c.outcome).join(", ")}`,
  );
  log(
    `epoch ${epoch} closed: ${closed.built.bundle.tasks.length} task record(s), ${closed.built.bundle.contributions.length} contributor(s), ` +
      `ΣC = ${closed.built.totalContribution}, R_total = ${lum(closed.built.bundle.rewardTotal)}`,
  );
  log(
    `committed on chain: TaskLog ${submitted.taskLog}, Reputation ${submitted.reputation.sent} report(s), RewardPool ${submitted.rewardPool}`,
  );
  // What Reputation holds for the epoch: every node whose last reported epoch is this one.
  const reported = [];
  for (let i = 1; i <= nodeCount; i++) {
    const node = await deployed.reputation.nodeOf(signers[i]!.address);
    if (node.lastEpoch === BigInt(epoch)) reported.push(`${roles[i - 1]!.name} ${node.successes}/${node.failures}`);
  }
  log(
    `Reputation holds ${reported.length} report(s) of epoch ${epoch}, merged from the quorum keepers' signed ` +
      `observations (successes/failures): ${reported.join(", ") || "none"}`,
  );
  await networkHelpers.time.increase(Number(CHALLENGE_WINDOW) + 1);
  await networkHelpers.mine();
  log(
    `challenge window (${CHALLENGE_WINDOW} s) passed by time travel; epoch ${epoch} status: ${epochStatusName(await pool.statusOf(epoch))}`,
  );

  // ── claims ──────────────────────────────────────────────────────────────────────────────────────────────────
  const ctx: ClaimContext = {
    contracts: await connectContracts(ethers, contracts),
    source: new DirectoryProofSource(join(dir, `published-epochs-${roles[submitterIndex]!.name}`)),
  };
  const claims: { account: string; amount: bigint; tx?: string; gas?: bigint }[] = [];
  for (const c of closed.built.bundle.contributions) {
    const signer = signers.find((s) => s.address === c.account)!;
    const r = await claimAll(ctx, signer, { account: c.account });
    if (!r.sent) throw new Error(`claim for ${c.account} not sent: ${r.message}`);
    const receipt = await ethers.provider.getTransactionReceipt(r.txHash!);
    claims.push({ account: c.account, amount: r.amount, tx: r.txHash, gas: receipt?.gasUsed });
  }
  log(`${claims.length} participant(s) claimed through RewardPool.claimMany`);

  // ── settlement ──────────────────────────────────────────────────────────────────────────────────────────────
  // Anyone may settle: here the deployer, from the epoch's published evidence (what lumora:settle does).
  const publication = new DirectoryProofSource(join(dir, `published-epochs-${roles[submitterIndex]!.name}`));
  const evidence = await publication.fullEvidence(epoch);
  if (evidence === undefined) throw new Error(`epoch ${epoch} published no evidence`);
  const { vouchers } = await vouchersOfEvidence(evidence, { chainId, address: contracts.CreditVault });
  const paidChannels = evidence.payment?.channels ?? [];
  const vouched = paidChannels.reduce((s, c) => s + c.paidUpTo - c.paidBefore, 0n);
  const settledBefore = await vault.totalSettled();
  const settlement = await settleEpochVouchers(
    await ethers.getContractAt("CreditVault", contracts.CreditVault, deployer),
    vouchers,
  );
  const burned = await vault.totalBurned();
  const settled = await vault.totalSettled();
  log(
    `vouchers: ${lum(vouched, 6)} paid on ${paidChannels.length} channel(s) in epoch ${epoch}; ` +
      `${lum(settled, 6)} settled on CreditVault by the closes (${lum(burned, 6)} burned, the rest funds the pool); ` +
      `settling the evidence again took ${lum(settlement.paid, 6)}`,
  );
  if (settlement.paid + settledBefore !== settled) throw new Error("settlement totals differ");

  // ── summary ─────────────────────────────────────────────────────────────────────────────────────────────────
  const byAccount = new Map(closed.built.bundle.contributions.map((c) => [c.account, c.contribution]));
  const rows = roles.map((role, i) => {
    const account = signers[i + 1]!.address;
    const claim = claims.find((c) => c.account === account);
    return {
      node: role.name,
      peer: short(keepers[i]!.peerId.toString()),
      account: short(account),
      C_i: (byAccount.get(account) ?? 0n).toString(),
      reward: lum(claim?.amount ?? 0n),
      "claim gas": claim?.gas?.toString() ?? "-",
    };
  });
  console.log("\nPer node");
  console.table(rows);
  const gasOf = async (hash: string | undefined) =>
    hash === undefined ? "-" : ((await ethers.provider.getTransactionReceipt(hash))?.gasUsed.toString() ?? "-");
  const txs = closed.summary.transactions;
  console.log("Epoch transactions");
  const txRows = [
    {
      contract: "EpochQuorum.commitEpoch (TaskLog + RewardPool + first reports)",
      tx: txs.taskLog ?? "-",
      gas: await gasOf(txs.taskLog),
    },
  ];
  for (const h of txs.reputation ?? []) {
    if (h !== txs.taskLog) txRows.push({ contract: "EpochQuorum.applyReports", tx: h, gas: await gasOf(h) });
  }
  console.table(txRows);
  const paid = claims.reduce((s, c) => s + c.amount, 0n);
  // What the epoch still owes (reserved() counts a live epoch's whole reward, claimed part included).
  const owedBy = async (epoch: number | bigint) => {
    const [data, claimed] = await pool.epochOf(epoch);
    return BigInt(data.rewardTotal) - BigInt(claimed);
  };
  const taskBytes = outcomes.reduce((s, o) => s + (coordinator.tasks.taskStore.task(o.id)?.bytes ?? 0), 0);
  console.log(
    `Tasks: ${outcomes.length} succeeded (${outcomes.filter((o) => o.attempts > 1).length} reassigned), ` +
      `${(taskBytes / MiB).toFixed(1)} MiB moved by executors, ${(delivered / MiB).toFixed(1)} MiB delivered to the consumer.\n` +
      `Paid demand: ${lum(vouched, 6)} vouched by consumers for the epoch's bytes, ${lum(settled, 6)} settled.\n` +
      `Rewards: ${lum(paid)} paid of ${lum(closed.built.bundle.rewardTotal)} (rounding dust stays in the pool; ` +
      `${lum(REWARD_PER_EPOCH - closed.built.bundle.rewardTotal)} withheld by the bond caps); ` +
      `epoch ${closed.built.bundle.epoch} still owes ${lum(await owedBy(closed.built.bundle.epoch))}.\n` +
      `Demo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s.`,
  );

  for (const k of keepers) if (k !== slowExecutor) await k.stop();
  await rpc.close();
  rmSync(dir, { recursive: true, force: true });
}

// A failed step ends the demo with a non-zero code: running keepers would otherwise keep the process alive.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("demo failed:", err);
    process.exit(1);
  },
);

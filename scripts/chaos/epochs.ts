/**
 * `npm run chaos:epochs` — 3 keepers (child processes) and a Hardhat chain for N epochs, while a seeded
 * schedule SIGKILLs a random keeper (restarting it after a while) or SIGSTOPs the chain; transfers run all the
 * time and every one is written to a ledger. Afterwards (audit.ts): each epoch committed exactly once and
 * consecutively on TaskLog and RewardPool, roots equal to published ones, every transfer credited once.
 *
 * Options (flag or env): --epochs / LUMORA_CHAOS_EPOCHS (default 8), --epoch-seconds /
 * LUMORA_CHAOS_EPOCH_SECONDS (default 15, must divide 60), --drain-seconds / LUMORA_CHAOS_DRAIN_SECONDS
 * (default 90), --seed / LUMORA_CHAOS_SEED (default 20261109). The seed fixes the chaos schedule and the
 * transfers' choices; process timing still varies between runs.
 *
 * Prints one JSON object per line on stdout ({metric, value, unit}); the seed, the chaos events and the
 * findings go to stderr; keeper logs to <run dir>/k<i>.log (kept when a goal is missed). Exits 1 when a goal
 * (lost bytes, double counted, stranded epochs, unpublished roots, commit errors: all 0) is missed.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { deployLumora, devWallet, freePort, rpcProvider, startHardhatNode } from "../../test/keeper/chain/helpers.ts";
import { RewardPool__factory, TaskLog__factory } from "../../types/ethers-contracts/index.ts";
import { printMetrics, type Metric } from "../bench/lib/metrics.ts";
import { mulberry32 } from "../bench/lib/prng.ts";
import { audit, type LedgerEntry } from "./audit.ts";
import { KeeperDiedError, KeeperProcess } from "./cluster.ts";

const DEFAULT_SEED = 20261109;
const KEEPERS = 3;
/** Transfers running at once (each its own random object, 32–512 KiB). */
const TRANSFER_WORKERS = 2;

function options(): { epochs: number; epochSeconds: number; drainSeconds: number; seed: number } {
  const { values } = parseArgs({
    options: {
      epochs: { type: "string" },
      "epoch-seconds": { type: "string" },
      "drain-seconds": { type: "string" },
      seed: { type: "string" },
    },
  });
  const num = (flag: string | undefined, env: string, dflt: number) => {
    const v = Number(flag ?? process.env[env] ?? dflt);
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${env} / flag must be a positive integer, got ${v}`);
    return v;
  };
  const o = {
    epochs: num(values.epochs, "LUMORA_CHAOS_EPOCHS", 8),
    epochSeconds: num(values["epoch-seconds"], "LUMORA_CHAOS_EPOCH_SECONDS", 15),
    drainSeconds: num(values["drain-seconds"], "LUMORA_CHAOS_DRAIN_SECONDS", 90),
    seed: num(values.seed, "LUMORA_CHAOS_SEED", DEFAULT_SEED),
  };
  if (60 % o.epochSeconds !== 0) throw new Error(`epoch seconds must divide 60 (a cron step), got ${o.epochSeconds}`);
  return o;
}

const say = (msg: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, deadline: number, cond: () => Promise<boolean>): Promise<boolean> {
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) {
      say(`gave up waiting for ${what}`);
      return false;
    }
    await sleep(1_000);
  }
  return true;
}

interface CloserStatus {
  open: number;
  closer: { lastClosed: number; lastSettled: number; pending: number[]; alarms: number[] };
}

const opts = options();
say(`seed ${opts.seed} (override with LUMORA_CHAOS_SEED); ${opts.epochs} epochs of ${opts.epochSeconds} s`);
const chaosRng = mulberry32(opts.seed);
const transferRng = mulberry32(opts.seed ^ 0x5eed);
const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const between = (rng: () => number, lo: number, hi: number) => lo + rng() * (hi - lo);

const runDir = mkdtempSync(join(tmpdir(), "lumora-chaos-"));
mkdirSync(join(runDir, "objects"));
say(`run dir ${runDir}`);

const node = await startHardhatNode();
const chainKeys = Array.from({ length: KEEPERS }, (_, i) => devWallet(i + 1));
const { record } = await deployLumora(node.url, {
  keepers: chainKeys.map((w) => w.address),
  fund: 1_000_000n * 10n ** 18n,
});
const keepers: KeeperProcess[] = [];
for (let i = 0; i < KEEPERS; i++) {
  const dataDir = join(runDir, `k${i + 1}`);
  keepers.push(
    new KeeperProcess(
      {
        name: `k${i + 1}`,
        dataDir,
        listen: `/ip4/127.0.0.1/tcp/${await freePort()}`,
        bootstrap: [],
        rewardAddress: devWallet(10 + i).address,
        chainKey: chainKeys[i]!.privateKey,
        rpcUrl: node.url,
        deployment: record,
        keepers: chainKeys.map((w) => w.address),
        cron: `*/${opts.epochSeconds} * * * * *`,
        // A dead designated submitter is taken over after two epochs' time, not the production 10 minutes.
        takeoverDeadlineMs: 2 * opts.epochSeconds * 1000,
        rewardPerEpoch: (1_000n * 10n ** 18n).toString(),
      },
      join(runDir, `k${i + 1}.log`),
    ),
  );
}
const othersOf = (k: KeeperProcess) => keepers.filter((o) => o !== k && o.peerId !== "").map((o) => o.address);
for (const k of keepers) await k.start(othersOf(k));
say(`keepers up: ${keepers.map((k) => `${k.name}=${k.peerId.slice(-6)}`).join(" ")}`);

// ───────────────────────────────────────── chaos ─────────────────────────────────────────
const ledger: LedgerEntry[] = [];
let kills = 0;
let pauses = 0;
let chaosOver = false;
const chaosEnd = Date.now() + opts.epochs * opts.epochSeconds * 1000;

async function transferWorker(w: number): Promise<void> {
  for (let n = 0; !chaosOver; n++) {
    const alive = keepers.filter((k) => k.alive);
    if (alive.length < 2) {
      await sleep(500);
      continue;
    }
    const provider = pick(transferRng, alive);
    const coordinator = pick(
      transferRng,
      alive.filter((k) => k !== provider),
    );
    const size = Math.floor(between(transferRng, 32 * 1024, 512 * 1024));
    const file = join(runDir, "objects", `w${w}-${n}.bin`);
    writeFileSync(file, randomBytes(size));
    let published: { objectId: string; size: number };
    try {
      published = await provider.request({ cmd: "publish", path: file });
    } catch {
      continue; // the provider died: no transfer was asked for
    }
    const entry: LedgerEntry = {
      taskId: `chaos-w${w}-${n}`,
      objectId: published.objectId,
      size: published.size,
      provider: provider.name,
      providerPeerId: provider.peerId,
      providerAccount: provider.config.rewardAddress,
      coordinator: coordinator.name,
      status: "requested",
      executor: null,
      at: Date.now(),
    };
    ledger.push(entry);
    try {
      const outcome = await coordinator.request<{ status: string; executor?: string }>({
        cmd: "transfer",
        objectId: published.objectId,
        size: published.size,
        providers: [provider.address],
        taskId: entry.taskId,
      });
      entry.status = outcome.status;
      entry.executor = outcome.executor ?? null;
    } catch (err) {
      entry.status = err instanceof KeeperDiedError ? "in-doubt" : "rejected";
      if (entry.status === "rejected")
        say(`${entry.taskId} rejected by ${coordinator.name}: ${(err as Error).message}`);
      await sleep(200);
    }
  }
}

async function killOne(): Promise<void> {
  const victim = pick(
    chaosRng,
    keepers.filter((k) => k.alive),
  );
  const downMs = between(chaosRng, 1_000, 1.5 * opts.epochSeconds * 1000);
  kills++;
  say(`SIGKILL ${victim.name}; restart in ${(downMs / 1000).toFixed(1)} s`);
  await victim.kill();
  await sleep(downMs);
  await victim.start(othersOf(victim));
  say(`${victim.name} restarted`);
}

async function pauseChain(): Promise<void> {
  const ms = between(chaosRng, 1_000, 0.6 * opts.epochSeconds * 1000);
  pauses++;
  say(`SIGSTOP chain for ${(ms / 1000).toFixed(1)} s`);
  node.child.kill("SIGSTOP");
  await sleep(ms);
  node.child.kill("SIGCONT");
  say("SIGCONT chain");
}

async function chaos(): Promise<void> {
  while (Date.now() < chaosEnd) {
    await sleep(between(chaosRng, 2_000, opts.epochSeconds * 1000));
    if (Date.now() >= chaosEnd) break;
    await (chaosRng() < 0.6 ? killOne() : pauseChain());
  }
}

const workers = Array.from({ length: TRANSFER_WORKERS }, (_, w) => transferWorker(w));
await chaos();
chaosOver = true;
say(`chaos over (${kills} kills, ${pauses} chain pauses); waiting for the transfers in flight`);
await Promise.all(workers);

// ───────────────────────────────────────── drain ─────────────────────────────────────────
const drainEnd = Date.now() + opts.drainSeconds * 1000;
const byName = new Map(keepers.map((k) => [k.name, k]));
for (const t of ledger.filter((t) => t.status === "in-doubt")) {
  // The coordinator died while the task ran; it resumes acknowledged tasks after a restart: ask how it ended.
  await until(`the outcome of ${t.taskId}`, drainEnd, async () => {
    const row = await byName.get(t.coordinator)!.request<{ status: string; executor: string | null } | null>({
      cmd: "task",
      taskId: t.taskId,
    });
    if (row === null) {
      t.status = "never-acknowledged";
      return true;
    }
    if (!["succeeded", "failed", "expired"].includes(row.status)) return false;
    t.status = row.status;
    t.executor = row.executor;
    return true;
  });
}
const statuses = async () => Promise.all(keepers.map((k) => k.request<CloserStatus>({ cmd: "status" })));
// Every receipt of the run is stored by now, so it lands at the latest in the epoch open now.
const target = Math.max(...(await statuses()).map((s) => s.open));
say(`every receipt is in epoch ≤ ${target}; waiting until every keeper settled it and the chain holds it`);
const provider = rpcProvider(node.url);
const taskLog = TaskLog__factory.connect(record.contracts.TaskLog, provider);
const pool = RewardPool__factory.connect(record.contracts.RewardPool, provider);
await until(`epoch ${target} on chain and settled by every keeper`, drainEnd, async () => {
  const onChain = Math.min(Number(await taskLog.lastEpoch()), Number(await pool.lastEpoch()));
  const all = await statuses();
  return onChain >= target && all.every((s) => s.closer.lastSettled >= target);
});
const final = await statuses();
const keeperStranded = new Set<number>();
final.forEach((s, i) => {
  const stuck = s.closer.pending.filter((e) => e <= target);
  say(
    `${keepers[i]!.name}: closed ${s.closer.lastClosed}, settled ${s.closer.lastSettled}, pending [${s.closer.pending}], alarms [${s.closer.alarms}]`,
  );
  for (const e of stuck) keeperStranded.add(e);
});
for (const k of keepers) await k.stop();

// ───────────────────────────────────────── verdict ───────────────────────────────────────
const result = await audit(
  provider,
  record,
  keepers.map((k) => ({ name: k.name, dataDir: k.config.dataDir, publishDir: join(k.config.dataDir, "epochs") })),
  ledger,
  target,
);
provider.destroy();
await node.stop();

writeFileSync(join(runDir, "ledger.json"), JSON.stringify(ledger, null, 1));
const stranded = new Set([...result.stranded, ...keeperStranded]);
if (keeperStranded.size > 0)
  result.findings.push({
    kind: "stranded",
    detail: `closed but never settled by a keeper: epochs ${[...keeperStranded].join(",")}`,
  });
const counts = (s: string) => ledger.filter((t) => t.status === s).length;
say(
  `ledger: ${ledger.length} transfers (${counts("succeeded")} succeeded, ${counts("failed")} failed, ` +
    `${counts("expired")} expired, ${counts("never-acknowledged")} never acknowledged, ${counts("rejected")} rejected, ` +
    `${counts("in-doubt")} unresolved); ${result.creditedTransfers} credited; chain epochs TaskLog ${result.lastEpoch.taskLog}, RewardPool ${result.lastEpoch.rewardPool}`,
);
if (result.disagreements.length > 0)
  say(
    `publications differing from the chain (alarms): ${result.disagreements.map((d) => `${d.keeper}@${d.epoch}`).join(" ")}`,
  );
for (const f of result.findings) say(`FINDING ${f.kind}: ${f.detail}`);

const goals: Metric[] = [
  { metric: "chaos.lost_bytes", value: result.lostBytes, unit: "bytes" },
  { metric: "chaos.double_counted", value: result.doubleCounted, unit: "bytes" },
  { metric: "chaos.stranded_epochs", value: stranded.size, unit: "epochs" },
  { metric: "chaos.unpublished_roots", value: result.unpublishedRoots.length, unit: "epochs" },
  { metric: "chaos.commit_errors", value: result.commitErrors, unit: "epochs" },
];
printMetrics([
  { metric: "chaos.epochs", value: Math.min(result.lastEpoch.taskLog, result.lastEpoch.rewardPool), unit: "epochs" },
  { metric: "chaos.kills", value: kills, unit: "kills" },
  { metric: "chaos.chain_pauses", value: pauses, unit: "pauses" },
  { metric: "chaos.transfers", value: ledger.length, unit: "transfers" },
  { metric: "chaos.root_disagreements", value: result.disagreements.length, unit: "publications" },
  ...goals,
]);
const missed = goals.filter((g) => g.value !== 0);
if (missed.length === 0) rmSync(runDir, { recursive: true, force: true });
else say(`goals missed: ${missed.map((g) => g.metric).join(", ")}; seed ${opts.seed}; logs kept in ${runDir}`);
process.exit(missed.length === 0 ? 0 : 1);

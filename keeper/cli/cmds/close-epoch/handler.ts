import { formatEther } from "ethers";

import type { EpochStepDetail } from "../../../epochs/closer.ts";
import { apiToken, apiUrl, postEvents } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { CliError, EXIT_OK } from "../../errors.ts";

interface CloseSummary {
  epoch: number;
  startMs: number;
  endMs: number;
  rewards: { root: string; totalContribution: string; rewardTotal: string; accounts: number } | null;
  tasks: { root: string; count: number } | null;
  uri: string | null;
  transactions: { taskLog?: string; rewardPool?: string; reputation?: string[] };
  submit: {
    taskLog: string;
    rewardPool: string;
    reputation: { sent: number; found: number; batches: number };
    txHashes: { taskLog?: string; reputation: string[]; rewardPool?: string };
  } | null;
  role: "submitted" | "verified" | null;
}

const CONTRACTS: Record<string, string> = { tasklog: "TaskLog", rewardpool: "RewardPool", reputation: "Reputation" };
const PHASES: Record<string, string> = { signed: "transaction signed", sent: "transaction sent", done: "confirmed" };

/** One step as a person reads it. */
export function describeStep(d: EpochStepDetail): string {
  const i = d.info ?? {};
  switch (d.step) {
    case "receipts:gathering":
      return `gathering receipts from ${i.keepers} keeper(s)`;
    case "receipts:gathered":
      return `receipts gathered (${i.added} new); freezing the epoch and building the trees`;
    case "trees:built":
      return `trees built: ${i.accounts} account(s), ${i.tasks} task(s)`;
    case "published":
      return `published as ${i.uri}`;
    case "epoch:done":
      return "submission complete";
    case "failed":
      return `failed: ${i.error}`;
  }
  const parts = d.step.split(":");
  const contract = CONTRACTS[parts[0]!];
  const phase = PHASES[parts.at(-1)!];
  if (contract !== undefined && phase !== undefined)
    return `${contract}${parts.length === 3 ? ` batch ${Number(parts[1]) + 1}` : ""}: ${phase}`;
  return d.step;
}

function print(s: CloseSummary, io: Output): void {
  io.out(`epoch ${s.epoch} closed (${new Date(s.startMs).toISOString()} → ${new Date(s.endMs).toISOString()})`);
  if (s.rewards !== null)
    io.out(
      `  rewards      ${s.rewards.accounts} account(s), ΣC ${s.rewards.totalContribution}, R_total ${formatEther(s.rewards.rewardTotal)} LUM, root ${s.rewards.root}`,
    );
  else io.out("  rewards      none (no contribution this epoch)");
  io.out(s.tasks !== null ? `  tasks        ${s.tasks.count}, root ${s.tasks.root}` : "  tasks        none");
  if (s.uri !== null) io.out(`  published    ${s.uri}`);
  if (s.submit === null) {
    io.out(
      s.role === "verified"
        ? "  chain        another keeper's turn: verified"
        : "  chain        not submitted (no chain key on this keeper)",
    );
    return;
  }
  const r = s.submit.reputation;
  io.out(
    `  chain        TaskLog ${s.submit.taskLog}, Reputation ${r.sent} sent / ${r.found} found in ${r.batches} batch(es), RewardPool ${s.submit.rewardPool}`,
  );
  const t = s.transactions;
  if (t.taskLog !== undefined) io.out(`  tx TaskLog     ${t.taskLog}`);
  for (const h of t.reputation ?? []) io.out(`  tx Reputation  ${h}`);
  if (t.rewardPool !== undefined) io.out(`  tx RewardPool  ${t.rewardPool}`);
}

export async function closeEpochHandler(values: Values, _p: string[], io: Output): Promise<number> {
  const startedAt = Date.now();
  let result: CloseSummary | undefined;
  let failure: string | undefined;
  await postEvents(
    apiUrl(values),
    "/api/epochs/close",
    {},
    { token: apiToken(values), command: "close-epoch" },
    (name, data) => {
      if (name === "step") {
        const d = data as EpochStepDetail;
        const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(5);
        io.err(`[${seconds} s] epoch ${d.epoch}: ${describeStep(d)}`);
      } else if (name === "result") result = data as CloseSummary;
      else if (name === "error") failure = (data as { message?: string }).message ?? "epoch close failed";
    },
  );
  if (result === undefined) throw new CliError(`close-epoch: ${failure ?? "the keeper ended the stream early"}`);
  if (values.json) io.out(JSON.stringify(result, null, 2));
  else print(result, io);
  return EXIT_OK;
}

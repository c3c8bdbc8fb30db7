/**
 * What this keeper remembers about the chain it works against, in its store: which deployment its data dir
 * belongs to (chain id and contract addresses), the code hash of those contracts when first seen, and the
 * highest epoch it has seen on chain. With these a restart can tell a new deployment, a redeployment at the same
 * addresses and a chain that lost its epochs (a restarted `hardhat node`) from a healthy chain.
 */
import type { Store } from "../store/index.ts";
import type { DeploymentRecord } from "./deployment.ts";
import type { CodeHashMemory } from "./monitor.ts";

const NAMESPACE = "chain-memory";

/** The identity of a deployment: its chain id and the addresses of the contracts epochs go to. */
export function deploymentIdentity(d: DeploymentRecord): string {
  const c = d.contracts;
  return `${d.chainId}:${c.TaskLog}:${c.Reputation}:${c.RewardPool}`.toLowerCase();
}

export class ChainMemory implements CodeHashMemory {
  constructor(private readonly store: Store) {
    store.migrate(NAMESPACE, [
      { version: 1, up: "CREATE TABLE chain_memory (key TEXT PRIMARY KEY, value TEXT NOT NULL)" },
    ]);
  }

  private read(key: string): string | undefined {
    const row = this.store.db.prepare("SELECT value FROM chain_memory WHERE key = ?").get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  private write(key: string, value: string): void {
    this.store.db
      .prepare(
        "INSERT INTO chain_memory (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  /** The deployment this data dir was used with (undefined before the first start with a chain). */
  deployment(): string | undefined {
    return this.read("deployment");
  }

  get(): Record<string, string> | undefined {
    const v = this.read("code-hashes");
    return v === undefined ? undefined : (JSON.parse(v) as Record<string, string>);
  }

  set(hashes: Record<string, string>): void {
    this.write("code-hashes", JSON.stringify(hashes));
  }

  /** Highest epoch seen on chain (0 when none). */
  highestEpoch(): number {
    return Number(this.read("highest-epoch") ?? 0);
  }

  noteEpoch(epoch: number): void {
    if (epoch > this.highestEpoch()) this.write("highest-epoch", String(epoch));
  }

  /** Binds the data dir to `identity`, forgetting what was known of the previous deployment. */
  bind(identity: string): void {
    this.store.transaction(() => {
      this.store.db.prepare("DELETE FROM chain_memory").run();
      this.write("deployment", identity);
    });
  }
}

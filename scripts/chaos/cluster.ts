/**
 * The chaos run's keepers: each a child process (keeper-child.ts) that can be SIGKILLed and started again on
 * the same data dir and port, and asked for work over its stdin/stdout.
 */
import { fileURLToPath } from "node:url";

import { ChildKeeper, KeeperDiedError } from "../lib/child-keeper.ts";
import type { ChildConfig } from "./keeper-child.ts";

export { KeeperDiedError };

const CHILD = fileURLToPath(new URL("./keeper-child.ts", import.meta.url));
const READY_TIMEOUT_MS = 60_000;

export class KeeperProcess extends ChildKeeper {
  constructor(
    readonly config: ChildConfig,
    logFile: string,
  ) {
    super(config.name, logFile);
  }

  /** Starts (or starts again, on the same data dir and port) the keeper, bootstrapping from `bootstrap`. */
  async start(bootstrap: string[]): Promise<void> {
    const config: ChildConfig = { ...this.config, bootstrap };
    await this.spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(config)], READY_TIMEOUT_MS);
  }
}

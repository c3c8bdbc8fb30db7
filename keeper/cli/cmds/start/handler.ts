/**
 * `start`: load and validate the configuration, take the data dir's lock (one keeper per data dir, see
 * store/lock.ts), load the chain key (address logged, key never), start the keeper and its API, run until
 * SIGINT/SIGTERM, then stop cleanly. The API's write routes take a token new at every start, written to
 * <dataDir>/api.token (0600) for the CLI on this host, removed at a clean stop.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { API_TOKEN_BYTES, API_TOKEN_FILE, apiServer, type ApiServer } from "../../../api/index.ts";
import { checkDeploymentRecord, type DeploymentRecord } from "../../../chain/index.ts";
import {
  loadChainKey,
  loadConfig,
  loadConsumerKey,
  toKeeperConfig,
  type OperatorConfig,
} from "../../../config/index.ts";
import { startKeeper, type Keeper } from "../../../keeper.ts";
import { createLogger, type Logger } from "../../../logger.ts";
import { acquireDataDir, releaseDataDir } from "../../../store/lock.ts";
import type { Output, Values } from "../../command.ts";
import { CliError, EXIT_OK } from "../../errors.ts";
import { fieldFlags } from "./options.ts";

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(s);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

export async function startHandler(values: Values, _positionals: string[], io: Output): Promise<number> {
  const file = values.config as string | undefined;
  const { config, file: used } = loadConfig({ file, requireFile: file !== undefined, flags: fieldFlags(values) });
  const logger = createLogger("keeper", { level: config.log.level, format: config.log.format });
  logger.info("config loaded", {
    file: used ?? "(none: environment and flags only)",
    network: config.network,
    dataDir: config.dataDir,
  });

  // One keeper per data dir, taken before the identity, the database or api.token are touched.
  const lock = acquireDataDir(config.dataDir);
  if (lock.recoveredFrom !== undefined)
    logger.warn("took over the data dir lock of a keeper that is gone", { pid: lock.recoveredFrom, file: lock.file });
  try {
    return await run(config, logger, io);
  } finally {
    releaseDataDir(config.dataDir);
  }
}

async function run(config: OperatorConfig, logger: Logger, io: Output): Promise<number> {
  // Hook for the chain module: the signer is resolved (and checked) here; only its address is ever logged.
  const signer = await loadChainKey({ keystore: config.chain.keystore });
  if (signer !== undefined) logger.info("chain signer loaded", { address: signer.address });
  else logger.info("no chain key configured: this keeper will not submit epochs");

  // The deployment record: chain.deployment (a path), else deployments/<network>.json when an RPC URL is set.
  let deployment: DeploymentRecord | undefined;
  if (config.chain.rpcUrl !== undefined) {
    const file = config.chain.deployment ?? join("deployments", `${config.network}.json`);
    try {
      deployment = checkDeploymentRecord(JSON.parse(readFileSync(file, "utf8")) as DeploymentRecord);
    } catch (err) {
      throw new CliError(`chain.deployment: cannot use ${file}: ${(err as Error).message}`);
    }
  }

  let keeper: Keeper;
  try {
    keeper = await startKeeper(
      toKeeperConfig(config, logger, { privateKey: signer?.privateKey, deployment, consumerKey: loadConsumerKey() }),
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE" || /EADDRINUSE|address already in use/i.test(e.message)) {
      throw new CliError(
        `p2p.listen: an address is already in use (${config.p2p.listen.join(", ")}); is another keeper running?`,
      );
    }
    throw err;
  }
  let api: ApiServer | undefined;
  const tokenFile = join(config.dataDir, API_TOKEN_FILE);
  if (config.api.enabled) {
    // Published epochs: the configured folder, else where the keeper publishes by default (<dataDir>/epochs).
    const epochsDir = config.epochs.dir ?? join(config.dataDir, "epochs");
    // A fresh file each start ("wx" after removing the old one), so the 0600 mode always applies.
    const token = randomBytes(API_TOKEN_BYTES).toString("base64url");
    rmSync(tokenFile, { force: true });
    writeFileSync(tokenFile, token + "\n", { mode: 0o600, flag: "wx" });
    api = apiServer({
      host: config.api.host,
      port: config.api.port,
      epochsDir,
      token,
      allowedHosts: config.api.allowedHosts,
      publishDirs: config.api.publishDirs,
    })({ keeper, logger });
    try {
      await api.start();
    } catch (err) {
      await keeper.stop();
      rmSync(tokenFile, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        code === "EADDRINUSE"
          ? `api.port: ${config.api.host}:${config.api.port} is already in use (set api.port or --api-port)`
          : `api: cannot listen on ${config.api.host}:${config.api.port}: ${(err as Error).message}`,
      );
    }
  }
  // Listen for the stop signal before saying "running": a supervisor (or a test) may signal as soon as it reads it.
  const stopSignal = untilSignal();
  io.out(`keeper ${keeper.peerId.toString()} running`);
  for (const a of keeper.addresses) io.out(`  p2p: ${a}`);
  if (api !== undefined) {
    io.out(`  dashboard: ${api.url}/  metrics: ${api.url}/metrics`);
    io.out(`  api token: ${tokenFile} (publish, transfer, close-epoch read it)`);
  }

  const signal = await stopSignal;
  logger.info("stopping", { signal });
  await api?.stop();
  if (api !== undefined) rmSync(tokenFile, { force: true });
  await keeper.stop();
  return EXIT_OK;
}

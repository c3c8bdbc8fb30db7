/**
 * Where the claim tooling reads published epochs (docs/claim.md, "Where the published epochs are read"):
 *   1. `--proofs-dir <dir>` (relative to the project folder);
 *   2. else `--proofs-url <keeper API>`;
 *   3. else the folder a keeper started from the project folder publishes to, by the keeper's own rule
 *      (keeper/config/load.ts, keeper.ts): LUMORA_EPOCHS_DIR, else the config's `epochs.dir`, else
 *      `<dataDir>/epochs` with dataDir = LUMORA_DATA_DIR, else the config's `dataDir`, else `./lumora-data`; the
 *      config file is LUMORA_CONFIG, else `./lumora.config.json`, and relative paths count from its folder;
 *   4. else, when that folder does not exist, `deployments/<network>/epochs` (where holders copy a keeper's
 *      published epochs).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { DEFAULT_CONFIG_FILE, DEFAULT_DATA_DIR } from "../keeper/config/constants.ts";
import { parseJsonc } from "../keeper/config/jsonc.ts";
import { DirectoryProofSource, HttpProofSource } from "../keeper/epochs/proofs/source.ts";
import { defaultEpochsDir } from "../keeper/epochs/proofs/publish.ts";

export interface PublishedRecords {
  /** The proofs and dumps (a folder or a keeper's API). */
  source: DirectoryProofSource | HttpProofSource;
  /** How the source was chosen, what else was looked at, and how to point elsewhere: for "not published" errors. */
  where: string;
}

/** What a keeper config file says about its folders (fields it lacks are left out; a broken file says nothing). */
function configFolders(file: string): { dataDir?: string; epochsDir?: string } {
  let raw: unknown;
  try {
    raw = parseJsonc(readFileSync(file, "utf8"));
  } catch {
    return {};
  }
  const config = (typeof raw === "object" && raw !== null ? raw : {}) as {
    dataDir?: unknown;
    epochs?: { dir?: unknown };
  };
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return { dataDir: text(config.dataDir), epochsDir: text(config.epochs?.dir) };
}

/** The folder a keeper started from `root` publishes its epochs to (rule 3 above). */
export function keeperEpochsDir(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const named = env.LUMORA_CONFIG || undefined;
  const file = path.resolve(root, named ?? DEFAULT_CONFIG_FILE);
  const found = existsSync(file);
  const base = found ? path.dirname(file) : root;
  const config = found ? configFolders(file) : {};
  const epochsDir = env.LUMORA_EPOCHS_DIR || config.epochsDir;
  if (epochsDir !== undefined) return path.resolve(base, epochsDir);
  const dataDir = env.LUMORA_DATA_DIR || config.dataDir || DEFAULT_DATA_DIR;
  return path.join(path.resolve(base, dataDir), "epochs");
}

export interface RecordsOptions {
  proofsDir?: string;
  proofsUrl?: string;
  env?: NodeJS.ProcessEnv;
}

/** Picks the published epochs' source for a network, from the project folder `root` (rules 1–4 above). */
export function publishedRecords(root: string, network: string, options: RecordsOptions = {}): PublishedRecords {
  const elsewhere = "pass --proofs-dir <folder> (a keeper's <dataDir>/epochs) or --proofs-url http://<keeper API>";
  if (options.proofsDir !== undefined) {
    const dir = path.resolve(root, options.proofsDir);
    return { source: new DirectoryProofSource(dir), where: `in ${dir} (--proofs-dir)` };
  }
  if (options.proofsUrl !== undefined) {
    return { source: new HttpProofSource(options.proofsUrl), where: `by the keeper API at ${options.proofsUrl}` };
  }
  const keeperDir = keeperEpochsDir(root, options.env);
  const copiedDir = path.resolve(root, defaultEpochsDir(network));
  if (existsSync(keeperDir) || !existsSync(copiedDir)) {
    return {
      source: new DirectoryProofSource(keeperDir),
      where:
        `in ${keeperDir} (the keeper's publication folder by default; ${copiedDir} ` +
        `${existsSync(copiedDir) ? "was not read" : "does not exist either"}): ${elsewhere}`,
    };
  }
  return {
    source: new DirectoryProofSource(copiedDir),
    where: `in ${copiedDir} (the keeper's publication folder ${keeperDir} does not exist): ${elsewhere}`,
  };
}

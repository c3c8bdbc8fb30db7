/**
 * `init`: a commented config file and a new node identity (mode 0600), optionally an encrypted keystore with a
 * new chain key. Refuses to overwrite any of them: an identity is a node's name in the network.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

import { Wallet } from "ethers";

import {
  configTemplate,
  DEFAULT_CONFIG_FILE,
  DEFAULT_DATA_DIR,
  ENV_KEYSTORE_PASSWORD,
  writeKeystore,
} from "../../../config/index.ts";
import { loadOrCreateIdentity } from "../../../identity.ts";
import type { Output, Values } from "../../command.ts";
import { CliError, EXIT_OK, UsageError } from "../../errors.ts";

function port(values: Values, name: string): number | undefined {
  const text = values[name] as string | undefined;
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new UsageError(`--${name}: "${text}" is not a port number (0-65535)`, "init");
  return n;
}

export async function initHandler(values: Values, _positionals: string[], io: Output): Promise<number> {
  const rewardAddress = values["reward-address"] as string | undefined;
  if (rewardAddress === undefined)
    throw new UsageError("--reward-address is required (the 0x address that receives rewards)", "init");
  if (!/^0x[0-9a-fA-F]{40}$/.test(rewardAddress))
    throw new UsageError(`--reward-address: "${rewardAddress}" is not a 0x-prefixed 20-byte address`, "init");
  const p2pPort = port(values, "p2p-port");
  const apiPort = port(values, "api-port");
  const network = values.network as string | undefined;
  if (network !== undefined && !/^[a-z0-9-]+$/.test(network))
    throw new UsageError(`--network: "${network}" must be lowercase letters, digits or -`, "init");

  const configFile = resolve((values.config as string | undefined) ?? DEFAULT_CONFIG_FILE);
  const dataDirText = (values["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR;
  const dataDir = resolve(dirname(configFile), dataDirText);
  const identityFile = join(dataDir, "identity.key");
  const keystoreText = values.keystore as string | undefined;
  const keystoreFile = keystoreText === undefined ? undefined : resolve(keystoreText);
  const password = process.env[ENV_KEYSTORE_PASSWORD];

  // Check everything before writing anything, so a refusal leaves no half-initialised node behind.
  if (existsSync(configFile))
    throw new CliError(`${configFile} exists; not overwriting it (remove it or pass --config)`);
  if (existsSync(identityFile)) throw new CliError(`${identityFile} exists; not overwriting this node's identity`);
  if (keystoreFile !== undefined) {
    if (existsSync(keystoreFile)) throw new CliError(`${keystoreFile} exists; not overwriting a keystore`);
    if (password === undefined || password.length < 8) {
      throw new UsageError(`--keystore needs a password of at least 8 characters in ${ENV_KEYSTORE_PASSWORD}`, "init");
    }
  }

  mkdirSync(dirname(configFile), { recursive: true });
  const { privateKey } = await loadOrCreateIdentity(identityFile);
  let chainAddress: string | undefined;
  if (keystoreFile !== undefined) {
    const wallet = Wallet.createRandom();
    await writeKeystore(keystoreFile, new Wallet(wallet.privateKey), password!);
    chainAddress = wallet.address;
  }
  const keystore = keystoreFile === undefined ? undefined : relative(dirname(configFile), keystoreFile) || keystoreFile;
  writeFileSync(
    configFile,
    configTemplate({ rewardAddress, network, dataDir: dataDirText, p2pPort, apiPort, keystore }),
    {
      mode: 0o644,
      flag: "wx",
    },
  );
  const { peerIdFromPrivateKey } = await import("@libp2p/peer-id");
  io.out(`config:   ${configFile}`);
  io.out(`identity: ${identityFile} (mode 0600)`);
  io.out(`peer id:  ${peerIdFromPrivateKey(privateKey).toString()}`);
  if (chainAddress !== undefined) {
    io.out(`keystore: ${keystoreFile} (chain address ${chainAddress}; grant it KEEPER_ROLE to submit epochs)`);
  }
  io.out(`next:     edit the config, then \`lumora-keeper start --config ${shownPath(configFile)}\``);
  return EXIT_OK;
}

/** A path as the user can paste it from here: relative when inside the working directory, absolute otherwise. */
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? resolve(file) : rel;
}

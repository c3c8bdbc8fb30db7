/**
 * The keeper's chain key: from LUMORA_CHAIN_KEY, or from an encrypted JSON keystore (ethers' scrypt format)
 * whose password is in LUMORA_KEYSTORE_PASSWORD. Never from the config file, never logged: callers get a
 * Wallet and log only its address.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";

import { Wallet } from "ethers";

import { ENV_CHAIN_KEY, ENV_CONSUMER_KEY, ENV_KEYSTORE_PASSWORD } from "./constants.ts";
import { SecretError } from "./errors.ts";

export interface ChainKeySource {
  keystore?: string;
  env?: NodeJS.ProcessEnv;
}

/** The consumer account's key from LUMORA_CONSUMER_KEY (0x-hex), or undefined when unset. */
export function loadConsumerKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env[ENV_CONSUMER_KEY];
  if (raw === undefined || raw === "") return undefined;
  const hex = raw.startsWith("0x") ? raw : `0x${raw}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new SecretError(`${ENV_CONSUMER_KEY} must be a 32-byte hex private key`);
  return hex;
}

/** The chain signer, or undefined when none is configured (the keeper then runs without submitting). */
export async function loadChainKey(source: ChainKeySource): Promise<Wallet | undefined> {
  const env = source.env ?? process.env;
  const raw = env[ENV_CHAIN_KEY];
  if (raw !== undefined && raw !== "") {
    const hex = raw.startsWith("0x") ? raw : `0x${raw}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new SecretError(`${ENV_CHAIN_KEY} must be a 32-byte hex private key`);
    return new Wallet(hex);
  }
  if (source.keystore === undefined) return undefined;
  if (!existsSync(source.keystore)) throw new SecretError(`chain.keystore: ${source.keystore} not found`);
  const password = env[ENV_KEYSTORE_PASSWORD];
  if (password === undefined) {
    throw new SecretError(`chain.keystore is set: put its password in ${ENV_KEYSTORE_PASSWORD}`);
  }
  try {
    const wallet = await Wallet.fromEncryptedJson(readFileSync(source.keystore, "utf8"), password);
    return new Wallet(wallet.privateKey);
  } catch {
    throw new SecretError(`chain.keystore: cannot decrypt ${source.keystore} (wrong password or not a keystore)`);
  }
}

/** Writes `wallet` as an encrypted keystore (mode 0600); refuses to overwrite. */
export async function writeKeystore(path: string, wallet: Wallet, password: string): Promise<void> {
  if (existsSync(path)) throw new SecretError(`${path} exists; not overwriting a keystore`);
  const json = await wallet.encrypt(password);
  writeFileSync(path, json, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
}

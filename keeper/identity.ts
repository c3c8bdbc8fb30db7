/**
 * The node's libp2p identity, kept in `<dataDir>/identity.key` (protobuf-encoded private key, mode 0600).
 * Created on first start; never logged.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";

export async function loadOrCreateIdentity(path: string): Promise<{ privateKey: PrivateKey; created: boolean }> {
  if (existsSync(path)) return { privateKey: privateKeyFromProtobuf(readFileSync(path)), created: false };
  const privateKey = await generateKeyPair("Ed25519");
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, privateKeyToProtobuf(privateKey), { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { privateKey, created: true };
}

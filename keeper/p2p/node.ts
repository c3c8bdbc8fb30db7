/**
 * The keeper's libp2p node: TCP, noise, yamux, identify, ping and kad-dht in server mode under Lumora's
 * private protocol prefix — it never joins the public IPFS DHT.
 *
 * This is the stable entry point other modules build on (`createLumoraNode`); DHT validators/selectors for
 * Lumora's record namespaces are passed in by the discovery module.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { identify, type Identify } from "@libp2p/identify";
import type { PrivateKey } from "@libp2p/interface";
import {
  kadDHT,
  passthroughMapper,
  removePrivateAddressesMapper,
  type KadDHT,
  type SelectFn,
  type ValidateFn,
} from "@libp2p/kad-dht";
import { ping, type Ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p, type Libp2p } from "libp2p";

export const DHT_PROTOCOL = "/lumora/kad/1.0.0";

export type LumoraServices = { identify: Identify; ping: Ping; dht: KadDHT };
export type LumoraNode = Libp2p<LumoraServices>;

export interface LumoraNodeInit {
  /** The node's identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey;
  /** Listen multiaddrs. Default: one TCP port on 127.0.0.1 chosen by the OS. */
  listen?: string[];
  /** Keep loopback/private addresses in DHT peer info (needed on 127.0.0.1 networks; off on public nets). */
  allowPrivateAddresses?: boolean;
  /** DHT record validators/selectors keyed by namespace (the first path segment of the key). */
  validators?: Record<string, ValidateFn>;
  selectors?: Record<string, SelectFn>;
  /** Connection limits. */
  maxConnections?: number;
}

export async function createLumoraNode(init: LumoraNodeInit = {}): Promise<LumoraNode> {
  const privateKey = init.privateKey ?? (await generateKeyPair("Ed25519"));
  return createLibp2p({
    privateKey,
    addresses: { listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: init.maxConnections ?? 300 },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: init.allowPrivateAddresses === false ? removePrivateAddressesMapper : passthroughMapper,
        validators: init.validators ?? {},
        selectors: init.selectors ?? {},
      }),
    },
  });
}

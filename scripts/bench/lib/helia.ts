/**
 * Helia (IPFS bitswap) on the same libp2p stack as Lumora — TCP, Noise, yamux, identify — for the transfer
 * benchmark's side-by-side figure. The provider imports a file as UnixFS (Helia's defaults: CIDv1, raw leaves,
 * 1 MiB chunks, like Lumora's 1 MiB parts); the consumer dials it and `cat`s the file to disk. Bitswap only:
 * no HTTP gateways and no routers, so nothing leaves the machine. Each block is checked against its CID
 * (SHA-256) by Helia; nothing is encrypted beyond Noise.
 */
import { createReadStream, createWriteStream } from "node:fs";

import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { unixfs } from "@helia/unixfs";
import { identify } from "@libp2p/identify";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createHeliaLight } from "helia";
import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight } from "@helia/libp2p";
import { CID } from "multiformats/cid";

async function heliaNode() {
  const helia = withBitswap(
    withLibp2pLight(createHeliaLight(), {
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    }),
  );
  await helia.start();
  return helia;
}

/** Imports `path`; returns the node's address and the file's root CID. */
export async function heliaProvide(path: string): Promise<{ addr: string; cid: string; stop(): Promise<void> }> {
  const helia = await heliaNode();
  const fs = unixfs(helia);
  const cid = await fs.addByteStream(createReadStream(path));
  return {
    addr: helia.libp2p.getMultiaddrs()[0].toString(),
    cid: cid.toString(),
    stop: async () => void (await helia.stop()),
  };
}

/** Fetches `cid` from the provider at `addr` into `to`; returns the bytes written. */
export async function heliaFetch(addr: string, cid: string, to: string): Promise<number> {
  const helia = await heliaNode();
  try {
    await helia.libp2p.dial(multiaddr(addr));
    const fs = unixfs(helia);
    const out = createWriteStream(to);
    let size = 0;
    for await (const chunk of fs.cat(CID.parse(cid))) {
      size += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return size;
  } finally {
    await helia.stop();
  }
}

/**
 * Child process for the connect benchmark: one Lumora node on loopback; prints its multiaddr as one JSON
 * line on stdout and exits when stdin closes.
 */
import { createLumoraNode } from "../../../keeper/p2p/node.ts";

const node = await createLumoraNode({ inboundConnectionsPerHostPerSecond: 10_000 });
process.stdout.write(JSON.stringify({ addr: node.getMultiaddrs()[0].toString() }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => {
  void Promise.resolve(node.stop()).then(() => process.exit(0));
});

import type { PeerView } from "../../../api/index.ts";
import { apiUrl, getJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { EXIT_OK } from "../../errors.ts";
import { bytes, table } from "../../format.ts";

export async function peersHandler(values: Values, _p: string[], io: Output): Promise<number> {
  const body = await getJson<{ peers: PeerView[]; dht: { routingTableSize: number } }>(apiUrl(values), "/api/peers");
  if (values.json) return (io.out(JSON.stringify(body, null, 2)), EXIT_OK);
  if (body.peers.length === 0) return (io.out("no peers discovered yet"), EXIT_OK);
  io.out(
    table(
      ["PEER", "ROLES", "B", "P", "L(ms)", "SCORE", "SHARD", "LOAD", "HEALTH", "REPUTATION"],
      body.peers.map((p) => [
        p.peerId,
        p.capabilities.join(","),
        `${bytes(p.bandwidthBps)}/s`,
        p.proximity ?? "-",
        p.latencyMs === null ? "-" : p.latencyMs.toFixed(1),
        p.score === null ? "-" : p.score.toFixed(3),
        p.shard ?? "-",
        `${p.load}/${p.capacity}`,
        p.health,
        p.flagged ? "FLAGGED" : `ok ${p.successes}/${p.failures}`,
      ]),
    ),
  );
  io.out(`DHT routing table: ${body.dht.routingTableSize} peers`);
  return EXIT_OK;
}

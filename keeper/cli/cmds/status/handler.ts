import type { StatusView } from "../../../api/index.ts";
import { apiUrl, getJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { EXIT_OK } from "../../errors.ts";
import { bytes } from "../../format.ts";

export async function statusHandler(values: Values, _p: string[], io: Output): Promise<number> {
  const s = await getJson<StatusView>(apiUrl(values), "/api/status");
  if (values.json) return (io.out(JSON.stringify(s, null, 2)), EXIT_OK);
  const t = s.tasks.byState;
  io.out(`peer id      ${s.peerId}`);
  for (const a of s.addresses) io.out(`address      ${a}`);
  io.out(`reward to    ${s.rewardAddress}`);
  io.out(`epoch        ${s.epoch}   uptime ${Math.round((s.now - s.startedAt) / 1000)} s`);
  io.out(
    `peers        ${s.peers.length} known, ${s.connections} connected, ${s.peers.filter((p) => p.flagged).length} flagged; DHT table ${s.dht.routingTableSize}`,
  );
  io.out(
    `tasks        ${t.queued} queued, ${t.assigned + t.running} in flight, ${t.succeeded} done, ${t.failed} failed, ${t.expired} expired, ${s.tasks.reassigned} reassigned`,
  );
  io.out(
    `transfers    ${bytes(s.transfers.bytesServed)} served, ${bytes(s.transfers.bytesFetched)} fetched, ${bytes(Math.round(s.transfers.throughputBps))}/s`,
  );
  io.out(`epochs       ${s.epochs.length} known; rewards in ${s.rewards.length}`);
  const c = s.chain;
  const waiting = c.pending.length === 0 ? "none waiting" : `waiting: ${c.pending.join(", ")}`;
  if (!c.configured) io.out(`chain        not configured (epochs are published only); ${waiting}`);
  else {
    const reach = c.reachable ? (c.problem === undefined ? "reachable" : `PROBLEM ${c.problem}`) : "UNREACHABLE";
    const since =
      c.secondsSinceLastCommit === undefined ? "no commit seen yet" : `last commit ${c.secondsSinceLastCommit} s ago`;
    io.out(`chain        ${reach}; last on-chain epoch ${c.lastOnChainEpoch ?? "?"}; ${waiting}; ${since}`);
    if (c.message !== undefined) io.out(`             ${c.message}`);
  }
  if (c.stall !== undefined)
    io.out(
      `             epoch ${c.stall.epoch} ${c.stall.alarm ? "STALLED" : "retrying"} (${c.stall.attempts} attempts): ${c.stall.reason}`,
    );
  if (c.alarms.length > 0)
    io.out(`             ALARM: chain roots differ from ours for epoch(s) ${c.alarms.join(", ")}`);
  return EXIT_OK;
}

/**
 * The chain client's HTTP transport against a deliberately slow JSON-RPC node (node:http on 127.0.0.1): the
 * sockets open to it stay within the bound while many reads are in flight, the reads complete, a stalled node's
 * timed-out requests take their sockets with them, and an oversized answer is refused.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, it } from "node:test";

import { FetchRequest, JsonRpcProvider, Network } from "ethers";

import { Chain, RpcUnavailableError, type DeploymentRecord } from "../../../keeper/chain/index.ts";
import { RpcTransport } from "../../../keeper/chain/http.ts";
import { silent, waitFor } from "../helpers.ts";

const CHAIN_ID = 31337;

/** Only the fields Chain checks: reads of the block number never touch the contracts. */
const RECORD = {
  network: "slow",
  chainId: CHAIN_ID,
  contracts: {
    LumoraToken: "0x" + "11".repeat(20),
    Reputation: "0x" + "22".repeat(20),
    TaskLog: "0x" + "33".repeat(20),
    RewardPool: "0x" + "44".repeat(20),
  },
} as unknown as DeploymentRecord;

interface SlowRpc {
  url: string;
  server: Server;
  /** Sockets open now, the most open at once, and every one ever accepted. */
  open(): number;
  maxOpen(): number;
  accepted(): number;
  answered(): number;
}

/** A JSON-RPC node answering eth_blockNumber after `delayMs` (or never), with a result of `resultBytes` when set. */
async function slowRpc(delayMs: number, resultBytes?: number): Promise<SlowRpc> {
  let open = 0;
  let maxOpen = 0;
  let accepted = 0;
  let answered = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: number };
      const result = resultBytes === undefined ? "0x10" : "0x" + "ab".repeat(resultBytes);
      const timer = setTimeout(() => {
        answered++;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id, result }));
      }, delayMs);
      res.on("close", () => clearTimeout(timer));
    });
  });
  server.on("connection", (socket) => {
    open++;
    accepted++;
    maxOpen = Math.max(maxOpen, open);
    socket.on("close", () => open--);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    open: () => open,
    maxOpen: () => maxOpen,
    accepted: () => accepted,
    answered: () => answered,
  };
}

describe("chain HTTP transport (bounded sockets)", { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function rpc(delayMs: number, resultBytes?: number): Promise<SlowRpc> {
    const node = await slowRpc(delayMs, resultBytes);
    cleanup.push(async () => {
      node.server.closeAllConnections();
      node.server.close();
      await once(node.server, "close");
    });
    return node;
  }

  it("keeps at most maxSockets sockets to a slow node while 100 reads are in flight, and every read completes", async () => {
    const node = await rpc(100);
    const chain = new Chain({ logger: silent }, { rpcUrl: node.url, deployment: RECORD, rpcMaxSockets: 4 });
    cleanup.push(() => chain.stop());
    let clientMax = 0;
    const sample = setInterval(() => (clientMax = Math.max(clientMax, chain.transport.openSockets())), 10);
    cleanup.push(() => clearInterval(sample));
    const reads = Array.from({ length: 100 }, () => chain.read("blockNumber", () => chain.provider.getBlockNumber()));
    await waitFor(() => chain.transport.waiting() > 0, 10_000, "reads to queue behind the busy sockets");
    const blocks = await Promise.all(reads);
    assert.deepEqual(new Set(blocks), new Set([16]), "every read got the node's answer");
    assert.equal(node.answered(), 100, "each read was one request");
    assert.equal(node.maxOpen(), 4, `the node saw at most 4 sockets at once (saw ${node.maxOpen()})`);
    assert.equal(node.accepted(), 4, "keep-alive: the same 4 sockets carried all 100 requests");
    assert.ok(clientMax <= 4, `the keeper held at most 4 sockets (held ${clientMax})`);
  });

  it("closes the socket of every timed-out request to a stalled node, so retries never pile up sockets", async () => {
    const node = await rpc(3_600_000);
    const chain = new Chain(
      { logger: silent },
      {
        rpcUrl: node.url,
        deployment: RECORD,
        rpcMaxSockets: 4,
        rpcTimeoutMs: 200,
        retry: { initialDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 1_500 },
      },
    );
    cleanup.push(() => chain.stop());
    const reads = Array.from({ length: 50 }, () =>
      chain
        .read("blockNumber", () => chain.provider.getBlockNumber())
        .then(
          () => assert.fail("a stalled node cannot answer"),
          (err: unknown) => err,
        ),
    );
    const errors = await Promise.all(reads);
    for (const err of errors) assert.ok(err instanceof RpcUnavailableError, `gave up with ${String(err)}`);
    assert.ok(node.accepted() > 4, `timed-out requests were retried on new sockets (${node.accepted()} accepted)`);
    assert.ok(node.maxOpen() <= 4, `at most 4 sockets open at once while 50 reads retried (saw ${node.maxOpen()})`);
    await waitFor(() => node.open() === 0, 5_000, "the node to see every socket closed");
    // The client counts a socket closed at its 'close' event, which can come a moment after the node saw the FIN.
    await waitFor(() => chain.transport.openSockets() === 0, 5_000, "the keeper to count every socket closed");
    assert.equal(chain.transport.waiting(), 0, "no request left queued");
  });

  it("refuses an answer larger than the response cap", async () => {
    const node = await rpc(0, 4_096);
    const transport = new RpcTransport({ maxSockets: 2, maxResponseBytes: 1_024 });
    cleanup.push(() => transport.destroy());
    const request = new FetchRequest(node.url);
    request.getUrlFunc = transport.getUrl;
    const provider = new JsonRpcProvider(request, Network.from(CHAIN_ID), { staticNetwork: true, batchMaxCount: 1 });
    cleanup.push(() => provider.destroy());
    await assert.rejects(provider.send("eth_blockNumber", []), /response above 1024 bytes/);
  });
});

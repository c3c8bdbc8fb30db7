/**
 * The keeper request/answer exchange both signature protocols run on (keeper/epochs/quorum/keeper-rpc.ts), between
 * real libp2p nodes on 127.0.0.1: a keeper's request reaches the handler and its answer comes back; a stranger is
 * refused unseen; a handler's protocol error is answered `bad-request` and penalised; a misbehaving answer is an
 * unreachable keeper, penalised; rounds ask again only the keepers that said "retry", until complete.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { PeerId } from "@libp2p/interface";

import { QuorumProtocolError } from "../../../../keeper/epochs/quorum/errors.ts";
import {
  askInRounds,
  askKeeper,
  parseJsonObject,
  serveKeeperRequest,
} from "../../../../keeper/epochs/quorum/keeper-rpc.ts";
import { silent, startNode, type TestKeeper } from "../../helpers.ts";

const PROTOCOL = "/lumora/test-keeper-rpc/1.0.0";
const encoder = new TextEncoder();

describe("epochs/quorum: keeper request/answer exchange", { timeout: 60_000 }, () => {
  let server: TestKeeper;
  let keeper: TestKeeper;
  let stranger: TestKeeper;
  const handled: string[] = [];
  const penalisedByServer: string[] = [];
  let strangers = 0;

  before(async () => {
    [server, keeper, stranger] = await Promise.all([startNode(silent), startNode(silent), startNode(silent)]);
    for (const n of [keeper, stranger]) await n.node.dial(server.node.getMultiaddrs()[0]!);
    await server.node.handle(
      PROTOCOL,
      (stream, connection) =>
        serveKeeperRequest(stream, connection, {
          isKeeper: (peer) => peer === keeper.node.peerId.toString(),
          maxRequestBytes: 256,
          maxAnswerBytes: 256,
          timeoutMs: 5_000,
          strangerTimeoutMs: 1_000,
          onStranger: () => strangers++,
          handle: async (body, peer) => {
            const msg = parseJsonObject(body);
            handled.push(peer);
            if (msg.bad === true) throw new QuorumProtocolError("bad on purpose", true);
            if (msg.garbage === true) return { neither: 1 };
            return { echo: msg.say, from: peer };
          },
          penalise: (id: PeerId) => penalisedByServer.push(id.toString()),
        }),
      { maxInboundStreams: 4 },
    );
  });

  after(async () => {
    for (const n of [server, keeper, stranger]) await n?.node.stop();
  });

  const ask = (from: TestKeeper, msg: object, penalised: string[] = []) =>
    askKeeper(server.node.peerId, encoder.encode(JSON.stringify(msg)), AbortSignal.timeout(5_000), {
      node: from.node,
      protocol: PROTOCOL,
      maxRequestBytes: 256,
      maxAnswerBytes: 256,
      timeoutMs: 5_000,
      interpret: (answer) => {
        if (typeof answer.echo === "string") return { echo: answer.echo, from: answer.from };
        if (typeof answer.code === "string") return { code: answer.code, error: answer.error };
        throw new QuorumProtocolError("answer is neither an echo nor an error", true);
      },
      penalise: (id) => penalised.push(id.toString()),
    });

  it("answers a keeper's request with the handler's answer, and refuses a stranger without reading it", async () => {
    const me = keeper.node.peerId.toString();
    assert.deepEqual(await ask(keeper, { say: "hello" }), { echo: "hello", from: me });
    assert.deepEqual(handled, [me]);
    assert.deepEqual(await ask(stranger, { say: "hello" }), {
      code: "not-a-keeper",
      error: "not a registered keeper",
    });
    assert.equal(strangers, 1);
    assert.deepEqual(handled, [me], "the stranger's request never reached the handler");
  });

  it("answers a handler's protocol error with bad-request and penalises its sender", async () => {
    const me = keeper.node.peerId.toString();
    assert.deepEqual(await ask(keeper, { bad: true }), { code: "bad-request", error: "bad on purpose" });
    assert.deepEqual(penalisedByServer, [me]);
  });

  it("takes an answer it cannot read for an unreachable keeper and penalises the answering one", async () => {
    const penalised: string[] = [];
    assert.deepEqual(await ask(keeper, { garbage: true }, penalised), {
      unreachable: "answer is neither an echo nor an error",
    });
    assert.deepEqual(penalised, [server.node.peerId.toString()]);
  });

  it("asks again only the keepers that said retry, until complete or none is left", async () => {
    let done = 0;
    // a answers at once; b asks to be retried twice; c always says retry: complete once b has answered.
    const answers: Record<string, boolean[]> = { a: [false], b: [true, true, false], c: [true, true, true, true] };
    await askInRounds(
      ["a", "b", "c"],
      async (peer) => {
        const retry = answers[peer]!.shift()!;
        if (!retry) done++;
        return retry;
      },
      { complete: () => done >= 2, signal: AbortSignal.timeout(10_000), retryMs: 1 },
    );
    assert.equal(done, 2);
    assert.deepEqual(answers.b, [], "b asked three times");
    assert.deepEqual(answers.c, [true], "c asked three times, then no more: the rounds were complete");
    assert.deepEqual(answers.a, [], "a asked once");

    // Nobody left to ask: the rounds end though not complete.
    let asks = 0;
    await askInRounds(
      ["x"],
      async () => {
        asks++;
        return false;
      },
      { complete: () => false, signal: AbortSignal.timeout(10_000), retryMs: 1 },
    );
    assert.equal(asks, 1);
  });
});

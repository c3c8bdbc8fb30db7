/**
 * Hostile consumers on /lumora/transfer/2.0.0 (issue 13, point 1): a consumer that sends a Hello and 16 part
 * requests and never reads must not pin the provider's memory and file descriptors. The provider caps sessions
 * per connection and in total (BUSY beyond), ends a session whose consumer reads nothing within the write
 * timeout, and one that asks for nothing within the idle timeout; honest consumers are served meanwhile/after.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import type { Stream } from "@libp2p/interface";

import { encodeFrame } from "../../../keeper/transfer/framing.ts";
import { PROTOCOL, PROTOCOL_VERSION } from "../../../keeper/transfer/constants.ts";
import { ConsumerFrame } from "../../../keeper/transfer/pb/transfer.ts";
import { bufferBytes, dialRetry, openFds, rawPeer, rawStream, stopAll, type RawPeer } from "../../fuzz/raw-peer.ts";
import { waitFor } from "../helpers.ts";
import { Harness, randomData } from "./helpers.ts";

const MiB = 1024 * 1024;

function hello(objectId: string): Uint8Array {
  return ConsumerFrame.encode({
    hello: { version: PROTOCOL_VERSION, objectId: Buffer.from(objectId, "hex"), ephemeralKey: randomBytes(32) },
  });
}

/** Hello + `requests` part requests, then nothing: the stream is paused (libp2p's "stop reading": no more yamux
 * window updates), so the provider's sends back up exactly as behind a consumer that never reads its socket. */
function stall(stream: Stream, objectId: string, requests: number): void {
  stream.pause();
  stream.send(encodeFrame(hello(objectId)));
  for (let i = 0; i < requests; i++) stream.send(encodeFrame(ConsumerFrame.encode({ request: { index: i } })));
}

describe("transfer provider under stalled readers", () => {
  const h = new Harness();
  const attackers: RawPeer[] = [];
  afterEach(async () => {
    await stopAll(attackers.splice(0));
    await h.cleanup();
  });

  it("caps sessions, times stalled ones out, frees their memory and fds, and still serves honest consumers", async () => {
    const maxSessions = 16;
    const provider = await h.peer({
      init: {
        maxInboundSessions: maxSessions,
        maxSessionsPerConnection: 4,
        writeTimeoutMs: 1_500,
        idleTimeoutMs: 1_500,
      },
    });
    const consumer = await h.peer();
    const { objectId } = await provider.transfer.publish(await h.file(randomData(24 * MiB)), { announce: false });
    const stats = provider.transfer.providerStats;

    // 8 fresh identities × 8 sessions: 64 stalled sessions asked for, 4× the provider's cap.
    for (let i = 0; i < 8; i++) attackers.push(await rawPeer());
    for (const a of attackers) await dialRetry(a, provider.addr);
    const fdsBefore = openFds();
    const buffersBefore = bufferBytes();
    const streams: Stream[] = [];
    for (const a of attackers) {
      for (let s = 0; s < 8; s++) {
        const stream = await rawStream(a, provider.addr, PROTOCOL).catch(() => undefined);
        if (stream === undefined) continue;
        stall(stream, objectId, 16);
        streams.push(stream);
      }
    }
    let peakSessions = 0;
    let peakFds = 0;
    let peakBuffers = 0;
    await waitFor(
      () => {
        peakSessions = Math.max(peakSessions, stats.activeSessions);
        peakFds = Math.max(peakFds, openFds());
        peakBuffers = Math.max(peakBuffers, bufferBytes());
        return stats.sessionsRefused > 0 && stats.activeSessions > 0;
      },
      10_000,
      "the provider to fill up and refuse",
    );
    assert.ok(peakSessions <= maxSessions, `at most ${maxSessions} sessions at once (saw ${peakSessions})`);

    // Stalled sessions end within the write timeout (+ slack), releasing their file handles and buffers.
    await waitFor(
      () => {
        peakSessions = Math.max(peakSessions, stats.activeSessions);
        peakFds = Math.max(peakFds, openFds());
        peakBuffers = Math.max(peakBuffers, bufferBytes());
        return stats.activeSessions === 0;
      },
      15_000,
      "every stalled session to be ended",
    );
    assert.ok(
      stats.writeTimeouts + stats.idleTimeouts > 0,
      `sessions ended by the write/idle timeouts: ${JSON.stringify(stats)}`,
    );
    assert.ok(peakSessions <= maxSessions, `at most ${maxSessions} sessions at once (saw ${peakSessions})`);
    // One open file per session at most, plus slack for the runtime.
    assert.ok(peakFds - fdsBefore <= maxSessions + 16, `fds bounded: ${fdsBefore} → peak ${peakFds}`);
    // Per capped session: the sealed part the provider cannot send (1 MiB; its read buffer went back to the pool
    // after sealing), up to one more part in flight through the muxer, and the attacker's own paused receive
    // window (same process). Before the caps: +189 MiB for 64 sessions, never released.
    assert.ok(
      peakBuffers - buffersBefore <= maxSessions * 3 * MiB,
      `buffers bounded: +${((peakBuffers - buffersBefore) / MiB).toFixed(1)} MiB at peak`,
    );
    console.log(
      `stalled readers: ${streams.length} streams, peak ${peakSessions} sessions, refused ${stats.sessionsRefused}, ` +
        `write timeouts ${stats.writeTimeouts}, idle timeouts ${stats.idleTimeouts}, fds ${fdsBefore}→${peakFds}, ` +
        `buffers +${((peakBuffers - buffersBefore) / MiB).toFixed(1)} MiB at peak`,
    );
    await waitFor(() => openFds() <= fdsBefore + 4, 10_000, "fds back near the baseline");

    // An honest consumer is served in full afterwards.
    const to = join(await h.dir(), "out.bin");
    const result = await consumer.transfer.fetch(objectId, { providers: [provider.addr], to });
    assert.equal(result.size, 24 * MiB);
  });

  it("ends a session that only said hello once the idle timeout passes", async () => {
    const provider = await h.peer({ init: { idleTimeoutMs: 500 } });
    const { objectId } = await provider.transfer.publish(await h.file(randomData(64 * 1024)), { announce: false });
    const a = await rawPeer();
    attackers.push(a);
    const stream = await rawStream(a, provider.addr, PROTOCOL);
    stall(stream, objectId, 0);
    const stats = provider.transfer.providerStats;
    await waitFor(() => stats.idleTimeouts === 1 && stats.activeSessions === 0, 5_000, "the idle session to end");
  });
});

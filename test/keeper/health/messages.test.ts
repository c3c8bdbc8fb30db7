import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import {
  MAX_HEALTH_MESSAGE_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_SYNC_ENTRIES,
  MAX_UPDATES_PER_MESSAGE,
} from "../../../keeper/health/constants.ts";
import type { MemberUpdateData } from "../../../keeper/health/members.ts";
import { fitted, peerIdBytes, probeMessage, readAck, readProbe } from "../../../keeper/health/messages.ts";
import { Ack, MemberState, Probe, type MemberUpdate } from "../../../keeper/health/pb/health.ts";
import { InvalidFieldError } from "../../../keeper/wire/index.ts";

const ed25519 = async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();

/** A URL peer id (identity multihash of a URL): it parses, and can be as long as the 64-byte limit allows. */
function longPeerId(bytes: number, fill = "a"): Uint8Array<ArrayBuffer> {
  const url = "http://" + fill.repeat(bytes - 2 - 7 - 4) + ".com";
  return new Uint8Array([0x00, url.length, ...new TextEncoder().encode(url)]);
}

const probe = (updates: MemberUpdate[], state: MemberUpdate[] = []): Probe => ({
  seq: 1n,
  target: new Uint8Array(0),
  incarnation: 0n,
  load: 0,
  capacity: 0,
  updates,
  state,
});

describe("health messages: a suspicion's origin", () => {
  it("round-trips the origin of a suspicion, in updates and in a state sync; absent stays absent", async () => {
    const [p, q, o] = await Promise.all([ed25519(), ed25519(), ed25519()]);
    const updates: MemberUpdateData[] = [
      { peerId: p, state: "suspect", incarnation: 3, origin: o },
      { peerId: q, state: "suspect", incarnation: 0 },
    ];
    const wire = probeMessage({ seq: 1n, incarnation: 0, load: 0, capacity: 0, updates, state: [updates[0]!] });
    const back = readProbe(Probe.decode(Probe.encode(wire)));
    assert.deepEqual(back.updates, updates);
    assert.deepEqual(back.state, [updates[0]]);
    assert.equal(Object.hasOwn(back.updates[1]!, "origin"), false, "no origin: unknown, not an empty one");
    // An old peer's update (no field 4) decodes without origin; one only a new peer sends decodes on an old one.
    const old = Probe.encode(probe([{ peerId: peerIdBytes(p), state: MemberState.SUSPECT, incarnation: 3n }]));
    assert.equal(readProbe(Probe.decode(old)).updates[0]!.origin, undefined);
    // On an alive or failed statement an origin means nothing: not sent, and dropped when received.
    const alive = probeMessage({
      seq: 1n,
      incarnation: 0,
      load: 0,
      capacity: 0,
      updates: [{ peerId: p, state: "failed", incarnation: 1, origin: o }],
      state: [],
    });
    assert.equal(alive.updates[0]!.origin, undefined);
    const sent = Probe.encode(
      probe([{ peerId: peerIdBytes(p), state: MemberState.FAILED, incarnation: 1n, origin: peerIdBytes(o) }]),
    );
    assert.equal(readProbe(Probe.decode(sent)).updates[0]!.origin, undefined);
  });

  it("rejects an origin that is empty, longer than 64 bytes or not a peer id, as a bad peer_id is", async () => {
    const p = peerIdBytes(await ed25519());
    const bad = (origin: Uint8Array<ArrayBuffer>, state = MemberState.SUSPECT) => {
      const u: MemberUpdate = { peerId: p, state, incarnation: 0n, origin };
      assert.throws(() => readProbe(Probe.decode(Probe.encode(probe([u])))), InvalidFieldError);
      assert.throws(() => readProbe(Probe.decode(Probe.encode(probe([], [u])))), InvalidFieldError);
      const ack: Ack = { ...probe([u]), reached: true };
      assert.throws(() => readAck(Ack.decode(Ack.encode(ack)), 1n), InvalidFieldError);
    };
    bad(new Uint8Array(0));
    bad(longPeerId(MAX_PEER_ID_BYTES + 1));
    bad(new Uint8Array([1, 2, 3, 4]));
    bad(new Uint8Array([1, 2, 3, 4]), MemberState.FAILED);
    const ok = readProbe(
      Probe.decode(
        Probe.encode(
          probe([{ peerId: p, state: MemberState.SUSPECT, incarnation: 0n, origin: longPeerId(MAX_PEER_ID_BYTES) }]),
        ),
      ),
    );
    assert.ok(ok.updates[0]!.origin !== undefined, "64 bytes that parse: accepted");
  });

  it("fits 8 updates with origins in 1 024 bytes beside the largest fields; the state sample gives way", async () => {
    const ids = await Promise.all(
      Array.from({ length: MAX_SYNC_ENTRIES + MAX_UPDATES_PER_MESSAGE + 1 }, () => ed25519()),
    );
    const origin = ids.at(-1)!;
    const entry = (peerId: string): MemberUpdateData => ({
      peerId,
      state: "suspect",
      incarnation: 2 ** 53 - 1,
      origin,
    });
    const msg = fitted(
      probeMessage({
        seq: 2n ** 64n - 1n,
        target: ids[0],
        incarnation: 2 ** 53 - 1,
        load: 1_000_000,
        capacity: 1_000_000,
        updates: ids.slice(0, MAX_UPDATES_PER_MESSAGE).map(entry),
        state: ids.slice(MAX_UPDATES_PER_MESSAGE, -1).map(entry),
      }),
      Probe.encode,
    );
    const bytes = Probe.encode(msg);
    assert.ok(bytes.byteLength <= MAX_HEALTH_MESSAGE_BYTES, `${bytes.byteLength} bytes`);
    assert.equal(msg.updates.length, MAX_UPDATES_PER_MESSAGE, "Ed25519 ids: all 8 updates, with origins, fit");
    assert.ok(msg.state.length >= 1, `${msg.state.length} state entries kept`);
    const back = readProbe(Probe.decode(bytes));
    assert.ok(back.updates.every((u) => u.origin === origin));
  });

  it("trims piggybacked updates (never the first) when peer ids at the 64-byte limit would overflow the body", () => {
    const u = (i: number): MemberUpdate => ({
      peerId: longPeerId(MAX_PEER_ID_BYTES, String.fromCharCode(97 + i)),
      state: MemberState.SUSPECT,
      incarnation: 2n ** 53n - 1n,
      origin: longPeerId(MAX_PEER_ID_BYTES, "z"),
    });
    const updates = Array.from({ length: MAX_UPDATES_PER_MESSAGE }, (_, i) => u(i));
    const full = probe([...updates], [u(9)]);
    assert.ok(Probe.encode(full).byteLength > MAX_HEALTH_MESSAGE_BYTES, "too large untrimmed");
    const msg = fitted(full, Probe.encode);
    assert.ok(Probe.encode(msg).byteLength <= MAX_HEALTH_MESSAGE_BYTES, `${Probe.encode(msg).byteLength} bytes`);
    assert.equal(msg.state.length, 0, "the state sample goes first");
    assert.ok(msg.updates.length >= 1 && msg.updates.length < MAX_UPDATES_PER_MESSAGE, `${msg.updates.length} kept`);
    assert.deepEqual(msg.updates, updates.slice(0, msg.updates.length), "from the end: the first stays");
  });
});

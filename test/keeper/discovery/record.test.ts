import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { generateKeyPair, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import { BanList, createLumoraNode } from "../../../keeper/p2p/index.ts";
import {
  MAX_SIGNED_RECORD_BYTES,
  PEER_RECORD_NAMESPACE,
  peerRecordKey,
  RecordError,
  signPeerRecord,
  verifyPeerRecord,
  type PeerRecordData,
} from "../../../keeper/discovery/index.ts";
import { SignedPeerRecord } from "../../../keeper/discovery/pb/peer-record.ts";
import { collectingLogger, defaultInit, startNode, waitFor, withDiscovery, type TestKeeper } from "../helpers.ts";

const now = Date.now();
const fields = (over: Partial<PeerRecordData> = {}): Omit<PeerRecordData, "peerId"> => {
  const d = defaultInit(2);
  return {
    ...d,
    capabilities: [...d.capabilities],
    seq: 5n,
    issuedAtMs: now,
    expiresAtMs: now + 60_000,
    load: 1,
    addrs: ["/ip4/127.0.0.1/tcp/4001"],
    ...over,
  };
};

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RecordError, `expected RecordError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe("peer record validation", () => {
  it("accepts a fresh record signed by the key named in the DHT key, with every field intact", async () => {
    const key = await generateKeyPair("Ed25519");
    const id = peerIdFromPrivateKey(key);
    const r = await verifyPeerRecord(peerRecordKey(id), await signPeerRecord(key, fields()));
    assert.equal(r.peerId, id.toString());
    assert.equal(r.seq, 5n);
    assert.deepEqual(r.addrs, ["/ip4/127.0.0.1/tcp/4001"]);
  });

  it("rejects malformed, oversized, unsigned, expired, far-future, mis-keyed and wrongly signed records", async () => {
    const key = await generateKeyPair("Ed25519");
    const other = await generateKeyPair("Ed25519");
    const k = peerRecordKey(peerIdFromPrivateKey(key));
    const good = await signPeerRecord(key, fields());
    const env = SignedPeerRecord.decode(good);

    await rejects(verifyPeerRecord(k, Uint8Array.from([0xff, 0xff, 0xff])), "ERR_RECORD_MALFORMED");
    await rejects(verifyPeerRecord(k, new Uint8Array(MAX_SIGNED_RECORD_BYTES + 1)), "ERR_RECORD_TOO_LARGE");
    await rejects(
      verifyPeerRecord(k, SignedPeerRecord.encode({ ...env, signature: new Uint8Array() })),
      "ERR_RECORD_UNSIGNED",
    );
    await rejects(
      verifyPeerRecord(k, await signPeerRecord(key, fields({ issuedAtMs: now - 120_000, expiresAtMs: now - 1 }))),
      "ERR_RECORD_EXPIRED",
    );
    await rejects(
      verifyPeerRecord(k, await signPeerRecord(key, fields({ expiresAtMs: now + 30 * 24 * 3600_000 }))),
      "ERR_RECORD_EXPIRY_TOO_FAR",
    );
    // Signed by another key than the one the record claims.
    const sig = await other.sign(Uint8Array.from([1, 2, 3]));
    await rejects(
      verifyPeerRecord(k, SignedPeerRecord.encode({ ...env, signature: sig as Uint8Array<ArrayBuffer> })),
      "ERR_RECORD_BAD_SIGNATURE",
    );
    await rejects(
      verifyPeerRecord(
        k,
        SignedPeerRecord.encode({ ...env, publicKey: publicKeyToProtobuf(other.publicKey) as Uint8Array<ArrayBuffer> }),
      ),
      "ERR_RECORD_KEY_MISMATCH",
    );
    // A valid record stored under another peer's key.
    await rejects(verifyPeerRecord(peerRecordKey(peerIdFromPrivateKey(other)), good), "ERR_RECORD_KEY_MISMATCH");
    // Tampered body: one flipped byte breaks the signature.
    const tampered = Uint8Array.from(env.record);
    tampered[tampered.length - 1] ^= 1;
    await rejects(
      verifyPeerRecord(k, SignedPeerRecord.encode({ ...env, record: tampered })),
      "ERR_RECORD_BAD_SIGNATURE",
    );
    await rejects(
      verifyPeerRecord(k, await signPeerRecord(key, fields({ capabilities: [] }))),
      "ERR_RECORD_INVALID_FIELD",
    );
    await rejects(verifyPeerRecord(k, await signPeerRecord(key, fields({ addrs: [] }))), "ERR_RECORD_INVALID_FIELD");
    await rejects(verifyPeerRecord(k, await signPeerRecord(key, fields({ seq: 0n }))), "ERR_RECORD_INVALID_FIELD");
    await rejects(
      verifyPeerRecord(k, await signPeerRecord(key, fields({ shard: 70_000 }))),
      "ERR_RECORD_INVALID_FIELD",
    );
  });
});

describe("DHT refuses invalid peer records", () => {
  const keepers: TestKeeper[] = [];
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
  });

  it("a forged record PUT is refused with a logged reason and the node keeps answering", async () => {
    const { log, lines } = collectingLogger();
    const victim = await startNode(log);
    // The forger's node accepts anything in our namespace, so its PUT really reaches the victim.
    const forgerKey = await generateKeyPair("Ed25519");
    const forger: TestKeeper = {
      privateKey: forgerKey,
      bans: new BanList(),
      node: await createLumoraNode({
        privateKey: forgerKey,
        validators: { [PEER_RECORD_NAMESPACE]: () => {} },
        selectors: { [PEER_RECORD_NAMESPACE]: () => 0 },
      }),
    };
    keepers.push(victim, forger);
    await forger.node.dial(victim.node.getMultiaddrs()[0]);
    await waitFor(() => forger.node.getPeers().length > 0, 15_000, "connection");
    // The forger signs a record claiming to be the victim.
    const forged = await signPeerRecord(forger.privateKey, fields());
    const events: string[] = [];
    try {
      for await (const ev of forger.node.services.dht.put(peerRecordKey(victim.node.peerId), forged, {
        signal: AbortSignal.timeout(5000),
      })) {
        events.push(ev.name);
      }
    } catch {
      // the victim refuses to store it: the PUT may error
    }
    await waitFor(
      () => lines.some((l) => l.msg === "peer record rejected"),
      15_000,
      "victim to reject the forged record",
    );
    const rejection = lines.find((l) => l.msg === "peer record rejected");
    assert.equal(rejection?.code, "ERR_RECORD_KEY_MISMATCH");
    assert.ok(victim.node.status === "started");
    // The victim still serves its real record and pings.
    const d = withDiscovery(victim, defaultInit(0), log);
    await d.publish();
    const f = withDiscovery(forger, defaultInit(1));
    const got = await f.fetchRecord(victim.node.peerId);
    assert.equal(got.peerId, victim.node.peerId.toString());
    assert.ok((await forger.node.services.ping.ping(victim.node.peerId)) >= 0);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Probe } from "../../../keeper/health/pb/health.ts";
import {
  encodeVarint,
  frame,
  MalformedMessageError,
  MessageTooLargeError,
  readFrame,
  readMessage,
  UnexpectedEofError,
} from "../../../keeper/wire/index.ts";

async function* chunks(...parts: number[][]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Uint8Array.from(p);
}

describe("wire framing", () => {
  it("encodes lengths as minimal unsigned LEB128", () => {
    assert.deepEqual([...encodeVarint(0)], [0]);
    assert.deepEqual([...encodeVarint(127)], [0x7f]);
    assert.deepEqual([...encodeVarint(300)], [0xac, 0x02]);
  });

  it("reads several messages split and merged arbitrarily across chunks", async () => {
    const m1 = frame(
      Probe.encode({ seq: 1n, target: new Uint8Array(0), incarnation: 5n, load: 1, capacity: 2, updates: [] }),
    );
    const m2 = frame(
      Probe.encode({ seq: 2n, target: new Uint8Array(0), incarnation: 6n, load: 0, capacity: 2, updates: [] }),
    );
    const all = [...m1, ...m2];
    const src = chunks(all.slice(0, 1), all.slice(1, m1.length + 2), all.slice(m1.length + 2));
    assert.equal((await readMessage<Probe>(src, Probe, 64)).seq, 1n);
    assert.equal((await readMessage<Probe>(src, Probe, 64)).seq, 2n);
    assert.equal(await readFrame(src, 64), undefined);
  });

  it("rejects an oversized length before reading the body, bad prefixes, garbage and truncation", async () => {
    await assert.rejects(readFrame(chunks([...encodeVarint(65)]), 64), MessageTooLargeError);
    await assert.rejects(readFrame(chunks([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 64), MalformedMessageError);
    await assert.rejects(readFrame(chunks([0x81, 0x00]), 64), MalformedMessageError);
    await assert.rejects(readMessage(chunks([2, 0xff, 0xff]), Probe, 64), MalformedMessageError);
    await assert.rejects(readFrame(chunks([5, 1, 2]), 64), UnexpectedEofError);
  });

  it("honours an abort signal while waiting for bytes", async () => {
    const never: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) };
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("gave up")), 50); // a ref'd timer: AbortSignal.timeout would let the loop exit
    await assert.rejects(readFrame(never, 64, { signal: ctl.signal }), /gave up/);
  });
});

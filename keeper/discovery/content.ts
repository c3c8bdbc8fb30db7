/**
 * Tasks and content objects are discoverable through DHT provider records. Their CIDs are derived from
 * the task/object id: CIDv1, raw codec (0x55), sha2-256 multihash of the id's UTF-8 bytes.
 */
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";

export type ContentKind = "task" | "object";

/** CID of a task or object id; the kind is part of the hashed bytes so a task and an object never collide. */
export async function contentCid(kind: ContentKind, id: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`lumora:${kind}:${id}`)));
}

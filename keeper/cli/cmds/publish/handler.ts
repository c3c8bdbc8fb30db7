import { statSync } from "node:fs";
import { resolve } from "node:path";

import type { StatusView } from "../../../api/index.ts";
import { apiToken, apiUrl, getJson, postJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { EXIT_OK, UsageError } from "../../errors.ts";
import { bytes } from "../../format.ts";
import { PUBLISH_TIMEOUT_MS } from "../../constants.ts";

interface Published {
  objectId: string;
  cid: string;
  size: number;
  parts: number;
  announced: boolean;
}

export async function publishHandler(values: Values, positionals: string[], io: Output): Promise<number> {
  // The keeper's API answers loopback only, so it shares this host's files: resolve the path here.
  const path = resolve(positionals[0]!);
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`publish: no such file: ${path}`, "publish");
  }
  if (!isFile) throw new UsageError(`publish: not a regular file: ${path}`, "publish");
  const base = apiUrl(values);
  const token = apiToken(values);
  const r = await postJson<Published>(
    base,
    "/api/publish",
    { path },
    { token, command: "publish", timeoutMs: PUBLISH_TIMEOUT_MS },
  );
  if (values.json) return (io.out(JSON.stringify(r, null, 2)), EXIT_OK);
  io.out(`published ${r.objectId}`);
  io.out(`  cid        ${r.cid}`);
  io.out(`  size       ${r.size} bytes (${bytes(r.size)}), ${r.parts} parts`);
  io.out(`  announced  ${r.announced ? "yes (DHT provider record)" : "no (served to peers that name this keeper)"}`);
  const status = await getJson<StatusView>(base, "/api/status").catch(() => undefined);
  const provider = status?.addresses[0] ?? "<this keeper's address>";
  io.out(`fetch it through another keeper with:`);
  io.out(`  lumora-keeper transfer ${r.objectId} --size ${r.size} --provider ${provider} --wait`);
  return EXIT_OK;
}

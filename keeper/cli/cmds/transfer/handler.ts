import type { TaskView } from "../../../api/index.ts";
import { apiToken, apiUrl, getJson, postJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { WAIT_POLL_MS, WRITE_TIMEOUT_MS } from "../../constants.ts";
import { CliError, EXIT_OK, UsageError } from "../../errors.ts";
import { bytes, shortId } from "../../format.ts";

const OPEN = new Set(["queued", "assigned", "running"]);

function line(t: TaskView, startedAt: number): string {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(0);
  const where = t.executor !== null ? ` on ${shortId(t.executor)}` : "";
  return `task ${t.id}: ${t.status}${where}, attempt ${Math.max(1, t.attempts)}, ${seconds} s`;
}

/** Polls the task until it ends: one line redrawn on a terminal, a line per change otherwise. */
async function follow(base: string, id: string, io: Output): Promise<TaskView> {
  const startedAt = Date.now();
  let last = "";
  for (;;) {
    const t = await getJson<TaskView>(base, `/api/tasks/${encodeURIComponent(id)}`);
    const text = line(t, startedAt);
    if (io.isTTY) io.raw(`\r\x1b[2K${text}`);
    else if (`${t.status} ${t.executor} ${t.attempts}` !== last) io.err(text);
    last = `${t.status} ${t.executor} ${t.attempts}`;
    if (!OPEN.has(t.status)) {
      if (io.isTTY) io.raw("\n");
      return t;
    }
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

export async function transferHandler(values: Values, positionals: string[], io: Output): Promise<number> {
  const objectId = positionals[0]!;
  const sizeText = values.size as string | undefined;
  if (sizeText === undefined) throw new UsageError("transfer: --size <bytes> is required", "transfer");
  if (!/^[1-9]\d*$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw new UsageError(`transfer: --size: must be a positive whole number of bytes, not "${sizeText}"`, "transfer");
  const providers = (values.provider as string[] | undefined) ?? [];
  if (providers.length === 0)
    throw new UsageError("transfer: at least one --provider <multiaddr> is required", "transfer");
  const base = apiUrl(values);
  const { id } = await postJson<{ id: string }>(
    base,
    "/api/transfers",
    { objectId, size: Number(sizeText), providers },
    { token: apiToken(values), command: "transfer", timeoutMs: WRITE_TIMEOUT_MS },
  );
  if (!values.wait) {
    if (values.json) io.out(JSON.stringify({ id }));
    else io.out(`task ${id} queued (follow it with \`lumora-keeper tasks --watch\`)`);
    return EXIT_OK;
  }
  const t = await follow(base, id, io);
  if (values.json) io.out(JSON.stringify(t, null, 2));
  if (t.status !== "succeeded") throw new CliError(`task ${id} ${t.status}: ${t.reason ?? "no reason recorded"}`);
  if (!values.json)
    io.out(
      `task ${id} succeeded: ${bytes(t.bytes ?? t.size)} fetched by ${t.executor ?? "?"} in ${t.attempts} attempt(s)`,
    );
  return EXIT_OK;
}

import type { TasksView, TransfersView } from "../../../api/index.ts";
import { apiUrl, getJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { EXIT_OK } from "../../errors.ts";
import { bytes, shortId, table } from "../../format.ts";
import { progress, type Progress } from "../../progress.ts";

type Body = TasksView & { transfers: TransfersView };

function print(body: Body, io: Output): void {
  const t = body.byState;
  io.out(
    `${t.queued} queued, ${t.assigned} assigned, ${t.running} running, ${t.succeeded} succeeded, ${t.failed} failed, ${t.expired} expired; ${body.reassigned} reassigned (${body.reassignments} extra attempts)`,
  );
  if (body.recent.length > 0) {
    io.out(
      table(
        ["TASK", "STATUS", "EXECUTOR", "ATTEMPTS", "SIZE", "MOVED"],
        body.recent.map((k) => [k.id, k.status, shortId(k.executor), k.attempts, bytes(k.size), bytes(k.bytes)]),
      ),
    );
  }
  const items = body.transfers.items;
  if (items.length > 0) {
    io.out("");
    io.out(
      table(
        ["OBJECT", "KIND", "SIZE", "PARTS", "PROGRESS"],
        items.map((x) => [
          shortId(x.objectId),
          x.kind,
          bytes(x.size),
          `${x.partsDone}/${x.parts}`,
          `${x.parts ? Math.round((100 * x.partsDone) / x.parts) : 100}%`,
        ]),
      ),
    );
  }
}

/** Follows downloads in flight with a progress bar each until no task or download is left open. */
async function watch(base: string, io: Output): Promise<Body> {
  const bars = new Map<string, Progress>();
  for (;;) {
    const body = await getJson<Body>(base, "/api/tasks");
    for (const x of body.transfers.items) {
      if (x.kind !== "download") continue;
      let bar = bars.get(x.objectId);
      if (bar === undefined && x.completed) continue;
      if (bar === undefined)
        bars.set(x.objectId, (bar = progress(io, `transfer ${shortId(x.objectId)}`, x.parts, "parts")));
      bar.update(x.partsDone, x.parts);
      if (x.completed) bar.finish(bytes(x.size));
    }
    const open = body.byState.queued + body.byState.assigned + body.byState.running;
    const downloading = body.transfers.items.some((x) => x.kind === "download" && !x.completed);
    if (open === 0 && !downloading) return body;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function tasksHandler(values: Values, _p: string[], io: Output): Promise<number> {
  const base = apiUrl(values);
  const body = values.watch ? await watch(base, io) : await getJson<Body>(base, "/api/tasks");
  if (values.json) io.out(JSON.stringify(body, null, 2));
  else print(body, io);
  return EXIT_OK;
}

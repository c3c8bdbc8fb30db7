import type { EpochView } from "../../../api/index.ts";
import { apiUrl, getJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { EXIT_OK } from "../../errors.ts";
import { table } from "../../format.ts";

export async function epochsHandler(values: Values, _p: string[], io: Output): Promise<number> {
  const body = await getJson<{ epoch: number; epochs: EpochView[] }>(apiUrl(values), "/api/epochs");
  if (values.json) return (io.out(JSON.stringify(body, null, 2)), EXIT_OK);
  io.out(`current epoch: ${body.epoch}`);
  if (body.epochs.length === 0) return (io.out("no epochs closed or published yet"), EXIT_OK);
  io.out(
    table(
      ["EPOCH", "STATUS", "TASKS", "REWARD", "TASKLOG TX", "REWARDPOOL TX"],
      body.epochs.map((e) => [
        e.epoch,
        e.claimable === true ? "claimable" : e.claimable === false ? "pending" : e.status,
        e.tasks ?? "-",
        e.rewardTotal ?? "-",
        e.transactions?.taskLog ?? "-",
        e.transactions?.rewardPool ?? "-",
      ]),
    ),
  );
  return EXIT_OK;
}

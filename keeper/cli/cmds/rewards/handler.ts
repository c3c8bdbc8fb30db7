import type { RewardView } from "../../../api/index.ts";
import { apiUrl, getJson } from "../../client.ts";
import type { Output, Values } from "../../command.ts";
import { EXIT_OK } from "../../errors.ts";
import { table } from "../../format.ts";

export async function rewardsHandler(values: Values, _p: string[], io: Output): Promise<number> {
  const body = await getJson<{ account: string; rewards: RewardView[] }>(apiUrl(values), "/api/rewards");
  if (values.json) return (io.out(JSON.stringify(body, null, 2)), EXIT_OK);
  if (body.rewards.length === 0) return (io.out(`no rewards for ${body.account} in the published epochs yet`), EXIT_OK);
  io.out(`rewards of ${body.account} (claim with the Hardhat claim tasks):`);
  io.out(
    table(
      ["EPOCH", "CONTRIBUTION", "AMOUNT"],
      body.rewards.map((r) => [r.epoch, r.contribution, r.amount ?? "-"]),
    ),
  );
  return EXIT_OK;
}

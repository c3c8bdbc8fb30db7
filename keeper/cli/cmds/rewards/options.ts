import { QUERY_OPTIONS, type Options } from "../../command.ts";

export const rewardsOptions: Options = { ...QUERY_OPTIONS };

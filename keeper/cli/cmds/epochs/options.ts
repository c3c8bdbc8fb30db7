import { QUERY_OPTIONS, type Options } from "../../command.ts";

export const epochsOptions: Options = { ...QUERY_OPTIONS };

import { QUERY_OPTIONS, type Options } from "../../command.ts";

export const peersOptions: Options = { ...QUERY_OPTIONS };

import { QUERY_OPTIONS, type Options } from "../../command.ts";

export const statusOptions: Options = { ...QUERY_OPTIONS };

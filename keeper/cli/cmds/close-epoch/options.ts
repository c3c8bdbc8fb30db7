import { WRITE_OPTIONS, type Options } from "../../command.ts";

export const closeEpochOptions: Options = { ...WRITE_OPTIONS };

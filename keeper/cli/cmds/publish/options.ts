import { WRITE_OPTIONS, type Options } from "../../command.ts";

export const publishOptions: Options = { ...WRITE_OPTIONS };

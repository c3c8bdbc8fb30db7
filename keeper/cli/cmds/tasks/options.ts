import { QUERY_OPTIONS, type Options } from "../../command.ts";

export const tasksOptions: Options = {
  ...QUERY_OPTIONS,
  watch: { type: "boolean", short: "w", describe: "follow transfers in flight with progress bars until they finish" },
};

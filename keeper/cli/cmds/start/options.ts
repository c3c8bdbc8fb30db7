/** `start` flags: --config plus one flag per config field (`api.port` → --api-port), generated from the schema. */
import { flagName, LEAVES } from "../../../config/index.ts";
import { COMMON_OPTIONS, type Options } from "../../command.ts";

const fieldOptions: Options = Object.fromEntries(
  Object.entries(LEAVES).map(([field, kind]) => [
    flagName(field),
    {
      type: "string" as const,
      arg: kind === "list" ? "a,b" : kind === "boolean" ? "true|false" : kind,
      describe: `sets ${field}`,
    },
  ]),
);

export const startOptions: Options = {
  ...COMMON_OPTIONS,
  config: {
    type: "string",
    short: "c",
    arg: "file",
    describe: "config file (default LUMORA_CONFIG, else ./lumora.config.json)",
  },
  ...fieldOptions,
};

/** Flag values keyed by config field, for loadConfig. */
export function fieldFlags(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(LEAVES)) {
    const value = values[flagName(field)];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

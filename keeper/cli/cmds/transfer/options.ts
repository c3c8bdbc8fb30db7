import { WRITE_OPTIONS, type Options } from "../../command.ts";

export const transferOptions: Options = {
  ...WRITE_OPTIONS,
  size: { type: "string", arg: "bytes", describe: "the object's size in bytes (as `publish` printed it)" },
  provider: {
    type: "string",
    multiple: true,
    arg: "multiaddr",
    describe: "a keeper serving the object: its multiaddr ending in /p2p/<peer id>",
  },
  wait: { type: "boolean", short: "w", describe: "follow the task with a progress line until it ends" },
};

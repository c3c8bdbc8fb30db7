/**
 * Progress of long work (a transfer's parts, tree building) for a person at a terminal: a bar redrawn in place
 * on a TTY, a line per quarter otherwise (logs and CI). CLI only: library code reports numbers, never draws.
 */
import type { Output } from "./command.ts";

export interface Progress {
  update(done: number, total?: number): void;
  finish(message?: string): void;
}

const WIDTH = 24;

export function progress(io: Output, label: string, total: number, unit = ""): Progress {
  let lastQuarter = -1;
  let finished = false;
  let current = 0;
  const line = (done: number) => {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(ratio * WIDTH);
    const bar = "█".repeat(filled) + "░".repeat(WIDTH - filled);
    return `${label} ${bar} ${String(Math.floor(ratio * 100)).padStart(3)}% ${done}/${total}${unit ? " " + unit : ""}`;
  };
  return {
    update(done, newTotal) {
      if (finished) return;
      if (newTotal !== undefined) total = newTotal;
      current = done;
      if (io.isTTY) {
        io.raw(`\r\x1b[2K${line(done)}`);
        return;
      }
      const quarter = total > 0 ? Math.floor((4 * done) / total) : 4;
      if (quarter !== lastQuarter) {
        lastQuarter = quarter;
        io.err(line(done));
      }
    },
    finish(message) {
      if (finished) return;
      finished = true;
      if (io.isTTY) io.raw(`\r\x1b[2K${line(Math.max(current, total))}${message ? "  " + message : ""}\n`);
      else io.err(`${line(Math.max(current, total))}${message ? "  " + message : ""}`);
    },
  };
}

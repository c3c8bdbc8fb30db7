/**
 * The strict epoch cron check (keeper/config/cron.ts): what it accepts node-cron runs as written, and what it
 * refuses (out-of-range values and steps, node-cron's lax forms) names the field and the reason.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import cron from "node-cron";

import { cronProblem } from "../../../keeper/config/cron.ts";

const ACCEPTED = [
  "0 0 * * * *",
  "* * * * * *",
  "*/59 * * * * *",
  "0 */5 * * *",
  "0 0 */23 * * *",
  "0 0 0 1-31/30 * *",
  "0 0 0 * */11 *",
  "0 0 * * */6",
  "0,15,30,45 * * * *",
  "0 9-17/2 * * mon-fri",
  "0 0 * * 7",
  "0 0 * * 0-7",
  "0 0 1 jan,Jul *",
  "0 0 1 January-march *",
  "30 2 * * Sunday",
  "0 0 29 feb *",
  "  5 4  * * *  ",
  "0 0 1-5,10-15/5 * *",
];

const REFUSED: Array<[string, RegExp]> = [
  ["*/61 * * * * *", /^seconds field "\*\/61": step 61 .* outside 1-59/],
  ["*/60 * * * * *", /^seconds field .*step 60/],
  ["*/0 * * * * *", /^seconds field .*step 0 .* outside 1-59/],
  ["60 * * * * *", /^seconds field "60": 60 is outside 0-59/],
  ["0 60 * * * *", /^minutes field "60": 60 is outside 0-59/],
  ["0 24 * * *", /^hours field "24": 24 is outside 0-23/],
  ["0 0 */24 * * *", /^hours field .*step 24 .* outside 1-23/],
  ["0 0 0 0 * *", /^day of month field "0": 0 is outside 1-31/],
  ["0 0 32 * *", /^day of month field "32"/],
  ["0 0 */31 * *", /^day of month field .*step 31 .* outside 1-30/],
  ["0 0 1 13 *", /^month field "13": 13 is outside 1-12/],
  ["0 0 1 0 *", /^month field "0"/],
  ["0 0 1 */12 *", /^month field .*step 12 .* outside 1-11/],
  ["0 0 1 foo *", /^month field "foo": "foo" is not a value \(expected 1-12, or a name such as jan\)/],
  ["0 0 * * 8", /^day of week field "8": 8 is outside 0-7/],
  ["0 0 * * */7", /^day of week field .*step 7 .* outside 1-6/],
  ["0 0 * * funday", /^day of week field "funday"/],
  ["0 0 * * fri-mon", /^day of week field "fri-mon": range "fri-mon" runs backwards/],
  ["0 22-2 * * *", /^hours field "22-2": range "22-2" runs backwards/],
  ["0 5/15 * * *", /^hours field "5\/15": a step needs \* or a range/],
  ["0 */2/3 * * *", /^hours field .*more than one step/],
  ["0 1-2-3 * * *", /^hours field .*is not a range/],
  ["0 1, * * *", /^hours field "1," has an empty list item/],
  ["0 */x * * *", /^hours field .*step "x" .* is not a number/],
  ["0 0 31 2 *", /^day of month "31" never occurs in month "2"/],
  ["0 0 30,31 feb *", /never occurs/],
  ["* * * *", /^has 4 fields; expected 5 .* or 6/],
  ["* * * * * * *", /^has 7 fields/],
  ["@hourly", /^may only hold/],
  ["0 0 L * *", /^day of month field "L"/],
  ["0 0 ? * *", /^may only hold/],
  ["0 0 * * 1#2", /^may only hold/],
  ["0\t0 * * *", /^may only hold/],
  ["", /^is empty/],
];

describe("config/cron", () => {
  it("accepts fields within range, names, lists, ranges and steps — and node-cron accepts them too", () => {
    for (const expression of ACCEPTED) {
      assert.equal(cronProblem(expression), undefined, `accepts "${expression}"`);
      assert.equal(cron.validate(expression), true, `node-cron accepts "${expression}"`);
    }
  });

  it("refuses out-of-range values and steps and lax forms, naming the field and the reason", () => {
    for (const [expression, reason] of REFUSED) {
      const problem = cronProblem(expression);
      assert.ok(problem !== undefined, `refuses "${expression}"`);
      assert.match(problem, reason, `reason for "${expression}"`);
    }
  });

  it("refuses what node-cron's own validate lets through", () => {
    for (const expression of ["*/61 * * * * *", "0 0 */99 * *", "0 22-2 * * *"]) {
      assert.equal(cron.validate(expression), true, `node-cron is lax on "${expression}"`);
      assert.notEqual(cronProblem(expression), undefined, `we refuse "${expression}"`);
    }
  });
});

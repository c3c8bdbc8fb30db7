/**
 * Strict check of an epoch cron expression, for the config schema (`epochs.cron`). node-cron's own `validate`
 * accepts expressions that do not mean what they say (`*\/61` in the seconds field silently becomes "second 0"),
 * so the configuration is checked here against a small grammar first; anything this accepts, node-cron accepts.
 *
 * Grammar: 5 fields (minute precision) or 6 (seconds first), separated by spaces. Each field is a list
 * `item[,item…]`, an item is `*`, a value `v` or a range `a-b` (a ≤ b), and `*` or a range may take a step
 * `/s`. Values per field: seconds 0-59, minutes 0-59, hours 0-23, day of month 1-31, month 1-12 or
 * jan…dec / january…december, day of week 0-7 (0 and 7 are Sunday) or sun…sat / sunday…saturday; names are
 * case-insensitive. A step must be ≥ 1 and at most the field's span (59 for seconds, 23 for hours, 30 for
 * days of month, 11 for months, 6 for days of week): a larger one selects only the first value. node-cron's
 * extensions (`?`, `L`, `W`, `#`, nicknames such as `@hourly`, wrap-around ranges) are not accepted.
 * No I/O: every case is a unit test (test/keeper/config/cron.test.ts).
 */

interface Field {
  name: string;
  min: number;
  max: number;
  /** Largest meaningful step: the span of distinct values (day of week: 0-6, 7 being Sunday again). */
  maxStep: number;
  names?: readonly string[];
  /** Index of the first name's value. */
  namesFrom?: number;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const MONTH_NAMES = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
] as const;
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;

const SECONDS: Field = { name: "seconds", min: 0, max: 59, maxStep: 59 };
const MINUTES: Field = { name: "minutes", min: 0, max: 59, maxStep: 59 };
const HOURS: Field = { name: "hours", min: 0, max: 23, maxStep: 23 };
const DAY_OF_MONTH: Field = { name: "day of month", min: 1, max: 31, maxStep: 30 };
const MONTH: Field = { name: "month", min: 1, max: 12, maxStep: 11, names: [...MONTHS, ...MONTH_NAMES] };
const DAY_OF_WEEK: Field = { name: "day of week", min: 0, max: 7, maxStep: 6, names: [...DAYS, ...DAY_NAMES] };

/** Days in each month (February: 29, so that a leap day is allowed). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function nameValue(field: Field, text: string): number | undefined {
  const i = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (i < 0) return undefined;
  // Months: short names 0-11 then long names 12-23, both → 1-12. Days: 0-6 then 7-13, both → 0-6.
  return field === MONTH ? (i % 12) + 1 : i % 7;
}

/** A value of the field (number or name), or a message saying why it is not one. */
function value(field: Field, text: string): number | string {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    return n < field.min || n > field.max ? `${n} is outside ${field.min}-${field.max}` : n;
  }
  const named = nameValue(field, text);
  if (named !== undefined) return named;
  const hint = field.names ? `, or a name such as ${field.names[0]}` : "";
  return `"${text}" is not a value (expected ${field.min}-${field.max}${hint})`;
}

/** Checks one item of a field's list; returns its values or a message. */
function item(field: Field, text: string): number[] | string {
  const [base, stepText, ...extra] = text.split("/");
  if (extra.length > 0) return `"${text}" has more than one step`;
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText)) return `step "${stepText}" in "${text}" is not a number`;
    step = Number(stepText);
    if (step < 1 || step > field.maxStep) return `step ${step} in "${text}" is outside 1-${field.maxStep}`;
  }
  let from: number;
  let to: number;
  if (base === "*") {
    [from, to] = [field.min, field === DAY_OF_WEEK ? 6 : field.max];
  } else if (base!.includes("-")) {
    const [a, b, ...more] = base!.split("-");
    if (more.length > 0 || a === "" || b === "") return `"${text}" is not a range a-b`;
    const start = value(field, a!);
    if (typeof start === "string") return start;
    const end = value(field, b!);
    if (typeof end === "string") return end;
    if (start > end) return `range "${base}" runs backwards (write it as two ranges, e.g. ${b}-…,…-${a})`;
    [from, to] = [start, end];
  } else {
    if (stepText !== undefined) return `a step needs * or a range before it ("${text}")`;
    const v = value(field, base!);
    if (typeof v === "string") return v;
    [from, to] = [v, v];
  }
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

function field(f: Field, text: string): number[] | string {
  const values: number[] = [];
  for (const part of text.split(",")) {
    if (part === "") return `${f.name} field "${text}" has an empty list item`;
    const r = item(f, part);
    if (typeof r === "string") return `${f.name} field "${text}": ${r}`;
    values.push(...r);
  }
  return values;
}

/**
 * Why `expression` is not an acceptable epoch schedule, or undefined when it is.
 * Messages name the field: `seconds field "*\/61": step 61 in "*\/61" is outside 1-59`.
 */
export function cronProblem(expression: string): string | undefined {
  if (expression.trim() === "") return "is empty (e.g. 0 0 * * * * for hourly)";
  if (!/^[A-Za-z0-9*,/\- ]+$/.test(expression))
    return "may only hold digits, names, spaces and * , - / (node-cron's ? L W # and @nicknames are not accepted)";
  const parts = expression.trim().split(/ +/);
  if (parts.length !== 5 && parts.length !== 6)
    return `has ${parts.length} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`;
  const fields =
    parts.length === 6
      ? [SECONDS, MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK]
      : [MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];
  const values: number[][] = [];
  for (const [i, f] of fields.entries()) {
    const r = field(f, parts[i]!);
    if (typeof r === "string") return r;
    values.push(r);
  }
  const [days, months] = values.slice(-3, -1) as [number[], number[]];
  if (!months.some((m) => days.some((d) => d <= MONTH_DAYS[m - 1]!)))
    return `day of month "${parts.at(-3)}" never occurs in month "${parts.at(-2)}"`;
  return undefined;
}

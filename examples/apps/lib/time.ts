/**
 * Event time for the applications: generated events carry simulated
 * timestamps that start at {@link EPOCH_MS}, so a run is the same whatever
 * the wall clock says; durations are written as people write them ("90s",
 * "5m", "2h"); times print in UTC with dayjs.
 *
 * @module
 */
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc.js";

dayjs.extend(utc);

/**
 * Where the generators' simulated time starts: 2026-01-01T00:00:00Z.
 *
 * @example
 * ```ts
 * const firstEventAt = EPOCH_MS + 1500; // 1.5 s into the simulation
 * ```
 */
export const EPOCH_MS: number = Date.UTC(2026, 0, 1);

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds in a duration written as `<number><unit>` (unit `ms`, `s`,
 * `m`, `h` or `d`) or as plain milliseconds; parts may be chained ("1h30m").
 * Throws a `RangeError` naming the text when it is not one.
 *
 * @example
 * ```ts
 * parseDuration("5m"); // 300000
 * parseDuration("1h30m"); // 5400000
 * parseDuration("250"); // 250
 * ```
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    ms += Number(m[1]) * UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0 || at !== t.length) {
    throw new RangeError(`"${text}" is not a duration (write e.g. 90s, 5m, 2h, 1h30m, or milliseconds)`);
  }
  return ms;
}

/**
 * A short UTC time of day for the live views ("00:05:10"), or with the day
 * when `withDate` ("2026-01-01 00:05:10").
 *
 * @example
 * ```ts
 * formatTime(EPOCH_MS + 310_000); // "00:05:10"
 * ```
 */
export function formatTime(ms: number, withDate = false): string {
  return dayjs.utc(ms).format(withDate ? "YYYY-MM-DD HH:mm:ss" : "HH:mm:ss");
}

/**
 * A duration for people: "850 ms", "12.5 s", "4 min 10 s", "2 h 5 min".
 *
 * @example
 * ```ts
 * formatDuration(250_000); // "4 min 10 s"
 * ```
 */
export function formatDuration(ms: number): string {
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const sign = ms < 0 ? "-" : "";
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)} min ${Math.round((a % 60_000) / 1000)} s`;
  return `${sign}${Math.floor(a / 3_600_000)} h ${Math.round((a % 3_600_000) / 60_000)} min`;
}

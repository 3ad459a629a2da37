/**
 * The ETL's domain, as pure functions shared by the topology
 * (`examples/apps/etl.ts`) and the offline reference (`offline.ts`), so
 * that the engine check compares the engine, not two implementations.
 *
 * A raw event is the bytes a sensor gateway published: JSON such as
 *
 *     {"id":"ev-1-0000042","device":"tm-0007","kind":"temperature","value":39.2,"unit":"F","ts":1767225731.25,"battery":81}
 *
 * {@link processEvent} takes it through three steps:
 * 1. validate: UTF-8 JSON ({@link RawReading}, a zod schema: field types,
 *    required fields, a unit known for the kind, a timestamp in a known
 *    format and a plausible year), then the value's range in canonical units;
 * 2. normalise: the timestamp (epoch seconds or ms, ISO 8601 with `Z` or an
 *    offset, or a gateway's `YYYY-MM-DD HH:mm:ss` in UTC) to epoch ms and an
 *    ISO string with dayjs; the value to a canonical unit (°C, %, kPa, kg);
 * 3. enrich: the device's site and owner from the {@link ReferenceTable}
 *    (kept in a NATS KV bucket, one key per device), as of the event's time.
 *
 * A record that fails a step becomes a dead letter with a
 * {@link ReasonCode} and a human-readable detail.
 *
 * The reference table is a slowly changing dimension: a device's value
 * holds its whole assignment history (`{"assignments":[{"from":ISO,"site",
 * "owner"}, …]}`), and an event is enriched with the assignment in force at
 * its own event time. A live update (a device moved to another site)
 * appends an assignment; events before its `from` keep the old site even
 * when they are processed (or replayed after a failure) later, so the
 * result does not depend on when the update reached the running tasks, as
 * long as it did before the first event at or after its `from`.
 *
 * @module
 */
import { z } from "zod";
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc.js";
import customParseFormat from "dayjs/plugin/customParseFormat.js";

dayjs.extend(utc);
dayjs.extend(customParseFormat);

/** What a sensor measures. */
export const KINDS = ["temperature", "humidity", "pressure", "weight"] as const;
/** A sensor kind. */
export type Kind = (typeof KINDS)[number];

/** Per kind: the canonical unit, and each accepted unit's conversion into it. */
export const UNITS: Readonly<
  Record<Kind, { canonical: string; from: Readonly<Record<string, (v: number) => number>> }>
> = {
  temperature: {
    canonical: "°C",
    from: { C: (v) => v, F: (v) => ((v - 32) * 5) / 9, K: (v) => v - 273.15 },
  },
  humidity: { canonical: "%", from: { "%": (v) => v, ratio: (v) => v * 100 } },
  pressure: {
    canonical: "kPa",
    from: { kPa: (v) => v, hPa: (v) => v / 10, bar: (v) => v * 100, psi: (v) => v * 6.894757293168361 },
  },
  weight: {
    canonical: "kg",
    from: { kg: (v) => v, g: (v) => v / 1000, lb: (v) => v * 0.45359237, oz: (v) => v * 0.028349523125 },
  },
};

/** Plausible values per kind, in canonical units (inclusive). */
export const RANGES: Readonly<Record<Kind, readonly [number, number]>> = {
  temperature: [-60, 150],
  humidity: [0, 100],
  pressure: [0, 1500],
  weight: [0, 2000],
};

/** Timestamps outside [2020, 2100) are a device whose clock was never set (or a bug). */
export const MIN_TS = Date.UTC(2020, 0, 1);
export const MAX_TS = Date.UTC(2100, 0, 1);

/** Why a record went to the dead-letter stream. */
export type ReasonCode =
  | "bad_json"
  | "missing_field"
  | "wrong_type"
  | "bad_unit"
  | "bad_timestamp"
  | "out_of_range"
  | "unknown_device";

/** Every reason, for reports. */
export const REASONS: readonly ReasonCode[] = [
  "bad_json",
  "missing_field",
  "wrong_type",
  "bad_unit",
  "bad_timestamp",
  "out_of_range",
  "unknown_device",
];

const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;
const GATEWAY_TS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** Below this a numeric timestamp is epoch seconds, above it epoch ms (1e11 s is the year 5138, 1e11 ms 1973). */
const SECONDS_BELOW = 1e11;

/**
 * A reported timestamp as epoch ms, or why it cannot be one. Numbers are
 * epoch seconds (fractions allowed) or epoch ms; strings ISO 8601 with `Z`
 * or an offset (`2026-01-01T01:00:00.250+01:00`), or `YYYY-MM-DD HH:mm:ss`
 * in UTC (strict: `2026-02-30 10:00:00` is refused).
 *
 * @example
 * ```ts
 * parseTimestamp(1767225600.25); // 1767225600250
 * parseTimestamp("2026-01-01T01:00:00+01:00"); // 1767225600000
 * parseTimestamp("2026-01-01 00:00:00"); // 1767225600000
 * parseTimestamp("yesterday"); // 'unknown timestamp format "yesterday"'
 * ```
 */
export function parseTimestamp(ts: number | string): number | string {
  let ms: number;
  if (typeof ts === "number") {
    if (!Number.isFinite(ts)) return `timestamp ${ts} is not a number`;
    ms = ts < SECONDS_BELOW ? Math.round(ts * 1000) : Math.round(ts);
  } else if (ISO_TS.test(ts)) {
    const d = dayjs(ts);
    if (!d.isValid()) return `invalid date "${ts}"`;
    ms = d.valueOf();
  } else if (GATEWAY_TS.test(ts)) {
    const d = dayjs.utc(ts, "YYYY-MM-DD HH:mm:ss", true);
    if (!d.isValid()) return `invalid date "${ts}"`;
    ms = d.valueOf();
  } else return `unknown timestamp format ${JSON.stringify(ts.length > 40 ? `${ts.slice(0, 40)}…` : ts)}`;
  if (Number.isNaN(ms)) return `invalid date ${JSON.stringify(ts)}`;
  if (ms < MIN_TS || ms >= MAX_TS) {
    return `timestamp ${JSON.stringify(ts)} is ${
      dayjs.utc(ms).format("YYYY-MM-DD")
    }, outside 2020…2099 (clock not set?)`;
  }
  return ms;
}

/**
 * A raw reading as gateways send it: the zod schema that validates the
 * structure (types, required fields, a unit known for the kind, a
 * timestamp that parses) and turns the timestamp into epoch ms.
 */
export const RawReading = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "an id of 1-64 letters, digits, _ . : -"),
  device: z.string().regex(/^[a-z]{2}-\d{4}$/, "a device id such as tm-0042"),
  kind: z.enum(KINDS),
  value: z.number(),
  unit: z.string(),
  ts: z.union([z.number(), z.string()]).transform((ts, ctx) => {
    const ms = parseTimestamp(ts);
    if (typeof ms === "string") {
      ctx.addIssue({ code: "custom", message: ms, params: { reason: "bad_timestamp" } });
      return z.NEVER;
    }
    return ms;
  }),
  battery: z.number().int().min(0).max(100).optional(),
}).superRefine((r, ctx) => {
  const units = UNITS[r.kind] as (typeof UNITS)[Kind] | undefined; // undefined only when kind failed too
  if (units !== undefined && !Object.hasOwn(units.from, r.unit)) {
    ctx.addIssue({
      code: "custom",
      path: ["unit"],
      message: `unknown unit ${JSON.stringify(r.unit)} for ${r.kind} (one of ${Object.keys(units.from).join(", ")})`,
      params: { reason: "bad_unit" },
    });
  }
});

/** A reading that passed {@link RawReading}. */
export type ValidReading = z.output<typeof RawReading>;

/** One assignment of a device to a site and an owner, in force from `from` (ISO 8601). */
export const Assignment = z.object({ from: z.string(), site: z.string().min(1), owner: z.string().min(1) });
/** A device's value in the reference bucket: its assignment history. */
export const DeviceRef = z.object({ assignments: z.array(Assignment).min(1) });
/** A device's reference entry. */
export type DeviceRef = z.output<typeof DeviceRef>;

/** The output record: normalised and enriched. */
export interface CleanReading {
  id: string;
  device: string;
  kind: Kind;
  /** In the canonical unit, rounded to 4 decimals. */
  value: number;
  unit: string;
  /** Event time, epoch ms. */
  ts: number;
  /** Event time, ISO 8601 UTC. */
  time: string;
  battery?: number;
  site: string;
  owner: string;
  /** What the device sent. */
  source: { value: number; unit: string };
}

/** {@link processEvent}'s result. */
export type Processed =
  | { ok: true; record: CleanReading }
  | { ok: false; reason: ReasonCode; detail: string };

interface Version {
  from: number;
  site: string;
  owner: string;
}

/**
 * The reference table: device → assignment history, as read from the KV
 * bucket (`set` for each PUT, `delete` for each DEL/PURGE).
 *
 * @example
 * ```ts
 * const refs = new ReferenceTable();
 * refs.set("tm-0001", { assignments: [{ from: "2025-01-01T00:00:00Z", site: "berlin-dc", owner: "nordfrost" }] });
 * refs.lookup("tm-0001", Date.UTC(2026, 0, 1))?.site; // "berlin-dc"
 * ```
 */
export class ReferenceTable {
  #devices = new Map<string, Version[]>();

  /** Sets a device's history (replacing what it had). Throws on an assignment whose `from` is not a date. */
  set(device: string, ref: DeviceRef): void {
    const versions = ref.assignments.map((a) => {
      const from = dayjs(a.from);
      if (!from.isValid()) {
        throw new RangeError(`device ${device}: assignment from ${JSON.stringify(a.from)} is not a date`);
      }
      return { from: from.valueOf(), site: a.site, owner: a.owner };
    });
    versions.sort((a, b) => a.from - b.from);
    this.#devices.set(device, versions);
  }

  delete(device: string): void {
    this.#devices.delete(device);
  }

  get size(): number {
    return this.#devices.size;
  }

  /** The device's assignment in force at `ts`, or undefined (unknown device, or not assigned yet). */
  lookup(device: string, ts: number): { site: string; owner: string } | undefined {
    const versions = this.#devices.get(device);
    if (versions === undefined) return undefined;
    let found: Version | undefined;
    for (const v of versions) {
      if (v.from > ts) break;
      found = v;
    }
    return found;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The reason of the first zod issue: missing field, wrong type, or the code a refinement set. */
function classify(issue: z.core.$ZodIssue, input: Record<string, unknown>): ReasonCode {
  const params = (issue as { params?: { reason?: ReasonCode } }).params;
  if (params?.reason !== undefined) return params.reason;
  const field = issue.path[0];
  if (issue.path.length === 1 && typeof field === "string" && !Object.hasOwn(input, field)) return "missing_field";
  if (issue.code === "too_small" || issue.code === "too_big") return "out_of_range";
  return "wrong_type";
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * Validates, normalises and enriches one raw event (its bytes as
 * published), with the reference table as it is.
 *
 * @example
 * ```ts
 * const refs = new ReferenceTable();
 * refs.set("tm-0001", { assignments: [{ from: "2025-01-01T00:00:00Z", site: "berlin-dc", owner: "nordfrost" }] });
 * const raw = '{"id":"e1","device":"tm-0001","kind":"temperature","value":39.2,"unit":"F","ts":1767225600}';
 * const r = processEvent(new TextEncoder().encode(raw), refs);
 * if (r.ok) console.log(r.record.value, r.record.unit, r.record.site); // 4 °C berlin-dc
 * ```
 */
export function processEvent(bytes: Uint8Array, refs: ReferenceTable): Processed {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch (e) {
    return { ok: false, reason: "bad_json", detail: (e as Error).message.split("\n")[0]!.slice(0, 200) };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return {
      ok: false,
      reason: "wrong_type",
      detail: `expected a JSON object, got ${Array.isArray(json) ? "an array" : typeof json}`,
    };
  }
  const parsed = RawReading.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    return { ok: false, reason: classify(issue, json as Record<string, unknown>), detail: `${where}${issue.message}` };
  }
  const r = parsed.data;
  const kind = UNITS[r.kind];
  const value = round4(kind.from[r.unit]!(r.value));
  const [lo, hi] = RANGES[r.kind];
  if (!(value >= lo && value <= hi)) {
    return {
      ok: false,
      reason: "out_of_range",
      detail: `value: ${r.value} ${r.unit} is ${value} ${kind.canonical}, outside ${lo}…${hi} ${kind.canonical}`,
    };
  }
  const at = refs.lookup(r.device, r.ts);
  if (at === undefined) {
    return {
      ok: false,
      reason: "unknown_device",
      detail: `device ${r.device} has no assignment in the reference table at ${dayjs.utc(r.ts).toISOString()}`,
    };
  }
  const record: CleanReading = {
    id: r.id,
    device: r.device,
    kind: r.kind,
    value,
    unit: kind.canonical,
    ts: r.ts,
    time: dayjs.utc(r.ts).toISOString(),
    ...(r.battery !== undefined ? { battery: r.battery } : {}),
    site: at.site,
    owner: at.owner,
    source: { value: r.value, unit: r.unit },
  };
  return { ok: true, record };
}

/** A dead letter as published: the reason, and the original bytes (base64) with the input stream's sequence. */
export interface DeadLetter {
  reason: ReasonCode;
  detail: string;
  /** The input message's stream sequence (0 when not read from a stream). */
  seq: number;
  /** The original bytes, base64. */
  original: string;
}

/**
 * Bytes as base64 (btoa over a binary string: the same on Deno and Node).
 *
 * @example
 * ```ts
 * toBase64(new Uint8Array([104, 105])); // "aGk="
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Base64 back to bytes.
 *
 * @example
 * ```ts
 * fromBase64("aGk="); // Uint8Array [104, 105]
 * ```
 */
export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The ETL's input: a seeded fleet of warehouse sensors and the raw events
 * their gateways publish, with the ground truth of every event.
 *
 * The model. A cold-chain operator runs sites (distribution centres, cold
 * stores, a port terminal) for a few owners. Each sensor measures one kind
 * (temperature of a cold room or freezer, humidity, line pressure, pallet
 * weight) and reports through the firmware of one of five vendors, each
 * with its own habits: epoch seconds or epoch ms, ISO 8601 with `Z` or with
 * an offset, or a gateway's `YYYY-MM-DD HH:mm:ss` in UTC; °F, °C or kelvin,
 * a humidity ratio or percent, psi, hPa or bar, pounds, grams or ounces.
 * Readings arrive as a Poisson stream over the fleet (about one per device
 * every 30 s of event time, from `EPOCH_MS`), so event times strictly
 * increase. A true value in canonical units (°C, %, kPa, kg) follows a
 * per-device level plus a daily cycle plus noise; the device reports it
 * converted to its unit, rounded to 3 decimals.
 *
 * Planted faults (`invalidShare` of the events, 8% by default, spread over
 * seven kinds, one fault per event): bytes that are not JSON (a truncated
 * message, a byte that is not UTF-8), a missing field, a value of the wrong
 * type (a number sent as a string), a unit the kind does not have, a
 * timestamp that cannot be read (an unknown format, an impossible date, a
 * clock never set: 1970), a value out of range (a disconnected probe's
 * 850 °C, humidity above 100%, a negative weight), and a device that is not
 * in the reference table (installed, never registered).
 *
 * The reference table gives every registered device its site and owner
 * from 2025. One live update is planned: halfway through the events, a
 * device moves to another site and owner; its new assignment is in force
 * from a whole second `update.at`, and every event from index
 * `update.index` on (and none before) has an event time at or after it.
 *
 * The truth of each event: valid with its expected output (computed from
 * the true values, independently of `model.ts`), or invalid with its
 * reason.
 *
 * @module
 */
import dayjs from "dayjs";
import utc from "dayjs/plugin/utc.js";
import { Random } from "../lib/random.ts";
import { EPOCH_MS } from "../lib/time.ts";
import { type DeviceRef, type Kind, KINDS, type ReasonCode } from "./model.ts";

dayjs.extend(utc);

/** Options of {@link generateEtl}. */
export interface EtlOptions {
  seed: number;
  /** How many events (default 50 000 when `duration` is not given either). */
  events?: number;
  /** Or: generate until this much event time has passed, in ms. */
  duration?: number;
  /** Registered devices (default 120). */
  devices?: number;
  /** Share of invalid events (default 0.08). */
  invalidShare?: number;
}

/** What the event should become: the output (valid) or a dead letter with its reason. */
export type Truth =
  | {
    valid: true;
    /** The true values, for the quality check (value in canonical units, before the device's rounding). */
    expected: {
      id: string;
      device: string;
      kind: Kind;
      value: number;
      unit: string;
      ts: number;
      battery?: number;
      site: string;
      owner: string;
    };
  }
  | { valid: false; reason: ReasonCode };

/** One generated event. */
export interface GeneratedEvent {
  index: number;
  /** The bytes the gateway publishes. */
  bytes: Uint8Array;
  /** True event time (ms). */
  at: number;
  truth: Truth;
}

/** The planned live update of the reference table. */
export interface ReferenceUpdate {
  device: string;
  /** The device's whole new value (its history with the new assignment appended). */
  ref: DeviceRef;
  /** The new assignment is in force from here (epoch ms, a whole second). */
  at: number;
  /** The first event with an event time at or after `at`: publish the update before the events from here on. */
  index: number;
}

/** A generated data set. */
export interface EtlDataset {
  seed: number;
  events: GeneratedEvent[];
  /** The reference table before the update: device → value. */
  reference: Map<string, DeviceRef>;
  update: ReferenceUpdate;
}

export const SITES = [
  "berlin-dc",
  "lyon-coldstore",
  "rotterdam-port",
  "austin-plant",
  "osaka-warehouse",
  "sao-paulo-dc",
  "toronto-coldstore",
  "dublin-hub",
] as const;
export const OWNERS = ["nordfrost", "acme-foods", "medipharm", "greenleaf-produce"] as const;

type TsFormat = "epoch_s" | "epoch_ms" | "iso_z" | "iso_offset" | "gateway";

/** Each vendor's firmware: how it writes time, and its unit per kind. */
const VENDORS: ReadonlyArray<{ name: string; ts: TsFormat; units: Record<Kind, string> }> = [
  { name: "acme-v1", ts: "epoch_s", units: { temperature: "F", humidity: "ratio", pressure: "psi", weight: "lb" } },
  { name: "boreal-2", ts: "iso_offset", units: { temperature: "C", humidity: "%", pressure: "hPa", weight: "kg" } },
  { name: "kelvix", ts: "epoch_ms", units: { temperature: "K", humidity: "%", pressure: "kPa", weight: "g" } },
  { name: "legacy-gw", ts: "gateway", units: { temperature: "F", humidity: "%", pressure: "bar", weight: "oz" } },
  { name: "cloudsense", ts: "iso_z", units: { temperature: "C", humidity: "ratio", pressure: "kPa", weight: "kg" } },
];

/** Canonical value → the device's unit (the inverse of model.ts's conversions, written out on purpose). */
const TO_UNIT: Record<string, (v: number) => number> = {
  C: (v) => v,
  F: (v) => v * 1.8 + 32,
  K: (v) => v + 273.15,
  "%": (v) => v,
  ratio: (v) => v / 100,
  kPa: (v) => v,
  hPa: (v) => v * 10,
  bar: (v) => v / 100,
  psi: (v) => v / 6.894757293168361,
  kg: (v) => v,
  g: (v) => v * 1000,
  lb: (v) => v / 0.45359237,
  oz: (v) => v / 0.028349523125,
};
const CANONICAL: Record<Kind, string> = { temperature: "°C", humidity: "%", pressure: "kPa", weight: "kg" };
const PREFIX: Record<Kind, string> = { temperature: "tm", humidity: "hu", pressure: "pr", weight: "wt" };

interface Device {
  id: string;
  kind: Kind;
  vendor: (typeof VENDORS)[number];
  /** Level and daily swing of the true value, canonical units. */
  level: number;
  swing: number;
  noise: number;
  battery: number | null;
  /** Minutes east of UTC, for vendors writing an offset. */
  offsetMin: number;
  site: string;
  owner: string;
}

function makeDevice(rnd: Random, n: number): Device {
  const kind = rnd.weighted(KINDS, [5, 2, 2, 2]);
  const vendor = rnd.pick(VENDORS);
  let level: number, swing: number, noise: number;
  switch (kind) {
    case "temperature": {
      level = rnd.pick([-22, -18, 2, 4, 6, 18, 21]);
      swing = rnd.range(0.3, 2);
      noise = 0.3;
      break;
    }
    case "humidity":
      level = rnd.range(35, 75);
      swing = rnd.range(2, 10);
      noise = 1.5;
      break;
    case "pressure":
      level = rnd.pick([101.3, 620, 700, 850]);
      swing = level * 0.02;
      noise = level * 0.005;
      break;
    default:
      level = rnd.range(150, 1200);
      swing = rnd.range(10, 120);
      noise = 5;
  }
  return {
    id: `${PREFIX[kind]}-${String(n).padStart(4, "0")}`,
    kind,
    vendor,
    level,
    swing,
    noise,
    battery: rnd.chance(0.7) ? 40 + rnd.int(61) : null,
    offsetMin: rnd.pick([-300, 0, 60, 120, 540]),
    site: rnd.pick(SITES),
    owner: rnd.pick(OWNERS),
  };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** `ms` written in a vendor's format (gateway time has whole seconds: `ms` must be one). */
function formatTs(ms: number, format: TsFormat, offsetMin: number): number | string {
  switch (format) {
    case "epoch_s":
      return ms / 1000;
    case "epoch_ms":
      return ms;
    case "iso_z":
      return dayjs.utc(ms).toISOString();
    case "iso_offset": {
      const sign = offsetMin < 0 ? "-" : "+";
      const a = Math.abs(offsetMin);
      const off = `${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
      return `${dayjs.utc(ms + offsetMin * 60_000).format("YYYY-MM-DDTHH:mm:ss.SSS")}${off}`;
    }
    case "gateway":
      return dayjs.utc(ms).format("YYYY-MM-DD HH:mm:ss");
  }
}

const INVALID_KINDS: readonly ReasonCode[] = [
  "bad_json",
  "missing_field",
  "wrong_type",
  "bad_unit",
  "bad_timestamp",
  "out_of_range",
  "unknown_device",
];

const enc = new TextEncoder();

/** Out-of-range true values per kind (canonical). */
const OUT_OF_RANGE: Record<Kind, readonly number[]> = {
  temperature: [850, -273, 327.6],
  humidity: [104.5, 180, -3],
  pressure: [-12, 2400],
  weight: [-35, 6500],
};

/**
 * Generates the data set of `options.seed`: the same events, bytes and
 * truth on every run and runtime.
 *
 * @example
 * ```ts
 * const d = generateEtl({ seed: 1, events: 1000 });
 * d.events.filter((e) => !e.truth.valid).length; // about 80
 * d.update.index; // 500 or a little after
 * ```
 */
export function generateEtl(options: EtlOptions): EtlDataset {
  const rnd = new Random(options.seed);
  const fleet = rnd.fork("fleet");
  const n = options.devices ?? 120;
  const devices: Device[] = [];
  for (let i = 1; i <= n; i++) devices.push(makeDevice(fleet, i));
  const reference = new Map<string, DeviceRef>();
  for (const d of devices) {
    reference.set(d.id, { assignments: [{ from: "2025-01-01T00:00:00.000Z", site: d.site, owner: d.owner }] });
  }
  // Installed, never registered: their events are dead letters (unknown_device).
  const strays: Device[] = [];
  for (let i = 1; i <= 6; i++) strays.push(makeDevice(fleet, 9000 + i));

  const count = options.events ?? (options.duration === undefined ? 50_000 : Infinity);
  const end = options.duration === undefined ? Infinity : EPOCH_MS + options.duration;
  const invalidShare = options.invalidShare ?? 0.08;
  // About one reading per device every 30 s.
  const ratePerMs = n / 30_000;
  const ev = rnd.fork("events");
  const events: GeneratedEvent[] = [];
  let t = EPOCH_MS;
  for (let i = 0; i < count; i++) {
    t += Math.max(1, Math.round(ev.exponential(ratePerMs)));
    if (t >= end) break;
    events.push(makeEvent(ev, i, t, options.seed, devices, strays, invalidShare, reference));
  }

  // The live update: halfway, a device moves; in force from the next whole second.
  const mover = devices[rnd.fork("update").int(devices.length)]!;
  const half = events[Math.floor(events.length / 2)];
  const at = Math.ceil((half?.at ?? EPOCH_MS) / 1000) * 1000;
  let index = events.findIndex((e) => e.at >= at);
  if (index < 0) index = events.length;
  const oldRef = reference.get(mover.id)!;
  const oldSite = oldRef.assignments[0]!.site;
  const site = SITES[(SITES.indexOf(oldSite as (typeof SITES)[number]) + 3) % SITES.length]!;
  const owner = OWNERS[(OWNERS.indexOf(oldRef.assignments[0]!.owner as (typeof OWNERS)[number]) + 1) % OWNERS.length]!;
  const update: ReferenceUpdate = {
    device: mover.id,
    ref: { assignments: [...oldRef.assignments, { from: dayjs.utc(at).toISOString(), site, owner }] },
    at,
    index,
  };
  // The truth of the mover's events from `at` on.
  for (const e of events.slice(index)) {
    if (e.truth.valid && e.truth.expected.device === mover.id) {
      e.truth.expected.site = site;
      e.truth.expected.owner = owner;
    }
  }
  return { seed: options.seed, events, reference, update };
}

function makeEvent(
  rnd: Random,
  index: number,
  trueMs: number,
  seed: number,
  devices: readonly Device[],
  strays: readonly Device[],
  invalidShare: number,
  reference: ReadonlyMap<string, DeviceRef>,
): GeneratedEvent {
  const fault = rnd.chance(invalidShare) ? rnd.pick(INVALID_KINDS) : null;
  const d = fault === "unknown_device" ? rnd.pick(strays) : rnd.pick(devices);
  const id = `ev-${seed}-${String(index).padStart(7, "0")}`;
  // Gateway time has whole seconds: the truth is what the device can say.
  const ms = d.vendor.ts === "gateway" ? Math.floor(trueMs / 1000) * 1000 : trueMs;
  const day = ((ms - EPOCH_MS) / 86_400_000) * 2 * Math.PI;
  let truth = d.level + d.swing * Math.sin(day) + rnd.normal(0, d.noise);
  if (d.kind === "humidity") truth = Math.min(99.5, Math.max(0.5, truth));
  if (d.kind === "weight") truth = Math.max(0.5, truth);
  if (fault === "out_of_range") truth = rnd.pick(OUT_OF_RANGE[d.kind]);
  const unit = d.vendor.units[d.kind];
  const value = round3(TO_UNIT[unit]!(truth));
  const msg: Record<string, unknown> = {
    id,
    device: d.id,
    kind: d.kind,
    value,
    unit,
    ts: formatTs(ms, d.vendor.ts, d.offsetMin),
  };
  if (d.battery !== null) msg.battery = Math.max(0, d.battery - Math.floor((ms - EPOCH_MS) / 3_600_000));

  let bytes: Uint8Array;
  switch (fault) {
    case "missing_field":
      delete msg[rnd.pick(["device", "kind", "value", "unit", "ts"])];
      bytes = enc.encode(JSON.stringify(msg));
      break;
    case "wrong_type": {
      const which = rnd.int(3);
      if (which === 0) msg.value = String(value); // "39.2"
      else if (which === 1) msg.kind = 7;
      else msg.battery = "low";
      bytes = enc.encode(JSON.stringify(msg));
      break;
    }
    case "bad_unit":
      msg.unit = rnd.pick(["furlong", "degF", "mmHg", "stone", ""]);
      bytes = enc.encode(JSON.stringify(msg));
      break;
    case "bad_timestamp":
      msg.ts = rnd.pick([
        0, // clock never set: 1970
        dayjs.utc(ms).format("DD/MM/YYYY HH:mm"),
        "2026-13-45T99:00:00Z",
        "2026-02-30 10:00:00",
        "yesterday",
      ]);
      bytes = enc.encode(JSON.stringify(msg));
      break;
    case "bad_json": {
      const text = JSON.stringify(msg);
      if (rnd.chance(0.5)) bytes = enc.encode(text.slice(0, 10 + rnd.int(text.length - 20))); // truncated
      else {
        // A byte that is not UTF-8 inside the id.
        const raw = enc.encode(text);
        bytes = new Uint8Array(raw);
        bytes[text.indexOf(id) + 3] = 0xff;
      }
      break;
    }
    default:
      bytes = enc.encode(JSON.stringify(msg));
  }
  if (fault !== null) return { index, bytes, at: trueMs, truth: { valid: false, reason: fault } };
  const ref = reference.get(d.id)!.assignments[0]!;
  return {
    index,
    bytes,
    at: trueMs,
    truth: {
      valid: true,
      expected: {
        id,
        device: d.id,
        kind: d.kind,
        value: truth,
        unit: CANONICAL[d.kind],
        ts: ms,
        ...(msg.battery !== undefined ? { battery: msg.battery as number } : {}),
        site: ref.site,
        owner: ref.owner,
      },
    },
  };
}

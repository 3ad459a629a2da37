/**
 * The ETL computed offline: the same `processEvent` (model.ts) in a plain
 * loop over the generated events, with the reference table including the
 * planned update (an event is enriched as of its own event time, so the
 * order in which the update and the events arrive does not matter). It is
 * the engine check's reference and the benchmark's baseline; `score` is
 * the quality check of any run's output against the generator's truth.
 *
 * @module
 */
import { type CleanReading, type DeadLetter, processEvent, type ReasonCode, ReferenceTable, UNITS } from "./model.ts";
import { type EtlDataset, type EtlOptions, generateEtl } from "./generator.ts";

/** The reference table a run sees once the planned update is in. */
export function referenceWithUpdate(dataset: EtlDataset): ReferenceTable {
  const refs = new ReferenceTable();
  for (const [device, ref] of dataset.reference) refs.set(device, ref);
  refs.set(dataset.update.device, dataset.update.ref);
  return refs;
}

/** What the offline loop produced. */
export interface OfflineResult {
  /** Events read. */
  events: number;
  seconds: number;
  eventsPerSec: number;
  /** Output records by id, as the JSON text the topology publishes. */
  outputs: Map<string, string>;
  /** Dead letters by event index. */
  dead: Map<number, { reason: ReasonCode; detail: string }>;
}

/**
 * Processes `dataset` (or the one of `options`) in a loop, timed.
 *
 * @example
 * ```ts
 * const r = runOffline({ seed: 1, events: 10_000 });
 * console.log(r.outputs.size, r.dead.size, Math.round(r.eventsPerSec));
 * ```
 */
export function runOffline(options: EtlOptions, dataset: EtlDataset = generateEtl(options)): OfflineResult {
  const refs = referenceWithUpdate(dataset);
  const outputs = new Map<string, string>();
  const dead = new Map<number, { reason: ReasonCode; detail: string }>();
  const started = performance.now();
  for (const e of dataset.events) {
    const r = processEvent(e.bytes, refs);
    if (r.ok) outputs.set(r.record.id, JSON.stringify(r.record));
    else dead.set(e.index, { reason: r.reason, detail: r.detail });
  }
  const seconds = (performance.now() - started) / 1000;
  return { events: dataset.events.length, seconds, eventsPerSec: dataset.events.length / seconds, outputs, dead };
}

/** The quality of a run's output against the generator's truth. The bound: every count but the expected ones is 0. */
export interface Quality {
  validExpected: number;
  outputRecords: number;
  /** Valid events with no output record. */
  lost: number;
  /** Output records beyond the first for one id. */
  duplicated: number;
  /** Output records of no valid event. */
  unexpected: number;
  /** Output records whose value, unit, time, battery, site or owner differ from the truth. */
  wrongValues: number;
  invalidExpected: number;
  deadLetters: number;
  /** Invalid events with no dead letter. */
  deadMissing: number;
  /** Dead letters beyond the first for one event. */
  deadDuplicated: number;
  /** Dead letters with another reason than the one planted, or other bytes than the event's. */
  deadWrong: number;
  /** Dead letters of valid events (or of no event). */
  deadUnexpected: number;
  /** Up to 5 examples of what went wrong. */
  examples: string[];
}

/** The canonical size of half a step in the device's third decimal, plus the model's rounding. */
function tolerance(record: CleanReading): number {
  const convert = UNITS[record.kind].from[record.source.unit];
  return convert === undefined ? 0 : Math.abs(convert(0.0005) - convert(0)) + 1e-4;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Scores a run: `outputs` are the output records (every message of the
 * output stream, duplicates included), `dead` the dead letters (every
 * message of the dead-letter stream) with the input sequence they name;
 * event `i` of the dataset must have been input sequence `firstSeq + i`.
 *
 * @example
 * ```ts
 * import { generateEtl } from "./generator.ts";
 * const d = generateEtl({ seed: 1, events: 100 });
 * const q = score(d, [], []);
 * q.lost; // every valid event: nothing was output
 * ```
 */
export function score(
  dataset: EtlDataset,
  outputs: Iterable<CleanReading>,
  dead: Iterable<DeadLetter & { bytes: Uint8Array }>,
  firstSeq = 1,
): Quality {
  const q: Quality = {
    validExpected: 0,
    outputRecords: 0,
    lost: 0,
    duplicated: 0,
    unexpected: 0,
    wrongValues: 0,
    invalidExpected: 0,
    deadLetters: 0,
    deadMissing: 0,
    deadDuplicated: 0,
    deadWrong: 0,
    deadUnexpected: 0,
    examples: [],
  };
  const note = (s: string) => void (q.examples.length < 5 && q.examples.push(s));
  const byId = new Map<string, number>();
  for (const e of dataset.events) {
    if (e.truth.valid) {
      q.validExpected++;
      byId.set(e.truth.expected.id, e.index);
    } else q.invalidExpected++;
  }
  const seen = new Set<string>();
  for (const r of outputs) {
    q.outputRecords++;
    const index = byId.get(r.id);
    if (index === undefined) {
      q.unexpected++;
      note(`output ${r.id} is no valid event`);
      continue;
    }
    if (seen.has(r.id)) {
      q.duplicated++;
      note(`output ${r.id} twice`);
      continue;
    }
    seen.add(r.id);
    const t = dataset.events[index]!.truth;
    if (!t.valid) continue;
    const x = t.expected;
    const ok = Math.abs(r.value - x.value) <= tolerance(r) && r.unit === x.unit && r.ts === x.ts &&
      r.time === new Date(x.ts).toISOString() && r.device === x.device && r.kind === x.kind &&
      r.battery === x.battery && r.site === x.site && r.owner === x.owner;
    if (!ok) {
      q.wrongValues++;
      note(`output ${r.id}: ${JSON.stringify(r)} but the truth is ${JSON.stringify(x)}`);
    }
  }
  q.lost = q.validExpected - seen.size;
  if (q.lost > 0) {
    const missing = [...byId.keys()].filter((id) => !seen.has(id)).slice(0, 3);
    note(`lost: ${missing.join(", ")}${q.lost > 3 ? ", …" : ""}`);
  }
  const deadSeen = new Set<number>();
  for (const d of dead) {
    q.deadLetters++;
    const index = d.seq - firstSeq;
    const e = dataset.events[index];
    if (e === undefined || e.truth.valid) {
      q.deadUnexpected++;
      note(`dead letter of sequence ${d.seq} (${d.reason}: ${d.detail}) is no invalid event`);
      continue;
    }
    if (deadSeen.has(index)) {
      q.deadDuplicated++;
      note(`dead letter of sequence ${d.seq} twice`);
      continue;
    }
    deadSeen.add(index);
    if (d.reason !== e.truth.reason || !sameBytes(d.bytes, e.bytes)) {
      q.deadWrong++;
      note(`dead letter of sequence ${d.seq}: ${d.reason} (${d.detail}), planted ${e.truth.reason}`);
    }
  }
  q.deadMissing = q.invalidExpected - deadSeen.size;
  return q;
}

/** Whether a quality report meets the bound: 0 lost, 0 duplicated, every invalid record dead-lettered. */
export function meetsBound(q: Quality): boolean {
  return q.lost === 0 && q.duplicated === 0 && q.unexpected === 0 && q.wrongValues === 0 && q.deadMissing === 0 &&
    q.deadDuplicated === 0 && q.deadWrong === 0 && q.deadUnexpected === 0;
}

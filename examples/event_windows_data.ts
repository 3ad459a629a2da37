/**
 * The events of examples/event_windows.ts, generated from a seed: event `i`
 * is a pure function of the seed and `i`, so a spout can rewind to any
 * position and a test can compute the truth over the same events.
 *
 * @module
 */

/** One generated event. */
export interface WindowEvent {
  key: string;
  value: number;
  ts: number;
}

/**
 * Event `i` of seed `seed`: the same on every call, so the spout can rewind to any position.
 *
 * @example
 * ```ts
 * const e = eventAt(1, 0, 16, 500); // { key: "k…", value: 1…100, ts: 0…499 }
 * ```
 */
export function eventAt(seed: number, i: number, keys: number, disorderMs: number): WindowEvent {
  // A small integer hash of (seed, i): three independent draws, no state.
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  const next = () => {
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
  };
  const key = `k${Math.floor(next() * keys)}`;
  const value = 1 + Math.floor(next() * 100);
  const ts = i * 2 + Math.floor(next() * disorderMs);
  return { key, value, ts };
}

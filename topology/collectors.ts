/**
 * The collectors components emit through (Storm's names). The engine
 * implements them; components only see these interfaces.
 *
 * @module
 */
import type { Tuple } from "./tuple.ts";

/** Anchors of an emit: one input tuple, several, or none. */
export type Anchors = Tuple | readonly Tuple[] | null | undefined;

/**
 * What a rich bolt emits, acks and fails through.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * class Split {
 *   collector!: OutputCollector; // set in prepare
 *   execute(t: Tuple) {
 *     for (const w of t.getString(0).split(/\s+/)) this.collector.emit(t, [w]);
 *     this.collector.ack(t);
 *   }
 * }
 * ```
 */
export interface OutputCollector {
  /** Emits on the default stream, unanchored. */
  emit(values: unknown[]): void;
  /** Emits on the default stream anchored to `anchors`. */
  emit(anchors: Anchors, values: unknown[]): void;
  /** Emits on `streamId`, unanchored. */
  emit(streamId: string, values: unknown[]): void;
  /** Emits on `streamId` anchored to `anchors`. */
  emit(streamId: string, anchors: Anchors, values: unknown[]): void;
  /** Emits to one task of a direct-grouped subscriber. */
  emitDirect(taskId: number, values: unknown[]): void;
  emitDirect(taskId: number, anchors: Anchors, values: unknown[]): void;
  emitDirect(taskId: number, streamId: string, values: unknown[]): void;
  emitDirect(taskId: number, streamId: string, anchors: Anchors, values: unknown[]): void;
  /** Marks `input` fully processed by this bolt. */
  ack(input: Tuple): void;
  /** Fails `input`: its spout replays the tree's root at once. */
  fail(input: Tuple): void;
  /** Restarts the timeout of `input`'s trees (for long work on one tuple). */
  resetTimeout(input: Tuple): void;
  /** Reports an error without failing anything (it is logged and counted). */
  reportError(error: unknown): void;
}

/**
 * What a spout emits through. A message id makes the emit reliable: the
 * spout's `ack` or `fail` is called with it once the tree completes or fails.
 *
 * @example
 * ```ts
 * class Lines {
 *   lines = ["a b", "c"];
 *   collector!: SpoutOutputCollector; // set in open
 *   nextTuple() {
 *     const line = this.lines.shift();
 *     if (line === undefined) return this.collector.finish();
 *     this.collector.emit([line], line);
 *   }
 * }
 * ```
 */
export interface SpoutOutputCollector {
  emit(values: unknown[], messageId?: unknown): void;
  emit(streamId: string, values: unknown[], messageId?: unknown): void;
  emitDirect(taskId: number, values: unknown[], messageId?: unknown): void;
  emitDirect(taskId: number, streamId: string, values: unknown[], messageId?: unknown): void;
  /**
   * Says this spout task's input is exhausted. Its `nextTuple` is still
   * called while trees are pending, so failed tuples can be replayed; the
   * topology ends when every spout has finished and nothing is in flight.
   */
  finish(): void;
  /** Reports an error without failing anything. */
  reportError(error: unknown): void;
  /** Number of this task's tuple trees not yet acked or failed. */
  getPendingCount(): number;
}

/**
 * The collector of a basic bolt: emits are anchored to the input tuple, which
 * is acked when `execute` returns (or its Promise resolves).
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * class Upper {
 *   execute(t: Tuple, c: BasicOutputCollector) { c.emit([t.getString(0).toUpperCase()]); }
 * }
 * ```
 */
export interface BasicOutputCollector {
  emit(values: unknown[]): void;
  emit(streamId: string, values: unknown[]): void;
  emitDirect(taskId: number, values: unknown[]): void;
  emitDirect(taskId: number, streamId: string, values: unknown[]): void;
  reportError(error: unknown): void;
}

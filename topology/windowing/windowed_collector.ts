/**
 * Storm's `WindowedOutputCollector`: what a windowed bolt's `prepare`
 * receives.
 *
 * @module
 */
import type { Anchors, OutputCollector } from "../collectors.ts";
import { DEFAULT_STREAM, type Tuple, TupleImpl } from "../tuple.ts";

/**
 * An emit without anchors, made while a window executes, is anchored to
 * that window's tuples (those not acked yet); everything else goes to the
 * task's collector as it is.
 *
 * @example
 * ```ts
 * import type { OutputCollector, TupleWindow } from "ardea";
 * declare const collector: OutputCollector;
 * declare const window: TupleWindow;
 * declare const sum: number;
 * const out = new WindowedCollector(collector);
 * out.context = window.get();
 * out.emit([sum]); // anchored to the window's tuples
 * out.context = null;
 * ```
 */
export class WindowedCollector implements OutputCollector {
  /** The tuples of the window executing, or null. */
  context: Tuple[] | null = null;
  constructor(readonly out: OutputCollector) {}

  #anchors(): Anchors {
    const c = this.context;
    if (c === null) return null;
    const a: Tuple[] = [];
    for (const t of c) if (!(t instanceof TupleImpl) || t.state !== 1) a.push(t);
    return a;
  }
  emit(a: unknown, b?: unknown, c?: unknown): void {
    if (c !== undefined) this.out.emit(a as string, b as Anchors, c as unknown[]);
    else if (b === undefined) this.out.emit(DEFAULT_STREAM, this.#anchors(), a as unknown[]);
    else if (typeof a === "string") this.out.emit(a, this.#anchors(), b as unknown[]);
    else this.out.emit(DEFAULT_STREAM, a as Anchors, b as unknown[]);
  }
  emitDirect(task: number, a: unknown, b?: unknown, c?: unknown): void {
    if (c !== undefined) this.out.emitDirect(task, a as string, b as Anchors, c as unknown[]);
    else if (b === undefined) this.out.emitDirect(task, DEFAULT_STREAM, this.#anchors(), a as unknown[]);
    else if (typeof a === "string") this.out.emitDirect(task, a, this.#anchors(), b as unknown[]);
    else this.out.emitDirect(task, DEFAULT_STREAM, a as Anchors, b as unknown[]);
  }
  ack(input: Tuple): void {
    this.out.ack(input);
  }
  fail(input: Tuple): void {
    this.out.fail(input);
  }
  resetTimeout(input: Tuple): void {
    this.out.resetTimeout(input);
  }
  reportError(error: unknown): void {
    this.out.reportError(error);
  }
}

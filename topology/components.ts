/**
 * Component contracts (Storm's `ISpout`, `IRichBolt`, `IBasicBolt`) and their
 * base classes. Any method may be synchronous or return a Promise; only a
 * Promise is awaited.
 *
 * @module
 */
import type { BasicOutputCollector, OutputCollector, SpoutOutputCollector } from "./collectors.ts";
import type { TopologyConfig } from "./config.ts";
import type { TopologyContext } from "./context.ts";
import type { OutputFieldsDeclarer } from "./declarer.ts";
import type { Tuple } from "./tuple.ts";

/** A result that may be awaited. */
export type MaybePromise<T = void> = T | Promise<T>;

/** Declares outputs and per-component configuration. */
export interface IComponent {
  declareOutputFields(declarer: OutputFieldsDeclarer): void;
  getComponentConfiguration?(): Record<string, unknown> | null | undefined;
}

/**
 * A source of tuples.
 *
 * @example
 * ```ts
 * import type { OutputFieldsDeclarer, SpoutOutputCollector, TopologyConfig, TopologyContext } from "ardea";
 * class Numbers extends BaseRichSpout {
 *   n = 0; collector!: SpoutOutputCollector;
 *   override open(_c: TopologyConfig, _ctx: TopologyContext, collector: SpoutOutputCollector) { this.collector = collector; }
 *   nextTuple() { this.n < 10 ? this.collector.emit([this.n], this.n++) : this.collector.finish(); }
 *   declareOutputFields(d: OutputFieldsDeclarer) { d.declare(["n"]); }
 * }
 * ```
 */
export interface ISpout extends IComponent {
  open(conf: TopologyConfig, context: TopologyContext, collector: SpoutOutputCollector): MaybePromise;
  nextTuple(): MaybePromise;
  ack?(msgId: unknown): MaybePromise;
  fail?(msgId: unknown): MaybePromise;
  activate?(): MaybePromise;
  deactivate?(): MaybePromise;
  close?(): MaybePromise;
}

/**
 * A bolt that acks and anchors itself.
 *
 * @example
 * ```ts
 * import type { OutputCollector, OutputFieldsDeclarer, TopologyConfig, TopologyContext, Tuple } from "ardea";
 * class Upper extends BaseRichBolt {
 *   collector!: OutputCollector;
 *   override prepare(_c: TopologyConfig, _ctx: TopologyContext, collector: OutputCollector) { this.collector = collector; }
 *   execute(t: Tuple) { this.collector.emit(t, [t.getString(0).toUpperCase()]); this.collector.ack(t); }
 *   declareOutputFields(d: OutputFieldsDeclarer) { d.declare(["word"]); }
 * }
 * ```
 */
export interface IRichBolt extends IComponent {
  prepare(conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): MaybePromise;
  execute(input: Tuple): MaybePromise;
  /**
   * Ardea: called once every input has ended (bounded topologies); may emit.
   * A bolt that holds tuples unacked (batches, windows, joins) and has no
   * `drain` gets it earlier, when its inputs drain (see `drain`), and again
   * if replays of failed trees are held after that.
   */
  finish?(): MaybePromise;
  /**
   * Ardea: every upstream task has emitted all of its new input, but tuple
   * trees are still open (ATLEAST_ONCE, bounded topologies): emit and ack
   * what you hold. Called again if replays of failed trees arrive after it.
   */
  drain?(): MaybePromise;
  cleanup?(): MaybePromise;
}

/**
 * A bolt whose emits are anchored to its input and whose input is acked when
 * `execute` returns. Throw `FailedException` to fail the input instead.
 *
 * @example
 * ```ts
 * import type { BasicOutputCollector, OutputFieldsDeclarer, Tuple } from "ardea";
 * class Split extends BaseBasicBolt {
 *   execute(t: Tuple, c: BasicOutputCollector) { for (const w of t.getString(0).split(" ")) c.emit([w]); }
 *   declareOutputFields(d: OutputFieldsDeclarer) { d.declare(["word"]); }
 * }
 * ```
 */
export interface IBasicBolt extends IComponent {
  prepare?(conf: TopologyConfig, context: TopologyContext): MaybePromise;
  execute(input: Tuple, collector: BasicOutputCollector): MaybePromise;
  /** Ardea: called once every input has ended; may emit (unanchored). */
  finish?(collector: BasicOutputCollector): MaybePromise;
  /** Ardea: every upstream task has emitted all its new input, trees still open (see `IRichBolt.drain`). */
  drain?(collector: BasicOutputCollector): MaybePromise;
  cleanup?(): MaybePromise;
}

/** Marks basic bolts so the engine wraps them with auto-ack. */
export const BASIC_BOLT: unique symbol = Symbol.for("ardea.basicBolt");

/**
 * Storm's `BaseRichSpout`: no-op lifecycle methods to override.
 *
 * @example
 * ```ts
 * class MySpout extends BaseRichSpout { nextTuple() {} declareOutputFields() {} }
 * ```
 */
export abstract class BaseRichSpout implements ISpout {
  open(_conf: TopologyConfig, _context: TopologyContext, _collector: SpoutOutputCollector): MaybePromise {}
  abstract nextTuple(): MaybePromise;
  ack(_msgId: unknown): MaybePromise {}
  fail(_msgId: unknown): MaybePromise {}
  activate(): MaybePromise {}
  deactivate(): MaybePromise {}
  close(): MaybePromise {}
  abstract declareOutputFields(declarer: OutputFieldsDeclarer): void;
  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }
}

/**
 * Storm's `BaseRichBolt`.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * class Sink extends BaseRichBolt { execute(t: Tuple) { console.log(t.getValues()); } declareOutputFields() {} }
 * ```
 */
export abstract class BaseRichBolt implements IRichBolt {
  prepare(_conf: TopologyConfig, _context: TopologyContext, _collector: OutputCollector): MaybePromise {}
  abstract execute(input: Tuple): MaybePromise;
  /** Called once every input has ended (bounded topologies); may emit. */
  finish(): MaybePromise {}
  cleanup(): MaybePromise {}
  abstract declareOutputFields(declarer: OutputFieldsDeclarer): void;
  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }
}

/**
 * Storm's `BaseBasicBolt`: auto-anchoring, auto-acking.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * class Print extends BaseBasicBolt { execute(t: Tuple) { console.log(t.getValue(0)); } declareOutputFields() {} }
 * ```
 */
export abstract class BaseBasicBolt implements IBasicBolt {
  readonly [BASIC_BOLT] = true;
  prepare(_conf: TopologyConfig, _context: TopologyContext): MaybePromise {}
  abstract execute(input: Tuple, collector: BasicOutputCollector): MaybePromise;
  /** Called once every input has ended (bounded topologies); may emit, unanchored. */
  finish(_collector: BasicOutputCollector): MaybePromise {}
  cleanup(): MaybePromise {}
  abstract declareOutputFields(declarer: OutputFieldsDeclarer): void;
  getComponentConfiguration(): Record<string, unknown> | null {
    return null;
  }
}

/**
 * Thrown from a basic bolt's `execute` to fail the input tuple (it is
 * replayed) without restarting the bolt, as in Storm.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * declare const t: Tuple;
 * const valid = (t: Tuple) => t.size() === 2;
 * if (!valid(t)) throw new FailedException("bad record");
 * ```
 */
export class FailedException extends Error {
  constructor(message = "tuple failed", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FailedException";
  }
}

/** Any bolt. */
export type IBolt = IRichBolt | IBasicBolt;

/**
 * Whether `b` is a basic bolt (auto-ack) rather than a rich one.
 *
 * @example
 * ```ts
 * class Split extends BaseBasicBolt { execute() {} declareOutputFields() {} }
 * isBasicBolt(new Split()); // true for a BaseBasicBolt
 * ```
 */
export function isBasicBolt(b: IBolt): b is IBasicBolt {
  return (b as unknown as Record<symbol, unknown>)[BASIC_BOLT] === true;
}

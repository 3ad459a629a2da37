/**
 * The components of the `latency` benchmark, embedded (bench/latency.ts) and
 * over NATS (bench/fixtures/latency_topology.ts): a spout paced at a rate
 * that times every tree from its emit to its ack, and a bolt that passes a
 * tuple on (or, last, only acks it).
 */
import {
  BaseRichBolt,
  BaseRichSpout,
  type OutputCollector,
  type OutputFieldsDeclarer,
  type SpoutOutputCollector,
  type Tuple,
} from "../mod.ts";

/** What a {@link PacedSpout} reports; times are ms since its first `nextTuple`. */
export interface PaceSink {
  /** Tree `i` went out. */
  emitted?(i: number, at: number): void;
  /** Tree `i` completed, `ms` after its emit. */
  acked(i: number, ms: number, at: number): void;
  /** Tree `i` failed. */
  failed(i: number): void;
}

/**
 * Emits trees 0…trees-1 at `rate` trees/s (0: as fast as asked; nothing due →
 * nothing emitted, the engine sleeps it), then calls `finish()`.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * declare const hist: { record(ms: number): void };
 * const b = new TopologyBuilder();
 * b.setSpout("spout", () => new PacedSpout(10_000, 5_000, { acked: (_i, ms) => hist.record(ms), failed() {} }), 1);
 * ```
 */
export class PacedSpout extends BaseRichSpout {
  #c!: SpoutOutputCollector;
  #next = 0;
  #t0 = -1;
  #finished = false;
  readonly #emitAt: Float64Array;
  constructor(readonly trees: number, readonly rate: number, readonly sink: PaceSink) {
    super();
    this.#emitAt = new Float64Array(trees);
  }
  override open(_conf: unknown, _ctx: unknown, c: SpoutOutputCollector): void {
    this.#c = c;
  }
  nextTuple(): void {
    const i = this.#next;
    if (i >= this.trees) {
      if (!this.#finished) {
        this.#finished = true;
        this.#c.finish();
      }
      return;
    }
    const now = performance.now();
    if (this.#t0 < 0) this.#t0 = now;
    if (this.rate > 0 && i >= ((now - this.#t0) * this.rate) / 1000) return; // nothing due yet
    this.#next++;
    this.#emitAt[i] = now;
    this.sink.emitted?.(i, now - this.#t0);
    this.#c.emit([i], i);
  }
  override ack(id: unknown): void {
    const now = performance.now();
    const i = id as number;
    this.sink.acked(i, now - this.#emitAt[i]!, now - this.#t0);
  }
  override fail(id: unknown): void {
    this.sink.failed(id as number);
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    d.declare(["n"]);
  }
}

/**
 * Passes its input on, anchored, and acks it; the `last` one only acks.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const b = new TopologyBuilder();
 * b.setBolt("b", () => new PassBolt(true), 2).shuffleGrouping("a");
 * ```
 */
export class PassBolt extends BaseRichBolt {
  #c!: OutputCollector;
  constructor(readonly last: boolean) {
    super();
  }
  override prepare(_conf: unknown, _ctx: unknown, c: OutputCollector): void {
    this.#c = c;
  }
  execute(t: Tuple): void {
    if (!this.last) this.#c.emit(t, [t.getValue(0)]);
    this.#c.ack(t);
  }
  declareOutputFields(d: OutputFieldsDeclarer): void {
    if (!this.last) d.declare(["n"]);
  }
}

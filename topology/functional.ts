/**
 * Components from functions, so small examples and tests stay short.
 *
 * @module
 */
import type { BasicOutputCollector, SpoutOutputCollector } from "./collectors.ts";
import { BASIC_BOLT, type IBasicBolt, type ISpout, type MaybePromise } from "./components.ts";
import type { TopologyConfig } from "./config.ts";
import type { TopologyContext } from "./context.ts";
import type { OutputFieldsDeclarer } from "./declarer.ts";
import type { FieldsLike } from "./fields.ts";
import type { Tuple } from "./tuple.ts";

/** Output declaration of a functional component. */
export interface Outputs {
  /** Fields of the default stream. */
  fields?: FieldsLike;
  /** Further streams: id → fields. */
  streams?: Record<string, FieldsLike>;
}

function declareAll(o: Outputs, d: OutputFieldsDeclarer): void {
  if (o.fields) d.declare(o.fields);
  for (const [id, f] of Object.entries(o.streams ?? {})) d.declareStream(id, f);
}

/** Options of {@link bolt}. */
export interface BoltOptions extends Outputs {
  prepare?: (conf: TopologyConfig, context: TopologyContext) => MaybePromise;
  finish?: (collector: BasicOutputCollector) => MaybePromise;
  cleanup?: () => MaybePromise;
}

/**
 * A basic bolt (auto-anchor, auto-ack) from a function.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * builder.setBolt("split", bolt((t, c) => { for (const w of t.getString(0).split(" ")) c.emit([w]); }, { fields: ["word"] }), 2)
 *   .shuffleGrouping("lines");
 * ```
 */
export function bolt(
  execute: (input: Tuple, collector: BasicOutputCollector) => MaybePromise,
  options: BoltOptions = {},
): () => IBasicBolt {
  return () =>
    ({
      [BASIC_BOLT]: true,
      prepare: options.prepare,
      execute,
      finish: options.finish,
      cleanup: options.cleanup,
      declareOutputFields: (d: OutputFieldsDeclarer) => declareAll(options, d),
    }) as IBasicBolt;
}

/** Options of {@link iterableSpout}. */
export interface IterableSpoutOptions extends Outputs {
  /** Emit with message ids and replay failed items (default true). */
  reliable?: boolean;
}

/**
 * A finite spout over what `source` yields for each task: each item is one
 * tuple (an array of values, or a single value for a one-field stream).
 * Reliable by default: items are emitted with a message id and replayed on
 * failure; the spout finishes when the source is exhausted.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * builder.setSpout("lines", iterableSpout((ctx) => ctx.getThisTaskIndex() === 0 ? ["a b", "c"] : [], { fields: ["line"] }));
 * ```
 */
export function iterableSpout(
  source: (context: TopologyContext) => Iterable<unknown> | AsyncIterable<unknown>,
  options: IterableSpoutOptions = {},
): () => ISpout {
  const reliable = options.reliable ?? true;
  const make = (): ISpout => {
    let collector!: SpoutOutputCollector;
    let iter: Iterator<unknown> | AsyncIterator<unknown>;
    let isAsync = false;
    let nextId = 0;
    let done = false;
    const pending = new Map<number, unknown[]>();
    const replay: number[] = [];
    const emitItem = (item: unknown) => {
      const values = Array.isArray(item) ? item : [item];
      if (!reliable) return collector.emit(values);
      const id = nextId++;
      pending.set(id, values);
      collector.emit(values, id);
    };
    return {
      open(_conf, context, c) {
        collector = c;
        const src = source(context);
        if (Symbol.asyncIterator in (src as object)) {
          iter = (src as AsyncIterable<unknown>)[Symbol.asyncIterator]();
          isAsync = true;
        } else iter = (src as Iterable<unknown>)[Symbol.iterator]();
      },
      nextTuple() {
        if (replay.length > 0) {
          const id = replay.shift()!;
          const values = pending.get(id);
          if (values) collector.emit(values, id);
          return;
        }
        if (done) return;
        if (isAsync) {
          return (iter.next() as Promise<IteratorResult<unknown>>).then((r) => {
            if (r.done) {
              done = true;
              collector.finish();
            } else emitItem(r.value);
          });
        }
        for (let i = 0; i < 64; i++) {
          const r = (iter as Iterator<unknown>).next();
          if (r.done) {
            done = true;
            collector.finish();
            return;
          }
          emitItem(r.value);
        }
      },
      ack(id) {
        pending.delete(id as number);
      },
      fail(id) {
        if (pending.has(id as number)) replay.push(id as number);
      },
      declareOutputFields: (d) => declareAll(options, d),
    };
  };
  return make;
}

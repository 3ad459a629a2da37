/**
 * Where an application's events come from: its seeded generator (paced by
 * `--rate` when asked) or, with `--from-stream`, a JetStream stream of JSON
 * events fed by someone else (`examples/apps/feed.ts`, another service, or
 * `nats pub`).
 *
 * A generator source must be iterable again and again with the same
 * elements: under EFFECTIVELY_ONCE the source rewinds by iterating anew and
 * skipping what the last checkpoint had read, and in a distributed run every
 * container iterates the same sequence and keeps its own share. A generator
 * function's result can be iterated once only; {@link replayable} makes it
 * an iterable that calls the function again on every iteration.
 *
 * @module
 */
import type { JsMsg } from "nats";
import { type Builder, JetStreamSpout, type Streamlet } from "../../../mod.ts";
import type { StandardFlags } from "./flags.ts";
import { natsSettings } from "./output.ts";

/**
 * An iterable that starts `make()` afresh on every iteration.
 *
 * @example
 * ```ts
 * function* count(n: number) { for (let i = 0; i < n; i++) yield i; }
 * const events = replayable(() => count(3));
 * [...events]; // [0, 1, 2]
 * [...events]; // [0, 1, 2] again
 * ```
 */
export function replayable<T>(make: () => Iterator<T>): Iterable<T> {
  return { [Symbol.iterator]: make };
}

/** Events between two looks at the clock in {@link paced}. */
const PACE_STEP = 16;

/**
 * `events` at `rate` elements per wall-clock second (an async iterable that
 * sleeps when it runs ahead), or `events` itself when `rate` is 0. The
 * clock starts at the first iteration and runs on: an iteration started
 * again (a source rewound to its checkpoint) goes without waiting through
 * what was due by now, then keeps to the rate, as a live feed would.
 *
 * @example
 * ```ts
 * const slow = paced([1, 2, 3, 4], 100); // about 40 ms to go through
 * for await (const x of slow) console.log(x);
 * ```
 */
export function paced<T>(events: Iterable<T>, rate: number): Iterable<T> | AsyncIterable<T> {
  if (rate <= 0) return events;
  let start: number | null = null;
  return {
    async *[Symbol.asyncIterator]() {
      const t0 = (start ??= Date.now());
      let n = 0;
      for (const e of events) {
        if (++n % PACE_STEP === 0) {
          const ahead = (n * 1000) / rate - (Date.now() - t0);
          if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
        }
        yield e;
      }
    },
  };
}

/**
 * A {@link JetStreamSpout} on `--from-stream`'s stream whose messages are
 * JSON events, with the one field `event`: `decode` turns the parsed JSON
 * into an event and throws on a bad one, which the spout reports and drops.
 * It reads until stopped or, with `--idle-ms`, until the stream has been
 * idle that long. `name` names its durable consumer (`<name>-reader`).
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "../../../mod.ts";
 * const flags = { fromStream: "TWEETS", idleMs: 2000, nats: "nats://127.0.0.1:4222" };
 * const b = new TopologyBuilder();
 * b.setSpout("tweets", () => jsonStreamSpout(flags, "tweets", (json) => json as { text: string }), 1);
 * ```
 */
export function jsonStreamSpout<E>(
  flags: Pick<StandardFlags, "fromStream" | "idleMs" | "nats">,
  name: string,
  decode: (json: unknown) => E,
): JetStreamSpout {
  if (flags.fromStream === undefined) throw new Error(`${name}: jsonStreamSpout needs --from-stream`);
  const text = new TextDecoder();
  const nats = natsSettings(flags);
  return new JetStreamSpout({
    stream: flags.fromStream,
    durable: `${name}-reader`,
    ...(nats !== undefined ? { nats } : {}),
    ...(flags.idleMs !== undefined ? { finishWhenIdleMs: flags.idleMs } : {}),
    fields: ["event"],
    decode: (m: JsMsg) => [decode(JSON.parse(text.decode(m.data)))],
  });
}

/**
 * The application's source streamlet: with `--from-stream S`, a
 * {@link jsonStreamSpout} on stream S; otherwise the generator `make`,
 * paced by `--rate`. `name` names the source component.
 *
 * @example
 * ```ts
 * import { Builder } from "../../../mod.ts";
 * const flags = { seed: 1, rate: 0, mode: "atleast" } as const;
 * function* numbers() { for (let i = 0; i < 10; i++) yield { n: i }; }
 * const events = appSource(Builder.newBuilder(), flags, "numbers", numbers, (json) => json as { n: number });
 * events.filter((e) => e.n % 2 === 0);
 * ```
 */
export function appSource<E>(
  builder: Builder,
  flags: Pick<StandardFlags, "rate" | "fromStream" | "idleMs" | "nats">,
  name: string,
  make: () => Iterator<E>,
  decode: (json: unknown) => E,
): Streamlet<E> {
  if (flags.fromStream === undefined) {
    return builder.newSource(paced(replayable(make), flags.rate)).setName(name);
  }
  return builder.newSource<E>(jsonStreamSpout(flags, name, decode)).setName(name);
}

/**
 * `--out`: where an application also writes its results. A file path gets
 * one JSON object per line (the file is started empty); `nats:SUBJECT`
 * publishes each result as JSON to JetStream (a stream must capture
 * SUBJECT), confirmed by its PubAck before the run ends.
 *
 * The sink runs where its task runs: give it one partition
 * (`setNumPartitions(1)`) when it writes a file, so that one process owns
 * the file. For results that must reach JetStream exactly once under
 * EFFECTIVELY_ONCE, use the engine's two-phase `NatsSinkBolt` instead (as
 * `etl.ts` does): this output is at-least-once.
 *
 * @module
 */
import { connect, type JetStreamClient, type NatsConnection, type PubAck } from "nats";
import { type NatsSettings, parseNatsFlags, type Sink } from "../../../mod.ts";
import { appendTextFile, env, writeTextFile } from "../../../runtime/mod.ts";
import type { StandardFlags } from "./flags.ts";

/** An open `--out`. */
export interface Output {
  /** Queues one result (never blocks; {@link Output.close} waits for all). */
  write(record: unknown): void;
  /** Writes or confirms everything queued, then closes. */
  close(): Promise<void>;
  /** What it writes to, for people ("file out.jsonl", "JetStream subject trends"). */
  readonly describe: string;
  /** Results written so far. */
  readonly count: number;
}

/**
 * The NATS settings of `--nats` (or the `ARDEA_NATS_*` environment that
 * containers get), or undefined when neither names a server.
 *
 * @example
 * ```ts
 * natsSettings({ nats: "nats://127.0.0.1:4222" })?.servers; // ["nats://127.0.0.1:4222"]
 * ```
 */
export function natsSettings(flags: Pick<StandardFlags, "nats">): NatsSettings | undefined {
  if (flags.nats === undefined && env("ARDEA_NATS_URL") === undefined) return undefined;
  return parseNatsFlags(flags.nats !== undefined ? { nats: flags.nats } : {}, env);
}

/** Bytes of JSON lines kept before a file write. */
const FILE_CHUNK = 64 * 1024;
/** JetStream publishes awaited at once. */
const MAX_IN_FLIGHT = 256;

class FileOutput implements Output {
  readonly describe: string;
  count = 0;
  #buffer = "";
  #chain: Promise<void>;

  constructor(readonly path: string) {
    this.describe = `file ${path}`;
    this.#chain = writeTextFile(path, "");
  }

  write(record: unknown): void {
    this.#buffer += JSON.stringify(record) + "\n";
    this.count++;
    if (this.#buffer.length >= FILE_CHUNK) this.#flush();
  }

  #flush(): void {
    const text = this.#buffer;
    this.#buffer = "";
    this.#chain = this.#chain.then(() => appendTextFile(this.path, text));
  }

  async close(): Promise<void> {
    if (this.#buffer !== "") this.#flush();
    await this.#chain;
  }
}

class JetStreamOutput implements Output {
  readonly describe: string;
  count = 0;
  readonly #encoder = new TextEncoder();
  #inFlight: Promise<PubAck>[] = [];
  #failure: Error | null = null;

  constructor(readonly nc: NatsConnection, readonly js: JetStreamClient, readonly subject: string) {
    this.describe = `JetStream subject ${subject}`;
  }

  write(record: unknown): void {
    const p = this.js.publish(this.subject, this.#encoder.encode(JSON.stringify(record)));
    p.catch((e: Error) => (this.#failure ??= e));
    this.#inFlight.push(p);
    this.count++;
    if (this.#inFlight.length >= MAX_IN_FLIGHT) this.#settle();
  }

  #settle(): void {
    const batch = this.#inFlight;
    this.#inFlight = [];
    void Promise.allSettled(batch);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#inFlight);
    this.#inFlight = [];
    await this.nc.drain();
    if (this.#failure !== null) {
      throw new Error(`--out ${this.describe}: a publish failed: ${this.#failure.message}`);
    }
  }
}

/**
 * Opens `flags.out`: a JSON-lines file, or `nats:SUBJECT` on the servers of
 * `--nats` / `ARDEA_NATS_URL`; null without `--out`. Throws an error naming
 * the problem when NATS is needed and not given, or no stream captures the
 * subject.
 *
 * @example
 * ```ts
 * const out = await openOutput({ out: "/tmp/results.jsonl" });
 * out?.write({ tag: "#heron", count: 3 });
 * await out?.close();
 * ```
 */
export async function openOutput(flags: Pick<StandardFlags, "out" | "nats">): Promise<Output | null> {
  const spec = flags.out;
  if (spec === undefined) return null;
  if (!spec.startsWith("nats:")) return new FileOutput(spec);
  const subject = spec.slice("nats:".length);
  if (!/^[^\s*>]+$/.test(subject)) throw new Error(`--out ${spec}: "${subject}" is not a subject to publish to`);
  const settings = natsSettings(flags);
  if (settings === undefined) throw new Error(`--out ${spec} needs a NATS server: pass --nats nats://host:4222`);
  const nc = await connect({
    servers: settings.servers,
    ...(settings.user !== undefined ? { user: settings.user, pass: settings.password } : {}),
    ...(settings.token !== undefined ? { token: settings.token } : {}),
    name: `ardea-app-out-${subject}`,
  });
  try {
    await (await nc.jetstreamManager()).streams.find(subject);
  } catch {
    await nc.close();
    throw new Error(`--out ${spec}: no JetStream stream captures subject "${subject}" (create one first)`);
  }
  return new JetStreamOutput(nc, nc.jetstream(), subject);
}

/**
 * A streamlet {@link Sink} that writes `toRecord(element)` to `--out` (when
 * given) and then calls `onEach(element)` (the live view, a report). Its
 * `cleanup` closes the output and then calls `onEnd`.
 *
 * @example
 * ```ts
 * const sink = outputSink<number>({}, (n) => ({ n }), (n) => console.log(n));
 * ```
 */
export function outputSink<T>(
  flags: Pick<StandardFlags, "out" | "nats">,
  toRecord: (element: T) => unknown,
  onEach?: (element: T) => void,
  onEnd?: (out: Output | null) => void | Promise<void>,
): Sink<T> {
  let out: Output | null = null;
  return {
    async setup() {
      out = await openOutput(flags);
    },
    put(element) {
      out?.write(toRecord(element));
      onEach?.(element);
    },
    async cleanup() {
      await out?.close();
      await onEnd?.(out);
    },
  };
}

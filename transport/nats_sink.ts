/**
 * `NatsSinkBolt`: publishes each tuple to NATS and acks it only once the
 * server has it. With JetStream that is the publish's PubAck (a failed or
 * timed-out publish fails the tuple, so the spout replays it); with core
 * NATS it is a `flush()` round trip, taken once per batch of tuples, never
 * per tuple.
 *
 * @module
 */
import type { JetStreamClient, NatsConnection } from "nats";
import { BaseRichBolt } from "../topology/components.ts";
import type { OutputCollector } from "../topology/collectors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { ArdeaError } from "../topology/errors.ts";
import type { Tuple } from "../topology/tuple.ts";
import { env } from "../runtime/mod.ts";
import { closeNats, connectNats, type NatsSettings, parseNatsFlags } from "./nats_connect.ts";

/** Options of {@link NatsSinkBolt}. */
export interface NatsSinkOptions {
  /** Subject to publish to, fixed or per tuple. */
  subject: string | ((tuple: Tuple) => string);
  /** Publish to JetStream and ack on its PubAck (default false: core NATS, ack after a flush). */
  jetstream?: boolean;
  /**
   * Tuple → payload. Default: the `data` field if the tuple has one, else its
   * only value, else all values; bytes go as they are, strings as UTF-8,
   * anything else as JSON.
   */
  encode?: (tuple: Tuple) => Uint8Array;
  /**
   * JetStream only: a message id per tuple (`Nats-Msg-Id`), so the stream
   * drops a replayed tuple's duplicate within its duplicate window.
   */
  msgId?: (tuple: Tuple) => string;
  /** NATS connection settings. Default: the `ARDEA_NATS_*` environment. */
  nats?: NatsSettings;
  /** Core NATS: longest a published tuple waits for its flush, in ms. Default 5. */
  flushIntervalMs?: number;
  /** Most tuples published and not yet confirmed; beyond it `execute` waits. Default 1024. */
  maxInFlight?: number;
  /** JetStream: PubAck timeout in ms. Default 5000. */
  publishTimeoutMs?: number;
}

/** Least time between two reports of publish failures. */
const REPORT_EVERY_MS = 1000;

const utf8 = new TextEncoder();

/**
 * The default payload of a tuple (see {@link NatsSinkOptions.encode}).
 *
 * @example
 * ```ts
 * new NatsSinkBolt({ subject: "out", encode: (t) => encodeForNats(t) });
 * ```
 */
export function encodeForNats(tuple: Tuple): Uint8Array {
  const v = tuple.contains("data") ? tuple.getValueByField("data") : tuple.size() === 1 ? tuple.getValue(0) : tuple.getValues();
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return utf8.encode(v);
  return utf8.encode(JSON.stringify(v));
}

/**
 * Publishes every input tuple to NATS (core or JetStream) and acks it once
 * the server confirmed it; a terminal bolt (it emits nothing).
 *
 * @example
 * ```ts
 * import { NatsSinkBolt, TopologyBuilder } from "ardea";
 * const b = new TopologyBuilder();
 * // … a spout "words"
 * b.setBolt("out", () => new NatsSinkBolt({ subject: (t) => `words.${t.getString(0)}`, jetstream: true }), 2).shuffleGrouping("words");
 * ```
 */
export class NatsSinkBolt extends BaseRichBolt {
  readonly options: NatsSinkOptions;
  private collector: OutputCollector | null = null;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private label = "";
  private inFlight = 0;
  /** Core NATS: published, waiting for the next flush. */
  private unflushed: Tuple[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** Resolves an `execute` waiting for in-flight publishes to drop. */
  private below: (() => void) | null = null;
  private lastReport = -Infinity;
  private unreported = 0;

  constructor(options: NatsSinkOptions) {
    super();
    this.options = options;
  }

  override async prepare(_conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): Promise<void> {
    const component = context.getThisComponentId();
    this.label = `NatsSinkBolt "${component}" (task ${context.getThisTaskId()})`;
    this.collector = collector;
    this.inFlight = 0;
    this.unflushed = [];
    const settings = this.options.nats ?? parseNatsFlags({}, env);
    this.nc = await connectNats(settings, { name: `ardea ${context.getStormId()} ${component}/${context.getThisTaskId()}`, reconnectForever: true });
    if (this.options.jetstream === true) this.js = this.nc.jetstream({ timeout: this.options.publishTimeoutMs ?? 5000 });
  }

  execute(tuple: Tuple): void | Promise<void> {
    const o = this.options;
    let subject: string, data: Uint8Array;
    try {
      subject = typeof o.subject === "string" ? o.subject : o.subject(tuple);
      data = (o.encode ?? encodeForNats)(tuple);
    } catch (e) {
      this.report(e, "cannot encode a tuple");
      this.collector!.fail(tuple);
      return;
    }
    this.inFlight++;
    if (this.js !== null) {
      const msgID = o.msgId?.(tuple);
      this.js.publish(subject, data, msgID !== undefined ? { msgID } : undefined).then(
        () => this.settle([tuple], true),
        (e) => {
          this.report(e, `publish to "${subject}" failed`);
          this.settle([tuple], false);
        },
      );
    } else {
      try {
        this.nc!.publish(subject, data);
      } catch (e) {
        this.report(e, `publish to "${subject}" failed`);
        this.settle([tuple], false);
        return;
      }
      this.unflushed.push(tuple);
      this.flushTimer ??= setTimeout(() => this.flushNow(), o.flushIntervalMs ?? 5);
    }
    if (this.inFlight >= (o.maxInFlight ?? 1024)) return new Promise<void>((resolve) => (this.below = resolve));
  }

  /** Core NATS: one round trip confirms every tuple published before it. */
  private flushNow(): Promise<void> {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const batch = this.unflushed;
    if (batch.length === 0) return this.flushing;
    this.unflushed = [];
    const nc = this.nc!;
    this.flushing = nc.flush().then(
      () => this.settle(batch, true),
      (e) => {
        this.report(e, `flush of ${batch.length} tuples failed`);
        this.settle(batch, false);
      },
    );
    return this.flushing;
  }

  private settle(tuples: Tuple[], ok: boolean): void {
    const c = this.collector!;
    if (ok) for (const t of tuples) c.ack(t);
    else for (const t of tuples) c.fail(t);
    this.inFlight -= tuples.length;
    const wake = this.below;
    if (wake !== null && this.inFlight < (this.options.maxInFlight ?? 1024)) {
      this.below = null;
      wake();
    }
  }

  private report(e: unknown, what: string): void {
    const now = performance.now();
    if (now - this.lastReport < REPORT_EVERY_MS) {
      this.unreported++;
      return;
    }
    const more = this.unreported > 0 ? ` (and ${this.unreported} more failures since the last report)` : "";
    this.lastReport = now;
    this.unreported = 0;
    this.collector?.reportError(new ArdeaError("NATS_PUBLISH", `${this.label}: ${what}: ${(e as Error).message}${more}`, { cause: e }));
  }

  override async finish(): Promise<void> {
    await this.flushNow();
  }

  override async cleanup(): Promise<void> {
    const nc = this.nc;
    if (nc === null) return;
    if (!nc.isClosed()) await this.flushNow().catch(() => {});
    this.nc = null;
    this.js = null;
    await closeNats(nc);
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

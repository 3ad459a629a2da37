/**
 * `JetStreamSpout`: a spout that reads a JetStream stream through a durable
 * pull consumer, so at-least-once holds across process deaths. The stream
 * position lives in the server: a message is acked there only when its
 * tuple tree completes, naked when it fails, and redelivered after the
 * consumer's ack wait when the task holding it dies.
 *
 * Each task opens its own connection and binds the same durable consumer
 * (a work queue: the server spreads messages over the tasks). A background
 * loop fetches batches into a local buffer, never more than the task's share
 * of unacked messages; `nextTuple` emits from the buffer and returns a
 * Promise only when the buffer is empty and it must wait.
 *
 * @module
 */
import { AckPolicy, type Consumer, type JetStreamManager, type JsMsg, nanos, type NatsConnection } from "nats";
import { BaseRichSpout } from "../topology/components.ts";
import type { SpoutOutputCollector } from "../topology/collectors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { ArdeaError } from "../topology/errors.ts";
import { env } from "../runtime/mod.ts";
import { connectNats, type NatsSettings, parseNatsFlags } from "./nats_connect.ts";

/** Options of {@link JetStreamSpout}. */
export interface JetStreamSpoutOptions {
  /** The JetStream stream to read. It must exist. */
  stream: string;
  /** Name of the durable pull consumer, shared by every task of the spout. Created if missing. */
  durable: string;
  /** Only subjects matching this filter (set when the consumer is created). */
  filterSubject?: string;
  /** Messages asked for per pull request. Default 256. */
  batch?: number;
  /**
   * Most messages a task holds unacked (buffered or in a tuple tree).
   * Default `topology.max.spout.pending`. The consumer's `max_ack_pending` is
   * this times the spout's parallelism.
   */
  maxAckPendingPerTask?: number;
  /**
   * The consumer's ack wait, in ms: how long the server waits for an ack
   * before redelivering, which is how the messages of a dead task come back.
   * Must exceed `topology.message.timeout.secs`. Default twice the timeout.
   */
  ackWaitMs?: number;
  /** The consumer's `max_deliver` (deliveries before the server gives a message up). Default unlimited. */
  maxDeliver?: number;
  /** NATS connection settings. Default: the `ARDEA_NATS_*` environment (as containers get it). */
  nats?: NatsSettings;
  /** Message → tuple values. Default `[subject, data]` (data as a `Uint8Array`). */
  decode?: (msg: JsMsg) => unknown[];
  /** Declared output fields. Default `["subject", "data"]`. */
  fields?: string[];
  /**
   * Bounded mode: the task calls `collector.finish()` once no message has
   * arrived for this long, it holds nothing, and the consumer has nothing
   * left to deliver or awaiting an ack (on any task). For tests and batch jobs.
   */
  finishWhenIdleMs?: number;
  /** Pull request expiry, in ms (at least 1000). Default 5000. */
  fetchExpiresMs?: number;
}

/**
 * The spout's setup cannot work: the stream is missing, the ack wait is not
 * longer than the message timeout, the consumer filters other subjects.
 *
 * @example
 * ```ts
 * try { await spout.open(conf, ctx, collector); } catch (e) { if (e instanceof JetStreamSpoutError) console.error(e.code, e.message); }
 * ```
 */
export class JetStreamSpoutError extends ArdeaError {}

/** Least time between two consumer-info checks of bounded mode. */
const DRAIN_CHECK_MS = 250;
/** Longest a `nextTuple` waits for a message before handing the task back. */
const MAX_WAIT_MS = 50;
/** Pause after a failed pull request. */
const RETRY_MS = 500;

function isNotFound(e: unknown): boolean {
  const api = (e as { api_error?: { code?: number } }).api_error;
  return api?.code === 404 || /not found/i.test((e as Error).message ?? "");
}

/**
 * Reads a JetStream stream through a durable pull consumer; acks a message
 * when its tuple tree completes and naks it (redelivery) when the tree fails.
 * Works embedded and in distributed mode, where each container task connects
 * with the `ARDEA_NATS_*` settings it was started with.
 *
 * Component copies are made per task, so the spout keeps its state in plain
 * fields that `open` (re)initialises.
 *
 * @example
 * ```ts
 * import { JetStreamSpout, NatsSinkBolt, TopologyBuilder, submit } from "ardea";
 * const b = new TopologyBuilder();
 * b.setSpout("orders", () => new JetStreamSpout({ stream: "ORDERS", durable: "ardea-orders" }), 2);
 * b.setBolt("out", () => new NatsSinkBolt({ subject: "orders.done", jetstream: true }), 2).shuffleGrouping("orders");
 * await submit("orders", {}, b.createTopology());
 * ```
 */
export class JetStreamSpout extends BaseRichSpout {
  readonly options: JetStreamSpoutOptions;
  private collector: SpoutOutputCollector | null = null;
  private nc: NatsConnection | null = null;
  private jsm: JetStreamManager | null = null;
  private consumer: Consumer | null = null;
  private label = "";
  /** Fetched, not yet emitted. */
  private buffer: JsMsg[] = [];
  private head = 0;
  /** Emitted, tree in flight: msgId → message. */
  private pending = new Map<number, JsMsg>();
  private nextId = 1;
  private limit = 1024;
  private closed = false;
  private paused = false;
  private finished = false;
  private lastActivity = 0;
  private lastDrainCheck = 0;
  /** Resolves a `nextTuple` waiting for a message. */
  private arrival: (() => void) | null = null;
  /** Resolves the pull loop waiting for room or for activation. */
  private room: (() => void) | null = null;
  private pulling: Promise<void> | null = null;

  constructor(options: JetStreamSpoutOptions) {
    super();
    this.options = options;
  }

  override async open(conf: TopologyConfig, context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    const o = this.options;
    const component = context.getThisComponentId();
    this.label = `JetStreamSpout "${component}" (task ${context.getThisTaskId()})`;
    this.collector = collector;
    this.buffer = [];
    this.head = 0;
    this.pending = new Map();
    this.closed = this.paused = this.finished = false;
    this.limit = o.maxAckPendingPerTask ?? conf["topology.max.spout.pending"];
    const timeoutMs = conf["topology.message.timeout.secs"] * 1000;
    const ackWaitMs = o.ackWaitMs ?? timeoutMs * 2;
    if (ackWaitMs <= timeoutMs) {
      throw new JetStreamSpoutError(
        "BAD_ACK_WAIT",
        `${this.label}: ackWaitMs ${ackWaitMs} must exceed topology.message.timeout.secs (${timeoutMs} ms), or messages are redelivered while their trees are in flight`,
      );
    }
    const settings = o.nats ?? parseNatsFlags({}, env);
    const nc = await connectNats(settings, { name: `ardea ${context.getStormId()} ${component}/${context.getThisTaskId()}`, reconnectForever: true });
    this.nc = nc;
    try {
      this.jsm = await nc.jetstreamManager();
      await this.bindConsumer(ackWaitMs, this.limit * context.getComponentTasks(component).length);
      this.consumer = await nc.jetstream().consumers.get(o.stream, o.durable);
    } catch (e) {
      await nc.close();
      this.nc = null;
      throw e;
    }
    this.lastActivity = performance.now();
    this.pulling = this.pullLoop();
  }

  /** Creates the durable consumer, or binds it and brings its ack wait and limits up to date. */
  private async bindConsumer(ackWaitMs: number, maxAckPending: number): Promise<void> {
    const o = this.options, jsm = this.jsm!;
    try {
      await jsm.streams.info(o.stream);
    } catch (e) {
      if (isNotFound(e)) throw new JetStreamSpoutError("NO_STREAM", `${this.label}: no JetStream stream "${o.stream}"`, { cause: e });
      throw e;
    }
    const wanted = { ack_wait: nanos(ackWaitMs), max_ack_pending: maxAckPending, max_deliver: o.maxDeliver ?? -1 };
    for (let attempt = 0;; attempt++) {
      let info;
      try {
        info = await jsm.consumers.info(o.stream, o.durable);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        try {
          await jsm.consumers.add(o.stream, {
            durable_name: o.durable,
            ack_policy: AckPolicy.Explicit,
            ...(o.filterSubject !== undefined ? { filter_subject: o.filterSubject } : {}),
            ...wanted,
          });
          return;
        } catch (e2) {
          // Another task created it first (with other limits): bind it instead.
          if (attempt >= 3) throw e2;
          continue;
        }
      }
      const have = info.config;
      if (o.filterSubject !== undefined && (have.filter_subject ?? "") !== o.filterSubject) {
        throw new JetStreamSpoutError(
          "CONSUMER_MISMATCH",
          `${this.label}: consumer "${o.durable}" of stream "${o.stream}" filters "${have.filter_subject ?? ""}", not "${o.filterSubject}" (delete it or use another durable name)`,
        );
      }
      if (have.ack_wait !== wanted.ack_wait || have.max_ack_pending !== wanted.max_ack_pending || (have.max_deliver ?? -1) !== wanted.max_deliver) {
        await jsm.consumers.update(o.stream, o.durable, wanted);
      }
      return;
    }
  }

  /** Fetches batches while there is room, until closed or finished. */
  private async pullLoop(): Promise<void> {
    const batch = Math.max(1, this.options.batch ?? 256);
    const expires = Math.max(1000, this.options.fetchExpiresMs ?? 5000);
    while (!this.closed && !this.finished) {
      const room = this.limit - (this.buffer.length - this.head) - this.pending.size;
      if (room <= 0 || this.paused) {
        await new Promise<void>((resolve) => (this.room = resolve));
        continue;
      }
      try {
        const messages = await this.consumer!.fetch({ max_messages: Math.min(batch, room), expires });
        for await (const m of messages) this.arrive(m);
      } catch (e) {
        if (this.closed) return;
        this.collector?.reportError(new ArdeaError("JETSTREAM_PULL", `${this.label}: pull from "${this.options.stream}" failed: ${(e as Error).message}`, { cause: e }));
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private arrive(m: JsMsg): void {
    if (this.closed || this.finished || this.paused) {
      // Not ours to emit any more: hand it back at once.
      this.quietly(() => m.nak());
      return;
    }
    this.buffer.push(m);
    this.lastActivity = performance.now();
    const wake = this.arrival;
    this.arrival = null;
    wake?.();
  }

  private wakePuller(): void {
    const wake = this.room;
    this.room = null;
    wake?.();
  }

  private emitOne(): void {
    const m = this.buffer[this.head]!;
    this.buffer[this.head++] = undefined as unknown as JsMsg;
    if (this.head === this.buffer.length) {
      this.buffer.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    const id = this.nextId++;
    this.pending.set(id, m);
    const decode = this.options.decode;
    let values: unknown[];
    try {
      values = decode ? decode(m) : [m.subject, m.data];
    } catch (e) {
      // A message that cannot be decoded would fail forever: report and drop it.
      this.pending.delete(id);
      this.quietly(() => m.term());
      this.collector!.reportError(new ArdeaError("BAD_MESSAGE", `${this.label}: cannot decode message ${m.seq} of "${this.options.stream}": ${(e as Error).message}`, { cause: e }));
      return;
    }
    this.collector!.emit(values, id);
  }

  nextTuple(): void | Promise<void> {
    if (this.head < this.buffer.length) return this.emitOne();
    if (this.finished || this.closed || this.paused) return;
    if (this.options.finishWhenIdleMs !== undefined) {
      const now = performance.now();
      if (this.pending.size === 0 && now - this.lastActivity >= this.options.finishWhenIdleMs && now - this.lastDrainCheck >= DRAIN_CHECK_MS) {
        this.lastDrainCheck = now;
        return this.finishIfDrained();
      }
    }
    if (this.pending.size >= this.limit) return; // acks make room; the actor wakes us
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.arrival = null;
        resolve();
      }, MAX_WAIT_MS);
      this.arrival = () => {
        clearTimeout(timer);
        if (this.head < this.buffer.length) this.emitOne();
        resolve();
      };
    });
  }

  /** Bounded mode: finishes when the consumer has nothing undelivered or unacked anywhere. */
  private async finishIfDrained(): Promise<void> {
    let info;
    try {
      info = await this.jsm!.consumers.info(this.options.stream, this.options.durable);
    } catch {
      return; // try again later
    }
    if (info.num_pending > 0 || info.num_ack_pending > 0) return;
    if (this.head < this.buffer.length || this.pending.size > 0 || this.finished) return;
    this.finished = true;
    this.wakePuller();
    this.collector!.finish();
  }

  override ack(msgId: unknown): void {
    const m = this.pending.get(msgId as number);
    if (m === undefined) return; // a tree of an earlier instance: the server redelivers it
    this.pending.delete(msgId as number);
    this.quietly(() => m.ack());
    this.wakePuller();
  }

  override fail(msgId: unknown): void {
    const m = this.pending.get(msgId as number);
    if (m === undefined) return;
    this.pending.delete(msgId as number);
    this.quietly(() => m.nak());
    this.lastActivity = performance.now();
    this.wakePuller();
  }

  override deactivate(): void {
    // Held messages would outlive the ack wait: give the buffered ones back.
    this.paused = true;
    this.nakBuffered();
  }

  override activate(): void {
    this.paused = false;
    this.lastActivity = performance.now();
    this.wakePuller();
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.nakBuffered();
    this.wakePuller();
    this.arrival?.();
    // Trees in flight die with this instance: redeliver now rather than after the ack wait.
    for (const m of this.pending.values()) this.quietly(() => m.nak());
    this.pending.clear();
    const nc = this.nc;
    this.nc = null;
    if (nc !== null && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
    // The pull loop ends with the connection; do not hang a shutdown on it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.pulling, new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
  }

  private nakBuffered(): void {
    for (let i = this.head; i < this.buffer.length; i++) {
      const m = this.buffer[i]!;
      this.quietly(() => m.nak());
    }
    this.buffer.length = 0;
    this.head = 0;
  }

  private quietly(f: () => void): void {
    try {
      f();
    } catch {
      // The connection is closing; the server redelivers after the ack wait.
    }
  }

  declareOutputFields(declarer: OutputFieldsDeclarer): void {
    declarer.declare(this.options.fields ?? ["subject", "data"]);
  }
}

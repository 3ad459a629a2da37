/**
 * `JetStreamSpout`: a spout that reads a JetStream stream.
 *
 * ATLEAST_ONCE (and ATMOST_ONCE): through a durable pull consumer, so
 * at-least-once holds across process deaths. The stream position lives in
 * the server: a message is acked there only when its tuple tree completes,
 * naked when it fails, and redelivered after the consumer's ack wait when the
 * task holding it dies. Each task binds the same durable consumer (a work
 * queue: the server spreads messages over the tasks).
 *
 * EFFECTIVELY_ONCE: the position lives in the checkpoint instead. Every task
 * reads the stream in order through its own consumer (no acks) and keeps its
 * partition of the messages (see `jetstream_positions.ts`); at a checkpoint
 * it saves the stream sequence up to which it has emitted its partition, and
 * after a rollback or a restart it reads again from that sequence + 1.
 *
 * In both modes a background loop fetches batches into a local buffer, never
 * more than the task's share; `nextTuple` emits from the buffer and returns a
 * Promise only when the buffer is empty and it must wait.
 *
 * @module
 */
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  nanos,
  type NatsConnection,
  RetentionPolicy,
  type StreamInfo,
} from "nats";
import { BaseRichSpout } from "../topology/components.ts";
import type { SpoutOutputCollector } from "../topology/collectors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { ArdeaError } from "../topology/errors.ts";
import type { KeyValueState } from "../topology/stateful.ts";
import { env } from "../runtime/mod.ts";
import { closeNats, connectNats, type NatsSettings, parseNatsFlags } from "./nats_connect.ts";
import { START_SEQUENCES_KEY } from "./start_sequences.ts";
import {
  mergePositions,
  type PartitionMode,
  partitionToken,
  STREAM_KEY,
  StreamPositions,
} from "./jetstream_positions.ts";

/** Options of {@link JetStreamSpout}. */
export interface JetStreamSpoutOptions {
  /** The JetStream stream to read. It must exist. */
  stream: string;
  /**
   * Name of the durable pull consumer, shared by every task of the spout.
   * Created if missing. In EFFECTIVELY_ONCE, task `i` reads through its own
   * consumer `<durable>-eo-<i>` instead (made again at every start).
   */
  durable: string;
  /** Only subjects matching this filter (set when the consumer is created). */
  filterSubject?: string;
  /**
   * Where reading starts when there is no position yet: the deliver policy
   * of the durable consumer when the spout creates it (ATLEAST_ONCE), or of
   * a clean EFFECTIVELY_ONCE start (`topology.stateful.start.clean`, or no
   * checkpoint yet). Default `"all"`. In EFFECTIVELY_ONCE, `"new"`, `"last"`
   * and `"by_start_time"` are resolved to a stream sequence once per
   * submission (`resolveStartSequences` (start_sequences.ts): at `ardea submit`, or when an
   * embedded run starts), so every task and every rollback start there.
   */
  deliverPolicy?: "all" | "new" | "last" | "by_start_sequence" | "by_start_time";
  /** First stream sequence, with `deliverPolicy: "by_start_sequence"`. */
  optStartSeq?: number;
  /** First message time (ISO 8601), with `deliverPolicy: "by_start_time"`. */
  optStartTime?: string;
  /**
   * EFFECTIVELY_ONCE: how the tasks share the stream. `"sequence"` (the
   * default) and `"subject"`: each task reads all of it and keeps the
   * messages whose partition is its index: `"sequence"` hashes the stream
   * sequence, an even spread whatever the subjects; `"subject"` hashes the
   * subject, so one task emits all the messages of a subject, in stream
   * order. `"token<k>"` (e.g. `"token1"`): the partition is the decimal
   * number in subject token k (from 0), and task i reads only the messages
   * whose token k is `i`, through a consumer filtering `filterSubject` with
   * token k (which must be `*`) set to `i`; publishers write partition p of
   * n (n = the spout's parallelism) as that token, and a message whose
   * token is not a task index is read by no task.
   */
  partition?: PartitionMode;
  /** Messages asked for per pull request. Default 256. */
  batch?: number;
  /**
   * Most messages a task holds unacked (buffered or in a tuple tree).
   * Default `topology.max.spout.pending`. The consumer's `max_ack_pending` is
   * this times the spout's parallelism. EFFECTIVELY_ONCE: most messages a
   * task holds fetched and not yet emitted.
   */
  maxAckPendingPerTask?: number;
  /**
   * The consumer's ack wait, in ms: how long the server waits for an ack
   * before redelivering, which is how the messages of a dead task come back.
   * Must exceed `topology.message.timeout.secs`. Default twice the timeout.
   * Not used in EFFECTIVELY_ONCE (nothing is acked).
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
   * left to deliver or awaiting an ack (on any task; in EFFECTIVELY_ONCE:
   * the task's consumer has read the stream to its end). For tests and batch jobs.
   */
  finishWhenIdleMs?: number;
  /** Pull request expiry, in ms (at least 1000). Default 5000. */
  fetchExpiresMs?: number;
}

/**
 * The spout's setup cannot work: the stream is missing, the ack wait is not
 * longer than the message timeout, the consumer filters other subjects; in
 * EFFECTIVELY_ONCE: the stream does not keep messages after delivery
 * (`NOT_REPLAYABLE`), the saved position is of another stream
 * (`OTHER_STREAM`) or beyond the stream's end (`STREAM_RESET`).
 *
 * @example
 * ```ts
 * import type { SpoutOutputCollector, TopologyConfig, TopologyContext } from "ardea";
 * declare const spout: JetStreamSpout;
 * declare const conf: TopologyConfig;
 * declare const ctx: TopologyContext;
 * declare const collector: SpoutOutputCollector;
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
/** EFFECTIVELY_ONCE: the server removes a task's consumer after this long without a pull (the task is gone). */
const EO_INACTIVE_MS = 60_000;

function isNotFound(e: unknown): boolean {
  const api = (e as { api_error?: { code?: number } }).api_error;
  return api?.code === 404 || /not found/i.test((e as Error).message ?? "");
}

/**
 * Reads a JetStream stream. Works embedded and in distributed mode, where
 * each container task connects with the `ARDEA_NATS_*` settings it was
 * started with. Component copies are made per task, so the spout keeps its
 * state in plain fields that `open` (re)initialises.
 *
 * ATLEAST_ONCE: through a durable pull consumer; acks a message when its
 * tuple tree completes and naks it (redelivery) when the tree fails.
 *
 * EFFECTIVELY_ONCE (a replayable source, accepted with stateful bolts):
 * - Partitioning. Every task reads the stream in order through its own
 *   ack-less consumer (`<durable>-eo-<task index>`, starting at a sequence)
 *   and emits only the messages of its partition: a hash of the stream
 *   sequence (default) or of the subject, modulo the task count, or the
 *   partition number written in a subject token (`partition: "token<k>"`).
 *   Which task emits a message depends only on the message and the task
 *   count, so a replay emits the same messages from the same tasks. With a
 *   hash, each of the n tasks receives every message and drops n-1 of n
 *   (nats-server 2.9 gives a consumer one filter subject, so a hash cannot
 *   be filtered on the server; cheap next to the downstream work at a
 *   parallelism of a few). With a token, task i's consumer filters token
 *   k = i, so it receives only its own partition.
 * - Position. At each checkpoint a task saves the stream sequence up to
 *   which it has emitted its partition (`"<mode>/<n>/<index>"` → sequence,
 *   and the stream name). On a rollback or a restart from the state
 *   directory it reads again from the saved sequence + 1; what it had
 *   fetched but not emitted is dropped with the old instance. With no
 *   position (a clean start), it starts at `deliverPolicy`, resolved to a
 *   sequence once per submission (`resolveStartSequences`, start_sequences.ts), so that
 *   all tasks and a rollback before the first checkpoint agree.
 * - Rescaling. When the spout's task count changed since the checkpoint
 *   (`ardea update`, or a restart with another parallelism), every new task
 *   gets the positions of all the old ones: it starts after the smallest,
 *   and skips the messages an old task had already emitted (see
 *   `jetstream_positions.ts`). Nothing is lost or emitted twice.
 * - Nothing is acked on the server, so the stream must keep its messages
 *   (`retention: limits`; work-queue and interest streams are refused), and
 *   messages its limits discard before a task reads them are gone (reported).
 *
 * @example
 * ```ts
 * import { type BaseBasicBolt, Fields, submit, TopologyBuilder } from "ardea";
 * declare const CountBolt: new () => BaseBasicBolt;
 * const b = new TopologyBuilder();
 * b.setSpout("events", new JetStreamSpout({ stream: "EVENTS", durable: "ardea-events", partition: "subject" }), 2);
 * b.setBolt("count", () => new CountBolt(), 2).fieldsGrouping("events", new Fields("subject"));
 * await submit("events", { "topology.reliability.mode": "EFFECTIVELY_ONCE" }, b.createTopology());
 * ```
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
  /**
   * EFFECTIVELY_ONCE: the first stream sequence that `deliverPolicy` means
   * now, found with a throwaway consumer of that policy (its delivered
   * stream sequence + 1). Called once per submission (see
   * `resolveStartSequences` (start_sequences.ts)); undefined for `"all"` and
   * `"by_start_sequence"`, which need no resolving.
   */
  async resolveStart(component: string, conf: TopologyConfig, shared?: NatsConnection): Promise<number | undefined> {
    const o = this.options;
    const policy = o.deliverPolicy ?? "all";
    if (
      conf["topology.reliability.mode"] !== "EFFECTIVELY_ONCE" || policy === "all" || policy === "by_start_sequence"
    ) return undefined;
    this.label = `JetStreamSpout "${component}"`;
    const nc = o.nats === undefined && shared !== undefined
      ? shared
      : await connectNats(o.nats ?? parseNatsFlags({}, env), { name: `ardea resolve ${component}` });
    try {
      const jsm = await nc.jetstreamManager();
      this.jsm = jsm;
      await this.streamInfo();
      const ci = await jsm.consumers.add(o.stream, {
        ack_policy: AckPolicy.None,
        mem_storage: true,
        inactive_threshold: nanos(10_000),
        ...(o.filterSubject !== undefined ? { filter_subject: o.filterSubject } : {}),
        ...this.deliverConfig(),
      });
      await jsm.consumers.delete(o.stream, ci.name).catch(() => {});
      return ci.delivered.stream_seq + 1;
    } finally {
      this.jsm = null;
      if (nc !== shared) await closeNats(nc);
    }
  }

  /** EFFECTIVELY_ONCE: the checkpointed state (set by `initState` before `open`). */
  private state: KeyValueState<string, unknown> | null = null;
  /** EFFECTIVELY_ONCE: this task's partition and saved positions (null in other modes). */
  private positions: StreamPositions | null = null;
  /** EFFECTIVELY_ONCE: this task's consumer. */
  private eoConsumer = "";
  /** EFFECTIVELY_ONCE, partition `"token<k>"`: this task's filter subject (the server sends only its partition); else null. */
  private ownFilter: string | null = null;
  /**
   * EFFECTIVELY_ONCE: the last stream sequence received (buffered or not
   * this task's), or the sequence before the start; -1 while the start is
   * not known yet (`deliverPolicy` "last" or "by_start_time", nothing received).
   */
  private readUpTo = -1;

  constructor(options: JetStreamSpoutOptions) {
    super();
    this.options = options;
  }

  /** EFFECTIVELY_ONCE: the state of the last committed checkpoint (empty on a clean start). */
  initState(state: KeyValueState<string, unknown>): void {
    this.state = state;
  }

  /** EFFECTIVELY_ONCE: saves the sequence up to which this task has emitted its partition. */
  preSave(_checkpointId: number): void {
    const p = this.positions;
    if (p === null) return;
    const upTo = this.head < this.buffer.length ? this.buffer[this.head]!.seq - 1 : this.readUpTo;
    if (upTo >= 0) p.save(upTo);
  }

  /** Nothing to commit: the position is in the checkpoint, and nothing is acked on the server. */
  postSave(_checkpointId: number): void {}

  /** The instance is about to be replaced; it emits nothing more. */
  preRestore(): void {}

  /** The spout's task count changed since the checkpoint: every new task gets every old position. */
  rescaleStates(
    saved: readonly KeyValueState<string, unknown>[],
    targets: readonly KeyValueState<string, unknown>[],
  ): void {
    mergePositions(saved, targets);
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
    this.positions = null;
    this.ownFilter = null;
    this.readUpTo = -1;
    this.limit = o.maxAckPendingPerTask ?? conf["topology.max.spout.pending"];
    const effectivelyOnce = conf["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
    const timeoutMs = conf["topology.message.timeout.secs"] * 1000;
    const ackWaitMs = o.ackWaitMs ?? timeoutMs * 2;
    if (!effectivelyOnce && ackWaitMs <= timeoutMs) {
      throw new JetStreamSpoutError(
        "BAD_ACK_WAIT",
        `${this.label}: ackWaitMs ${ackWaitMs} must exceed topology.message.timeout.secs (${timeoutMs} ms), or messages are redelivered while their trees are in flight`,
      );
    }
    const settings = o.nats ?? parseNatsFlags({}, env);
    const nc = await connectNats(settings, {
      name: `ardea ${context.getStormId()} ${component}/${context.getThisTaskId()}`,
      reconnectForever: true,
    });
    this.nc = nc;
    try {
      this.jsm = await nc.jetstreamManager();
      const info = await this.streamInfo();
      if (effectivelyOnce) {
        const starts = conf[START_SEQUENCES_KEY] as Record<string, unknown> | undefined;
        await this.openPositions(
          info,
          context.getComponentTasks(component).length,
          context.getThisTaskIndex(),
          starts?.[component],
        );
      } else {
        await this.bindConsumer(ackWaitMs, this.limit * context.getComponentTasks(component).length);
        this.consumer = await nc.jetstream().consumers.get(o.stream, o.durable);
      }
    } catch (e) {
      await nc.close();
      this.nc = null;
      throw e;
    }
    this.lastActivity = performance.now();
    this.pulling = this.pullLoop();
  }

  private async streamInfo(): Promise<StreamInfo> {
    try {
      return await this.jsm!.streams.info(this.options.stream);
    } catch (e) {
      if (isNotFound(e)) {
        throw new JetStreamSpoutError("NO_STREAM", `${this.label}: no JetStream stream "${this.options.stream}"`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  /** The deliver policy of `deliverPolicy`, for a consumer's config. */
  private deliverConfig(): Partial<ConsumerConfig> {
    const o = this.options;
    switch (o.deliverPolicy ?? "all") {
      case "all":
        return { deliver_policy: DeliverPolicy.All };
      case "new":
        return { deliver_policy: DeliverPolicy.New };
      case "last":
        return { deliver_policy: DeliverPolicy.Last };
      case "by_start_sequence":
        if (o.optStartSeq === undefined || !(o.optStartSeq >= 1)) {
          throw new JetStreamSpoutError(
            "BAD_START",
            `${this.label}: deliverPolicy "by_start_sequence" needs optStartSeq ≥ 1`,
          );
        }
        return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.optStartSeq };
      case "by_start_time":
        if (o.optStartTime === undefined || Number.isNaN(Date.parse(o.optStartTime))) {
          throw new JetStreamSpoutError(
            "BAD_START",
            `${this.label}: deliverPolicy "by_start_time" needs optStartTime (ISO 8601)`,
          );
        }
        return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(o.optStartTime).toISOString() };
    }
  }

  /**
   * EFFECTIVELY_ONCE: reads the saved position (or else the start resolved
   * at submission, or else the deliver policy) and makes this task's consumer.
   */
  private async openPositions(info: StreamInfo, tasks: number, index: number, resolved: unknown): Promise<void> {
    const o = this.options;
    if (info.config.retention !== RetentionPolicy.Limits) {
      throw new JetStreamSpoutError(
        "NOT_REPLAYABLE",
        `${this.label}: stream "${o.stream}" has retention "${info.config.retention}", which drops messages once delivered; EFFECTIVELY_ONCE replays from the stream and needs retention "limits"`,
      );
    }
    const state = this.state;
    if (state === null) {
      throw new JetStreamSpoutError(
        "NO_STATE",
        `${this.label}: EFFECTIVELY_ONCE, but the engine gave this task no state`,
      );
    }
    const mode = o.partition ?? "sequence";
    this.ownFilter = this.partitionFilter(mode, index);
    const savedStream = state.get(STREAM_KEY);
    const p = new StreamPositions(state, mode, tasks, index);
    if (p.saved && savedStream !== undefined && savedStream !== o.stream) {
      throw new JetStreamSpoutError(
        "OTHER_STREAM",
        `${this.label}: the checkpoint holds positions in stream "${
          String(savedStream)
        }", not "${o.stream}" (start clean with topology.stateful.start.clean)`,
      );
    }
    state.put(STREAM_KEY, o.stream);
    let from: Partial<ConsumerConfig>;
    if (p.saved) {
      if (p.start - 1 > info.state.last_seq) {
        throw new JetStreamSpoutError(
          "STREAM_RESET",
          `${this.label}: the checkpoint read stream "${o.stream}" up to sequence ${
            p.start - 1
          }, but its last sequence is ${info.state.last_seq} (was it deleted and made again? start clean with topology.stateful.start.clean)`,
        );
      }
      if (info.state.messages > 0 && info.state.first_seq > p.start) {
        this.collector!.reportError(
          new ArdeaError(
            "MESSAGES_GONE",
            `${this.label}: stream "${o.stream}" discarded sequences ${p.start}…${
              info.state.first_seq - 1
            } (its limits) before this task read them`,
          ),
        );
      }
      this.readUpTo = p.start - 1;
      from = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: p.start };
    } else if (typeof resolved === "number" && Number.isSafeInteger(resolved) && resolved >= 1) {
      // Resolved once, at submission: every task and every rollback start here.
      this.readUpTo = resolved - 1;
      from = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resolved };
    } else {
      from = this.deliverConfig();
      const policy = o.deliverPolicy ?? "all";
      if (policy === "all") this.readUpTo = 0;
      else if (policy === "new") {
        // Pinned now, so that the position is known before anything arrives.
        this.readUpTo = info.state.last_seq;
        from = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.state.last_seq + 1 };
      } else if (policy === "by_start_sequence") this.readUpTo = o.optStartSeq! - 1;
    }
    this.positions = p;
    this.eoConsumer = `${o.durable}-eo-${index}`;
    await this.makeReader(from);
  }

  /**
   * Partition `"token<k>"`: `filterSubject` with token k set to this task's
   * index (null for the hashed modes, which read the whole stream).
   */
  private partitionFilter(mode: PartitionMode, index: number): string | null {
    if (mode === "sequence" || mode === "subject") return null;
    const k = partitionToken(mode);
    const tokens = this.options.filterSubject?.split(".") ?? [];
    if (!Number.isSafeInteger(k) || k < 0 || tokens[k] !== "*") {
      throw new JetStreamSpoutError(
        "BAD_PARTITION",
        `${this.label}: partition "${mode}" needs a filterSubject whose token ${
          Number.isSafeInteger(k) ? k : "k"
        } (from 0) is "*" ` +
          `(e.g. "orders.*.>" with "token1"), got ${JSON.stringify(this.options.filterSubject ?? null)}`,
      );
    }
    tokens[k] = String(index);
    return tokens.join(".");
  }

  /** EFFECTIVELY_ONCE: (re)makes this task's ack-less consumer, starting at `from`. */
  private async makeReader(from: Partial<ConsumerConfig>): Promise<void> {
    const o = this.options, jsm = this.jsm!;
    for (let attempt = 0;; attempt++) {
      // A consumer of an earlier instance of this task starts elsewhere: replace it.
      await jsm.consumers.delete(o.stream, this.eoConsumer).catch(() => {});
      try {
        await jsm.consumers.add(o.stream, {
          name: this.eoConsumer,
          ack_policy: AckPolicy.None,
          mem_storage: true,
          inactive_threshold: nanos(EO_INACTIVE_MS),
          ...(this.ownFilter !== null
            ? { filter_subject: this.ownFilter }
            : o.filterSubject !== undefined
            ? { filter_subject: o.filterSubject }
            : {}),
          ...from,
        });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    this.consumer = await this.nc!.jetstream().consumers.get(o.stream, this.eoConsumer);
  }

  /** Creates the durable consumer, or binds it and brings its ack wait and limits up to date. */
  private async bindConsumer(ackWaitMs: number, maxAckPending: number): Promise<void> {
    const o = this.options, jsm = this.jsm!;
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
            ...(o.deliverPolicy !== undefined ? this.deliverConfig() : {}),
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
          `${this.label}: consumer "${o.durable}" of stream "${o.stream}" filters "${
            have.filter_subject ?? ""
          }", not "${o.filterSubject}" (delete it or use another durable name)`,
        );
      }
      if (
        have.ack_wait !== wanted.ack_wait || have.max_ack_pending !== wanted.max_ack_pending ||
        (have.max_deliver ?? -1) !== wanted.max_deliver
      ) {
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
        let got = 0;
        for await (const m of messages) {
          got++;
          this.arrive(m);
        }
        // An empty pull may mean the server deleted the consumer under it: no error is raised then, the
        // pull just runs to its expiry (a stall of up to `fetchExpiresMs`, after which reading resumes).
        if (got === 0 && this.positions !== null && !this.closed) await this.remakeReaderIfGone();
      } catch (pullError) {
        if (this.closed) return;
        let e: unknown = pullError;
        if (this.positions !== null) {
          try {
            if (await this.remakeReaderIfGone()) continue;
          } catch (e2) {
            e = e2;
          }
        }
        this.collector?.reportError(
          new ArdeaError(
            "JETSTREAM_PULL",
            `${this.label}: pull from "${this.options.stream}" failed: ${(e as Error).message}`,
            { cause: e },
          ),
        );
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /**
   * EFFECTIVELY_ONCE, after a failed pull: when the server no longer has this
   * task's consumer (idle past its inactive threshold, or deleted), makes it
   * again where reading stopped. Returns whether it did.
   */
  private async remakeReaderIfGone(): Promise<boolean> {
    try {
      await this.jsm!.consumers.info(this.options.stream, this.eoConsumer);
      return false;
    } catch (e) {
      if (!isNotFound(e) || this.closed) throw e;
    }
    await this.makeReader(
      this.readUpTo >= 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.readUpTo + 1 }
        : this.deliverConfig(),
    );
    return true;
  }

  private arrive(m: JsMsg): void {
    const p = this.positions;
    if (p !== null) return this.arriveInOrder(m, p);
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

  /** EFFECTIVELY_ONCE: keeps the messages of this task's partition that no saved position covers. */
  private arriveInOrder(m: JsMsg, p: StreamPositions): void {
    // After `finish`, a later message must stay ahead of the saved position.
    if (this.closed || this.finished) return;
    const seq = m.seq;
    if (seq <= this.readUpTo) return; // a consumer made again delivered it already
    this.readUpTo = seq;
    this.lastActivity = performance.now();
    // Partition "token<k>": the server sent only this task's partition.
    if ((this.ownFilter === null && !p.owns(seq, m.subject)) || (p.hasOlder && p.covered(seq, m.subject))) return;
    this.buffer.push(m);
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
      if (this.positions !== null) this.wakePuller();
    } else if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    const decode = this.options.decode;
    if (this.positions !== null) {
      // EFFECTIVELY_ONCE: no tuple tree; the checkpoint covers it.
      let values: unknown[];
      try {
        values = decode ? decode(m) : [m.subject, m.data];
      } catch (e) {
        this.badMessage(m, e);
        return;
      }
      this.collector!.emit(values);
      if (this.buffer.length - this.head < this.limit >> 1) this.wakePuller();
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, m);
    let values: unknown[];
    try {
      values = decode ? decode(m) : [m.subject, m.data];
    } catch (e) {
      // A message that cannot be decoded would fail forever: report and drop it.
      this.pending.delete(id);
      this.quietly(() => m.term());
      this.badMessage(m, e);
      return;
    }
    this.collector!.emit(values, id);
  }

  private badMessage(m: JsMsg, e: unknown): void {
    this.collector!.reportError(
      new ArdeaError(
        "BAD_MESSAGE",
        `${this.label}: cannot decode message ${m.seq} of "${this.options.stream}": ${(e as Error).message}`,
        { cause: e },
      ),
    );
  }

  nextTuple(): void | Promise<void> {
    if (this.head < this.buffer.length) return this.emitOne();
    if (this.finished || this.closed || this.paused) return;
    if (this.options.finishWhenIdleMs !== undefined) {
      const now = performance.now();
      if (
        this.pending.size === 0 && now - this.lastActivity >= this.options.finishWhenIdleMs &&
        now - this.lastDrainCheck >= DRAIN_CHECK_MS
      ) {
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

  /**
   * Bounded mode: finishes when the consumer has nothing undelivered or
   * unacked anywhere (EFFECTIVELY_ONCE: when this task's consumer has
   * delivered the whole stream).
   */
  private async finishIfDrained(): Promise<void> {
    let info;
    try {
      info = await this.jsm!.consumers.info(
        this.options.stream,
        this.positions !== null ? this.eoConsumer : this.options.durable,
      );
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
    this.paused = true;
    // Held messages would outlive the ack wait: give the buffered ones back.
    // (EFFECTIVELY_ONCE keeps them: they are ahead of the saved position.)
    if (this.positions === null) this.nakBuffered();
  }

  override activate(): void {
    this.paused = false;
    this.lastActivity = performance.now();
    this.wakePuller();
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const eo = this.positions !== null;
    if (eo) {
      this.buffer.length = 0;
      this.head = 0;
    } else this.nakBuffered();
    this.wakePuller();
    this.arrival?.();
    // Trees in flight die with this instance: redeliver now rather than after the ack wait.
    for (const m of this.pending.values()) this.quietly(() => m.nak());
    this.pending.clear();
    const nc = this.nc;
    this.nc = null;
    if (nc !== null && !nc.isClosed()) {
      if (eo) {
        // Would expire on its own; the next start of this task replaces it anyway.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.jsm!.consumers.delete(this.options.stream, this.eoConsumer).catch(() => {}),
          new Promise((r) => (timer = setTimeout(r, 1000))),
        ]);
        clearTimeout(timer);
      }
      await closeNats(nc);
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

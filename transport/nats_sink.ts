/**
 * `NatsSinkBolt`: publishes each tuple to NATS and acks it only once the
 * server has it. With JetStream that is the publish's PubAck (a failed or
 * timed-out publish fails the tuple, so the spout replays it); with core
 * NATS it is a `flush()` round trip, taken once per batch of tuples, never
 * per tuple.
 *
 * EFFECTIVELY_ONCE (two-phase, JetStream only): the output of a checkpoint
 * is kept in the bolt's state and published only once that checkpoint is
 * committed by every task (`postSave`), each message with the id
 * `<topology>/<lineage>/<task>/<checkpoint>/<n>` (`Nats-Msg-Id`), so that the
 * stream's duplicate window drops a batch published again. The lineage is
 * drawn at a clean start and kept in the state, so a restored run names its
 * batches as before, while a run started clean under the same name (whose
 * checkpoint ids start at 1 again) is not taken for a duplicate of the last. A committed batch stays in
 * the state until every message of it is confirmed (PubAck): after a restart
 * from a checkpoint that still holds it, it is published again.
 *
 * @module
 */
import type { JetStreamClient, JetStreamManager, NatsConnection } from "nats";
import { BaseRichBolt } from "../topology/components.ts";
import type { OutputCollector } from "../topology/collectors.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { ArdeaError } from "../topology/errors.ts";
import type { KeyValueState } from "../topology/stateful.ts";
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
   * drops a replayed tuple's duplicate within its duplicate window. Not with
   * EFFECTIVELY_ONCE, which names every message itself.
   */
  msgId?: (tuple: Tuple) => string;
  /**
   * EFFECTIVELY_ONCE: the JetStream stream the subjects go to, whose
   * duplicate window is checked at `prepare`. Default: the stream that
   * captures `subject` (which must then be a string).
   */
  stream?: string;
  /** NATS connection settings. Default: the `ARDEA_NATS_*` environment. */
  nats?: NatsSettings;
  /** Core NATS: longest a published tuple waits for its flush, in ms. Default 5. */
  flushIntervalMs?: number;
  /** Most tuples published and not yet confirmed; beyond it `execute` waits. Default 1024. */
  maxInFlight?: number;
  /** JetStream: PubAck timeout in ms. Default 5000. */
  publishTimeoutMs?: number;
}

/** EFFECTIVELY_ONCE: the state key of the lineage of the message ids (batch keys hold a `/`). */
const LINEAGE_KEY = "lineage";

/** Least time between two reports of publish failures. */
const REPORT_EVERY_MS = 1000;

/**
 * `NatsSinkBolt` cannot run as configured: EFFECTIVELY_ONCE without
 * JetStream (`NEEDS_JETSTREAM`), with a `msgId` of its own (`BAD_OPTION`),
 * without a stream it can name (`NO_STREAM`), or with a stream whose
 * duplicate window is shorter than the longest recovery (`DUPLICATE_WINDOW`).
 *
 * @example
 * ```ts
 * import type { OutputCollector, TopologyConfig, TopologyContext } from "ardea";
 * declare const sink: NatsSinkBolt, conf: TopologyConfig, ctx: TopologyContext, collector: OutputCollector;
 * try { await sink.prepare(conf, ctx, collector); } catch (e) { if (e instanceof NatsSinkError) console.error(e.code, e.message); }
 * ```
 */
export class NatsSinkError extends ArdeaError {}

/** The master's silence limit before it kills a container, plus its 2 s watch (cluster/master.ts). */
const DETECT_MS = 12_000;
/** The master's grace between SIGTERM and SIGKILL when it stops the containers for a rollback (cluster/master.ts). */
const STOP_GRACE_MS = 10_000;
/** The longest pause between two embedded rollbacks (engine/submit.ts). */
const ROLLBACK_BACKOFF_MS = 1_000;

/**
 * EFFECTIVELY_ONCE: the longest time between the first publish of a
 * committed batch and its last publish again, which the output stream's
 * duplicate window must cover.
 *
 * A batch is published again only by a run restored from a checkpoint that
 * still holds it, and every such run but the first follows a failure that
 * came before any new checkpoint. Ardea fails the topology after
 * `F = topology.supervisor.max.consecutive.failures` rollbacks in a row
 * without a new checkpoint, and a run that commits nothing within
 * `G = max(10 × topology.stateful.checkpoint.interval.seconds, 30 s)` is
 * stuck (the master abandons such a checkpoint). Each failed attempt also
 * costs the detection of a silent container (`D` = 12 s), the stop of the
 * others (`S` = 10 s) and the rollback backoff (`B` = 1 s); the last
 * attempt's publish may wait its PubAck timeout (`P`):
 *
 *     window ≥ F × (G + D + S + B) + P
 *
 * With the defaults (F = 20, checkpoints every second, P = 5 s) that is
 * 1065 s, about 18 minutes: set the stream's `duplicate_window` at least
 * that long, or lower F.
 *
 * @example
 * ```ts
 * import { type JetStreamManager, nanos } from "nats";
 * import { parseConfig } from "ardea";
 * declare const jsm: JetStreamManager;
 * const ms = effectivelyOnceRecoveryMs(parseConfig({ "topology.supervisor.max.consecutive.failures": 3 }));
 * await jsm.streams.add({ name: "OUT", subjects: ["out.>"], duplicate_window: nanos(ms) });
 * ```
 */
export function effectivelyOnceRecoveryMs(conf: TopologyConfig, publishTimeoutMs = 5000): number {
  const failures = conf["topology.supervisor.max.consecutive.failures"];
  const stuck = Math.max(10 * conf["topology.stateful.checkpoint.interval.seconds"] * 1000, 30_000);
  return failures * (stuck + DETECT_MS + STOP_GRACE_MS + ROLLBACK_BACKOFF_MS) + publishTimeoutMs;
}

/** EFFECTIVELY_ONCE: one checkpoint's output in the state: [checkpoint id, subjects (null: the fixed subject), payloads]. */
type Batch = [number, string[] | null, Uint8Array[]];

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
  const v = tuple.contains("data")
    ? tuple.getValueByField("data")
    : tuple.size() === 1
    ? tuple.getValue(0)
    : tuple.getValues();
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return utf8.encode(v);
  return utf8.encode(JSON.stringify(v));
}

/**
 * Publishes every input tuple to NATS (core or JetStream) and acks it once
 * the server confirmed it; a terminal bolt (it emits nothing).
 *
 * EFFECTIVELY_ONCE: keeps what it would publish in its checkpointed state
 * and publishes a checkpoint's output once the checkpoint is committed (see
 * the module doc); `jetstream: true` is required, and the stream's
 * `duplicate_window` must be at least {@link effectivelyOnceRecoveryMs}.
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
  /** EFFECTIVELY_ONCE: the checkpointed state (batches committed or saved, not yet confirmed). */
  private state: KeyValueState<string, Batch> | null = null;
  private effectivelyOnce = false;
  /** EFFECTIVELY_ONCE: `<topology>/<lineage>/<task>`, the start of this task's message ids. */
  private idPrefix = "";
  /** EFFECTIVELY_ONCE: output since the last checkpoint (subjects only when `subject` is a function). */
  private subjects: string[] = [];
  private payloads: Uint8Array[] = [];
  /** EFFECTIVELY_ONCE: batches being published, by state key. */
  private publishing = new Map<string, Promise<void>>();
  private closed = false;

  constructor(options: NatsSinkOptions) {
    super();
    this.options = options;
  }

  /** EFFECTIVELY_ONCE: the state of the last committed checkpoint (the batches it holds are published at `postSave`). */
  initState(state: KeyValueState<string, unknown>): void {
    this.state = state as KeyValueState<string, Batch>;
  }

  /** EFFECTIVELY_ONCE: the output since the last checkpoint becomes this checkpoint's batch, in the state. */
  preSave(checkpointId: number): void {
    if (!this.effectivelyOnce || this.state === null || this.payloads.length === 0) return;
    const subjects = typeof this.options.subject === "string" ? null : this.subjects;
    this.state.put(`${this.idPrefix}/${checkpointId}`, [checkpointId, subjects, this.payloads]);
    this.subjects = [];
    this.payloads = [];
  }

  /**
   * EFFECTIVELY_ONCE: checkpoint `checkpointId` is committed everywhere (or
   * this run was restored from it): publishes every batch up to it that is
   * not confirmed yet.
   */
  postSave(checkpointId: number): void {
    const state = this.state;
    // Before `prepare` has connected (a restored run's first postSave), `prepare` publishes instead.
    if (!this.effectivelyOnce || state === null || this.js === null) return;
    for (const [key, batch] of state.entries()) {
      if (key !== LINEAGE_KEY && batch[0] <= checkpointId && !this.publishing.has(key)) {
        const p = this.publishBatch(state, key, batch);
        this.publishing.set(key, p);
        void p.finally(() => this.publishing.delete(key));
      }
    }
  }

  /**
   * EFFECTIVELY_ONCE: `<lineage>/`, drawn at a clean start and kept in the
   * state (see the module doc); empty without state.
   */
  private lineage(): string {
    const state = this.state as KeyValueState<string, unknown> | null;
    if (!this.effectivelyOnce || state === null) return "";
    let lineage = state.get(LINEAGE_KEY);
    if (typeof lineage !== "string") {
      lineage = crypto.randomUUID().slice(0, 8);
      state.put(LINEAGE_KEY, lineage);
    }
    return `${lineage}/`;
  }

  /** Nothing to undo: a batch is published only once committed. */
  preRestore(): void {}

  /** Publishes one committed batch until every message is confirmed; then drops it from the state. */
  private async publishBatch(state: KeyValueState<string, Batch>, key: string, batch: Batch): Promise<void> {
    const [, subjects, payloads] = batch;
    const fixed = typeof this.options.subject === "string" ? this.options.subject : "";
    const chunk = Math.max(1, this.options.maxInFlight ?? 1024);
    for (let attempt = 0; !this.closed; attempt++) {
      const js = this.js;
      if (js === null) return;
      try {
        for (let i = 0; i < payloads.length; i += chunk) {
          const acks: Promise<unknown>[] = [];
          for (let n = i; n < Math.min(payloads.length, i + chunk); n++) {
            acks.push(js.publish(subjects?.[n] ?? fixed, payloads[n]!, { msgID: `${key}/${n}` }));
          }
          await Promise.all(acks);
        }
        // Confirmed: the next checkpoint no longer holds it.
        state.delete(key);
        return;
      } catch (e) {
        if (this.closed) return;
        this.report(
          e,
          `publish of checkpoint batch "${key}" (${payloads.length} messages) failed; publishing it again`,
        );
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  override async prepare(conf: TopologyConfig, context: TopologyContext, collector: OutputCollector): Promise<void> {
    const component = context.getThisComponentId();
    this.label = `NatsSinkBolt "${component}" (task ${context.getThisTaskId()})`;
    this.collector = collector;
    this.inFlight = 0;
    this.unflushed = [];
    this.subjects = [];
    this.payloads = [];
    this.publishing = new Map();
    this.closed = false;
    this.effectivelyOnce = conf["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
    this.idPrefix = `${conf["topology.name"] ?? context.getStormId()}/${this.lineage()}${context.getThisTaskId()}`;
    const settings = this.options.nats ?? parseNatsFlags({}, env);
    const nc = await connectNats(settings, {
      name: `ardea ${context.getStormId()} ${component}/${context.getThisTaskId()}`,
      reconnectForever: true,
    });
    this.nc = nc;
    if (this.options.jetstream === true) this.js = nc.jetstream({ timeout: this.options.publishTimeoutMs ?? 5000 });
    if (this.effectivelyOnce) {
      try {
        await this.checkEffectivelyOnce(conf, await nc.jetstreamManager());
      } catch (e) {
        this.nc = this.js = null;
        await closeNats(nc);
        throw e;
      }
      // The state is that of the last committed checkpoint (a stateful bolt that fails rolls every task back,
      // it is never prepared again on live state): every batch in it is committed, and may not be confirmed.
      this.postSave(Number.MAX_SAFE_INTEGER);
    }
  }

  /** EFFECTIVELY_ONCE: JetStream, no msgId of the user's, and a duplicate window that outlasts any recovery. */
  private async checkEffectivelyOnce(conf: TopologyConfig, jsm: JetStreamManager): Promise<void> {
    const o = this.options;
    if (o.jetstream !== true) {
      throw new NatsSinkError(
        "NEEDS_JETSTREAM",
        `${this.label}: EFFECTIVELY_ONCE publishes committed output once, through JetStream's duplicate window: set jetstream: true`,
      );
    }
    if (o.msgId !== undefined) {
      throw new NatsSinkError(
        "BAD_OPTION",
        `${this.label}: EFFECTIVELY_ONCE names every message <topology>/<lineage>/<task>/<checkpoint>/<n> itself; remove the msgId option`,
      );
    }
    let stream = o.stream;
    if (stream === undefined) {
      if (typeof o.subject !== "string") {
        throw new NatsSinkError(
          "NO_STREAM",
          `${this.label}: EFFECTIVELY_ONCE with a subject function: name the output stream with the stream option`,
        );
      }
      try {
        stream = await jsm.streams.find(o.subject);
      } catch (e) {
        throw new NatsSinkError("NO_STREAM", `${this.label}: no JetStream stream captures subject "${o.subject}"`, {
          cause: e,
        });
      }
    }
    let windowNs: number;
    try {
      windowNs = (await jsm.streams.info(stream)).config.duplicate_window ?? 120e9;
    } catch (e) {
      throw new NatsSinkError("NO_STREAM", `${this.label}: no JetStream stream "${stream}"`, { cause: e });
    }
    const windowMs = windowNs / 1e6;
    const needMs = effectivelyOnceRecoveryMs(conf, o.publishTimeoutMs ?? 5000);
    if (windowMs < needMs) {
      throw new NatsSinkError(
        "DUPLICATE_WINDOW",
        `${this.label}: stream "${stream}" drops duplicates for ${
          Math.round(windowMs / 1000)
        } s (duplicate_window), but a committed batch may be published again ` +
          `up to ${
            Math.ceil(needMs / 1000)
          } s after its first publish (topology.supervisor.max.consecutive.failures × (max(10 × checkpoint interval, 30 s) + 23 s) + publish timeout); ` +
          `raise the stream's duplicate_window to at least ${
            Math.ceil(needMs / 1000)
          } s or lower topology.supervisor.max.consecutive.failures`,
      );
    }
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
    if (this.effectivelyOnce) {
      // Published once the checkpoint that covers it is committed.
      if (typeof o.subject !== "string") this.subjects.push(subject);
      this.payloads.push(data);
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
    if (ok) { for (const t of tuples) c.ack(t); }
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
    this.collector?.reportError(
      new ArdeaError("NATS_PUBLISH", `${this.label}: ${what}: ${(e as Error).message}${more}`, { cause: e }),
    );
  }

  override async finish(): Promise<void> {
    await this.flushNow();
  }

  override async cleanup(): Promise<void> {
    const nc = this.nc;
    if (nc === null) return;
    if (this.publishing.size > 0 && !nc.isClosed()) {
      // Committed batches being published get their PubAcks if they come soon; a later run publishes the rest again.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(this.publishing.values()),
        new Promise((r) => (timer = setTimeout(r, this.options.publishTimeoutMs ?? 5000))),
      ]);
      clearTimeout(timer);
    }
    this.closed = true;
    if (!nc.isClosed()) await this.flushNow().catch(() => {});
    this.nc = null;
    this.js = null;
    await closeNats(nc);
  }

  declareOutputFields(_declarer: OutputFieldsDeclarer): void {}
}

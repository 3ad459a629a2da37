/**
 * The bolt actor: takes tuples from its mailbox one at a time and calls
 * `execute`; basic bolts are acked (or failed on `FailedException`) after it.
 * End of input has two phases. When every upstream task has drained (sent
 * all of its new input, trees still open) the bolt's `drain` hook runs — or,
 * for a bolt without one that holds unacked tuples, `finish` runs early —
 * and the drain marker goes on; it runs again after replays. When every
 * upstream task has ended, `finish` runs (unless it ran at drain) and the
 * end marker goes on downstream.
 *
 * @module
 */
import type { IBasicBolt, IRichBolt } from "../topology/components.ts";
import { FailedException } from "../topology/components.ts";
import { isStateful } from "../topology/stateful.ts";
import { TupleImpl } from "../topology/tuple.ts";
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import type { ComponentDef } from "../topology/topology.ts";
import { BasicCollector, BoltCollector } from "./collectors.ts";
import { Mailbox } from "./mailbox.ts";
import { isPromise, LATENCY_SAMPLE_EVERY, type LatencySink, TaskActor } from "./task_actor.ts";

/** Execute number i is timed when `(i & SAMPLE_MASK) === 0` (LATENCY_SAMPLE_EVERY is a power of two). */
const SAMPLE_MASK = LATENCY_SAMPLE_EVERY - 1;
/** Process-latency samples waiting for their ack, at most (per task). */
const MAX_SAMPLES = 256;
/**
 * A process-latency sample still waiting for its ack after this long (ms)
 * gives way to a new one when {@link MAX_SAMPLES} are waiting: a bolt that
 * never acks some inputs (allowed without tracking) must not stop the sampling.
 */
const STALE_SAMPLE_MS = 60_000;
/**
 * A bolt whose sampled execute takes longer than this (ms) is not handed
 * tuples directly (see {@link BoltActor.takesNow}): its input queues in its
 * mailbox, so that a slow bolt neither holds its caller's turn nor hides its
 * time in the caller's.
 */
export const DIRECT_MAX_EXECUTE_MS = 0.05;
import { CheckpointMarker, type EndOfInput, type Message, type Route, type TaskHost } from "./task_host.ts";

/**
 * One bolt task.
 *
 * @example
 * ```ts
 * import type { TopologyConfig, TopologyContext } from "ardea";
 * import type { ComponentDef } from "../topology/topology.ts";
 * import type { TupleImpl } from "../topology/tuple.ts";
 * import type { Route, TaskHost } from "./task_host.ts";
 * declare const host: TaskHost, def: ComponentDef, conf: TopologyConfig, ctx: TopologyContext, tuple: TupleImpl;
 * declare const routes: ReadonlyMap<string, Route>, upstreamTasks: number[];
 * const a = new BoltActor(host, def, 3, conf, ctx, routes, upstreamTasks);
 * a.boot(); host.deliver(3, tuple);
 * ```
 */
export class BoltActor extends TaskActor {
  readonly mailbox: Mailbox<Message>;
  collector: BoltCollector;
  basicCollector: BasicCollector;
  executed = 0;
  /** Number of upstream tasks. */
  readonly upstreamTasks: number;
  protected readonly startPhase = "prepare";
  /** Milliseconds spent in execute (sampled by run, for capacity). */
  busyMs = 0;
  /** Sampled execute latencies (set by the container), one tuple in {@link LATENCY_SAMPLE_EVERY}. */
  executeLatency: LatencySink | null = null;
  /** Sampled process latencies, execute to ack (set by the container; `__process-latency`). */
  processLatency: LatencySink | null = null;
  /**
   * Process-latency samples waiting for their ack: the input in `sampled`
   * (when its execute began: `sampledAt`), the others in `samples` (at most
   * {@link MAX_SAMPLES}; the oldest gives way once older than
   * {@link STALE_SAMPLE_MS}: a bolt may never ack some inputs). A bolt that
   * acks in `execute` only ever uses the slot.
   */
  sampling = 0;
  sampled: TupleImpl | null = null;
  sampledAt = 0;
  readonly samples = new Map<TupleImpl, number>();
  #bolt: IRichBolt | IBasicBolt | null = null;
  #basic: boolean;
  #current: TupleImpl | null = null;
  /** Upstream tasks whose end-of-input arrived (a set: markers may be re-sent after a recovery). */
  readonly #ended = new Set<number>();
  /** Upstream tasks that drained or ended. */
  readonly #drained = new Set<number>();
  /** What the run must do after a control marker stopped it: 1 drain, 2 finish. */
  #due: 0 | 1 | 2 = 0;
  /** The execute count at the last drain flush (-1: none since this instance started). */
  #flushedAt = -1;
  /** Whether this instance's `finish` already ran (early, at drain, because it held tuples). */
  #finishCalled = false;
  /** Upstream task ids (the sources whose markers a checkpoint waits for). */
  readonly #sources: readonly number[];
  readonly #sourceSet: ReadonlySet<number>;
  /** The tasks whose end of input this bolt waits for (not those feeding it back along a cycle). */
  readonly #waitFor: ReadonlySet<number>;
  #aligning: Set<number> | null = null;
  #alignId = 0;
  #parked: Message[] = [];
  #parkedOver = false;
  /** The failed execute emitted nothing, so the input may be retried in place (EFFECTIVELY_ONCE). */
  #retryable = false;
  /** Tuples between clock checks: starts at 1, grows as executes prove fast. */
  #checkEvery = 1;
  /** Whether `run` or {@link executeNow} is on the stack (a direct hand-over never re-enters it). */
  #inRun = false;
  /** Sampled executes took longer than {@link DIRECT_MAX_EXECUTE_MS}: input queues (see {@link #timed}). */
  #slow = false;
  /** Time the next direct execute (a slow sample to confirm, or a fast one after slow ones). */
  #probe = false;
  /** Executes begun, by `run` and {@link executeNow} alike: one in {@link LATENCY_SAMPLE_EVERY} is timed. */
  #nth = 0;

  constructor(
    host: TaskHost,
    def: ComponentDef,
    taskId: number,
    conf: TopologyConfig,
    context: TopologyContext,
    routes: ReadonlyMap<string, Route>,
    /** Upstream tasks whose end-of-input (and checkpoint markers) this bolt waits for. */
    sources: readonly number[],
    /** Every task it takes input from (default `sources`; more when it is on a cycle). */
    inputs: readonly number[] = sources,
  ) {
    super(host, def, taskId, conf, context, routes);
    this.#sources = sources;
    this.#sourceSet = new Set(inputs);
    this.#waitFor = new Set(sources);
    this.upstreamTasks = sources.length;
    const hwm = conf["topology.mailbox.high.watermark"];
    this.mailbox = new Mailbox<Message>(
      host.pressure,
      hwm,
      conf["topology.mailbox.low.watermark"] ?? Math.floor(hwm / 2),
    );
    this.collector = new BoltCollector(this);
    this.basicCollector = new BasicCollector(this.collector);
    this.#basic = def.basic;
  }

  protected start(): void {
    this.#flushedAt = -1;
    this.#finishCalled = false;
    this.collector = new BoltCollector(this);
    this.basicCollector = new BasicCollector(this.collector);
    const bolt = this.def.create() as IRichBolt | IBasicBolt;
    this.#bolt = bolt;
    this.attachState(bolt);
    const r = this.#basic
      ? (bolt as IBasicBolt).prepare?.(this.conf, this.context)
      : (bolt as IRichBolt).prepare?.(this.conf, this.context, this.collector);
    const ready = () => {
      this.state = "running";
      if (this.#ended.size >= this.upstreamTasks) this.#finish();
    };
    if (isPromise(r)) this.awaitStart(r, ready, "prepare");
    else {
      ready();
      this.host.scheduler.schedule(this);
    }
  }

  /**
   * Whether a tuple may be handed over at once, on the caller's stack,
   * instead of waiting for the scheduler: the bolt is running, idle (not on
   * the stack already, not awaiting, not aligning a checkpoint) and fast.
   * Co-located tasks share one thread, so this is the mailbox hand-over
   * without the queue and with the same semantics: with an empty mailbox the
   * tuple is executed ({@link executeNow}), else it is queued behind what
   * waits and the mailbox is run now, in order.
   */
  takesNow(): boolean {
    return !this.#inRun && !this.busy && !this.#slow && this.state === "running" && this.#aligning === null;
  }

  /**
   * Executes `x` now, on the caller's stack (only after {@link takesNow},
   * with nothing queued):
   * ack, hold, latency samples and crash handling exactly as in `run`. Its
   * time is counted by sampling (one in {@link LATENCY_SAMPLE_EVERY}, timed
   * with direct hand-overs below it held back, times that many): the
   * caller's `run` subtracts it from its own ({@link TaskHost.busyMs}).
   */
  executeNow(x: TupleImpl): void {
    if ((this.#nth++ & SAMPLE_MASK) === 0 || this.#probe) return this.#executeTimed(x);
    this.#inRun = true;
    const emitted = this.emitted;
    try {
      const r = this.#basic
        ? (this.basicCollector.input = x, (this.#bolt as IBasicBolt).execute(x, this.basicCollector))
        : (this.#bolt as IRichBolt).execute(x);
      if (r !== undefined && isPromise(r)) {
        this.#current = x;
        this.#awaitExecute(r, x, 0, 0, -1, 0);
      } else this.#executed(x);
    } catch (e) {
      this.#threw(x, emitted, e);
      return;
    }
    this.#inRun = false;
  }

  /** {@link executeNow} of a sampled (or probing) execute: timed, with direct hand-overs below it held back. */
  #executeTimed(x: TupleImpl): void {
    const sample = ((this.#nth - 1) & SAMPLE_MASK) === 0;
    this.#inRun = true;
    const host = this.host;
    const hold = host.directHold;
    const emitted = this.emitted;
    try {
      // A probe only times the execute: it is neither a latency sample nor a process-latency one.
      const ts = sample ? this.#sampleStart(x) : performance.now();
      if (ts >= 0) host.directHold = hold + 1;
      const r = this.#basic
        ? (this.basicCollector.input = x, (this.#bolt as IBasicBolt).execute(x, this.basicCollector))
        : (this.#bolt as IRichBolt).execute(x);
      host.directHold = hold;
      if (r !== undefined && isPromise(r)) {
        this.#current = x;
        this.#awaitExecute(r, x, 0, 0, ts, 0);
      } else {
        if (ts >= 0) {
          // A probe only tells fast from slow: the latency histogram keeps one sample in 64.
          const ms = this.#timed(performance.now() - ts, sample);
          if (sample) {
            // A sample past the bound is a pause (a collection, the OS) or a
            // bolt about to be found slow: it counts as the bound, not ×64.
            const est = Math.min(ms, DIRECT_MAX_EXECUTE_MS) * LATENCY_SAMPLE_EVERY;
            this.busyMs += est;
            host.busyMs += est;
          }
        }
        this.#executed(x);
      }
    } catch (e) {
      host.directHold = hold;
      this.#threw(x, emitted, e);
      return;
    }
    this.#inRun = false;
  }

  /** An execute outside the run loop returned (direct, or awaited): counted, and the input acked (basic) or held (rich, tracked). */
  #executed(x: TupleImpl): void {
    this.executed++;
    this.policy.onSuccess(1);
    if (this.#basic) this.collector.ack(x);
    else if (x.state === 0 && x.root !== -1) {
      x.state = 2;
      this.held.add(x);
    }
  }

  /** A direct execute threw: the crash is this bolt's (its caller goes on). */
  #threw(x: TupleImpl, emitted: number, e: unknown): void {
    this.#current = x;
    this.#retryable = this.emitted === emitted;
    this.#inRun = false;
    this.#onThrow(e);
  }

  /**
   * A sampled execute took `ms`: recorded, and the bolt is found slow (no
   * longer handed tuples directly) or fast again. One slow sample is
   * confirmed by timing the next direct execute (a collection pause must
   * not turn the hand-over off), and so is a fast one after slow ones.
   */
  #timed(ms: number, record = true): number {
    if (record) this.executeLatency!.record(ms);
    if (ms > DIRECT_MAX_EXECUTE_MS) {
      if (this.#slow || this.#probe) {
        this.#slow = true;
        this.#probe = false;
      } else this.#probe = true;
    } else {
      this.#probe = this.#slow;
      this.#slow = false;
    }
    return ms;
  }

  run(deadline: number): void {
    this.#inRun = true;
    try {
      this.#run(deadline);
    } finally {
      this.#inRun = false;
    }
  }

  #run(deadline: number): void {
    if (this.busy || this.state !== "running") return;
    const box = this.mailbox;
    const bolt = this.#bolt!;
    const every = this.#checkEvery;
    const host = this.host;
    const t0 = host.scheduler.now;
    // Busy time the tasks this run hands tuples to count themselves (not this bolt's).
    const direct0 = host.busyMs;
    const hold = host.directHold;
    let n = 0;
    let done = 0;
    const base = this.#nth;
    const mask = SAMPLE_MASK;
    // Sources whose checkpoint marker arrived while others' did not (EFFECTIVELY_ONCE).
    let aligning = this.#aligning;
    // The input being executed; written to #current only when execute throws or is awaited.
    let m: TupleImpl | null = null;
    let emitted = 0;
    try {
      if (this.#basic) {
        const basic = this.basicCollector;
        const collector = this.collector;
        while (box.size > 0) {
          const x = box.shift()!;
          if (x instanceof TupleImpl) {
            if (aligning !== null && aligning.has(x.sourceTask)) {
              this.#park(x);
              continue;
            }
            m = x;
            emitted = this.emitted;
            basic.input = x;
            // Sampling reads the execute count the loop keeps anyway: no per-tuple store.
            const ts = ((base + done) & mask) === 0 ? this.#sampleStart(x) : -1;
            if (ts >= 0) host.directHold = hold + 1;
            const r = (bolt as IBasicBolt).execute(x, basic);
            host.directHold = hold;
            if (r !== undefined && isPromise(r)) {
              this.#current = x;
              this.#awaitExecute(r, x, t0, done, ts, direct0);
              return;
            }
            if (ts >= 0) this.#timed(performance.now() - ts);
            m = null;
            collector.ack(x);
            done++;
            if (this.state !== "running") break; // a task it handed a tuple to ended the run
          } else {
            if (this.#control(x)) {
              this.#settle(t0, done, direct0);
              this.#afterControl();
              return;
            }
            aligning = this.#aligning;
          }
          if (++n === every) {
            n = 0;
            if (performance.now() >= deadline) break;
          }
        }
      } else {
        const held = this.held;
        while (box.size > 0) {
          const x = box.shift()!;
          if (x instanceof TupleImpl) {
            if (aligning !== null && aligning.has(x.sourceTask)) {
              this.#park(x);
              continue;
            }
            m = x;
            emitted = this.emitted;
            // Sampling reads the execute count the loop keeps anyway: no per-tuple store.
            const ts = ((base + done) & mask) === 0 ? this.#sampleStart(x) : -1;
            if (ts >= 0) host.directHold = hold + 1;
            const r = (bolt as IRichBolt).execute(x);
            host.directHold = hold;
            if (r !== undefined && isPromise(r)) {
              this.#current = x;
              this.#awaitExecute(r, x, t0, done, ts, direct0);
              return;
            }
            if (ts >= 0) this.#timed(performance.now() - ts);
            m = null;
            if (x.state === 0 && x.root !== -1) {
              x.state = 2;
              held.add(x);
            }
            done++;
            if (this.state !== "running") break; // a task it handed a tuple to ended the run
          } else {
            if (this.#control(x)) {
              this.#settle(t0, done, direct0);
              this.#afterControl();
              return;
            }
            aligning = this.#aligning;
          }
          if (++n === every) {
            n = 0;
            if (performance.now() >= deadline) break;
          }
        }
      }
    } catch (e) {
      host.directHold = hold;
      this.#current = m;
      this.#retryable = m !== null && this.emitted === emitted;
      this.#settle(t0, done, direct0);
      this.#onThrow(e);
      return;
    }
    this.#settle(t0, done, direct0);
    if (box.size > 0 && this.state === "running") host.scheduler.schedule(this);
  }

  /**
   * A control message: an end-of-input or drain marker, or a checkpoint
   * marker. Returns true when the run must stop here, with {@link #afterControl}
   * to call once the counters are settled.
   */
  #control(x: Message): boolean {
    if (x instanceof CheckpointMarker) {
      this.#onMarker(x);
      return false;
    }
    const end = x as EndOfInput;
    const from = end.fromTask;
    if (!this.#waitFor.has(from)) return false; // along a cycle's back edge: not waited for
    if (this.#aligning !== null && this.#aligning.has(from)) {
      // Ends after its marker: keep its order behind the parked tuples.
      this.#park(x);
      return false;
    }
    this.#drained.add(from);
    if (end.final) {
      if (this.#endFrom(from)) {
        this.#due = 2;
        return true;
      }
      if (this.#aligning !== null) this.#maybeAligned();
    }
    // Every input drained (the last one may have ended instead), some still open.
    if (this.#drained.size === this.upstreamTasks && this.#drained.size > this.#ended.size) {
      this.#due = 1;
      return true;
    }
    return false;
  }

  #afterControl(): void {
    const due = this.#due;
    this.#due = 0;
    if (due === 2) this.#finish();
    else if (due === 1) this.#drain();
  }

  /**
   * Every upstream task has drained: release what this bolt holds and pass
   * the drain marker on — once, and again whenever tuples (replays) were
   * executed since.
   */
  #drain(): void {
    if (this.#flushedAt === this.executed) return this.#continue();
    this.#flushedAt = this.executed;
    const bolt = this.#bolt!;
    let r: unknown;
    try {
      if (typeof bolt.drain === "function") {
        this.basicCollector.input = null;
        r = this.#basic ? (bolt as IBasicBolt).drain!(this.basicCollector) : (bolt as IRichBolt).drain!();
      } else if (this.held.size > 0) {
        // Holds tuples until its input ends: its finish is what releases them
        // (again after replays, or they would never complete).
        this.#finishCalled = true;
        r = (bolt as IRichBolt).finish?.();
      }
    } catch (e) {
      this.crash(e, "drain");
      return;
    }
    const forward = () => this.host.drained(this.taskId);
    if (isPromise(r)) this.await(r, forward, "drain");
    else {
      forward();
      this.#continue();
    }
  }

  /** Runs again if input is waiting. */
  #continue(): void {
    if (this.mailbox.size > 0) this.host.scheduler.schedule(this);
  }

  /**
   * Chandy-Lamport with aligned markers: tuples from a source whose marker
   * for checkpoint N arrived are parked until every other live source's
   * marker has arrived too; then the state is saved, the marker goes on, and
   * the parked tuples are processed first.
   */
  #onMarker(m: CheckpointMarker): void {
    if (this.#aligning === null) {
      this.#aligning = new Set();
      this.#alignId = m.id;
    }
    this.#aligning.add(m.fromTask);
    this.#maybeAligned();
  }

  #maybeAligned(): void {
    const aligning = this.#aligning!;
    let live = 0;
    for (const t of this.#sources) if (!this.#ended.has(t)) live++;
    if (aligning.size < live) return;
    const id = this.#alignId;
    this.#aligning = null;
    this.snapshot(id);
    this.host.forwardMarker(this.taskId, id);
    const parked = this.#parked;
    this.#parked = [];
    if (this.#parkedOver) {
      this.#parkedOver = false;
      this.host.pressure.lower("parked");
    }
    if (parked.length > 0) this.mailbox.unshiftAll(parked);
  }

  /**
   * Parks a message behind its source's marker. The parked buffer is bounded
   * like a mailbox: past the high-water mark it holds the spouts back
   * (backpressure) until the alignment completes.
   */
  #park(x: Message): void {
    this.#parked.push(x);
    if (!this.#parkedOver && this.#parked.length > this.mailbox.highWater) {
      this.#parkedOver = true;
      this.host.pressure.raise("parked");
    }
  }

  /** Whether `task` is one of this bolt's upstream tasks (input from the network is checked against it). */
  acceptsFrom(task: number): boolean {
    return this.#sourceSet.has(task);
  }

  /** Notes `from`'s end of input; true when it completes the set (once). */
  #endFrom(from: number): boolean {
    if (this.#ended.has(from)) return false;
    this.#ended.add(from);
    return this.#ended.size === this.upstreamTasks;
  }

  /**
   * Counts `done` executes of a run that began at `t0`; its time, less what
   * the tasks it handed tuples to counted as their own since (the host's
   * busy total was `direct0`), is this bolt's busy time.
   */
  #settle(t0: number, done: number, direct0: number): void {
    if (done === 0) return;
    this.executed += done;
    this.#nth += done;
    this.policy.onSuccess(done);
    const elapsed = performance.now() - t0;
    const own = elapsed - (this.host.busyMs - direct0);
    this.busyMs += own;
    this.host.busyMs += own;
    // Check the clock about every half millisecond of work.
    const per = elapsed / done;
    const fit = per <= 0 ? 256 : Math.max(1, Math.min(256, Math.floor(0.5 / per)));
    this.#checkEvery = Math.min(fit, this.#checkEvery * 4);
  }

  /** Starts a latency sample of `x` (execute, and process until its ack): the clock now, or -1 when nobody records. */
  #sampleStart(x: TupleImpl): number {
    if (this.executeLatency === null) return -1;
    const now = performance.now();
    if (this.processLatency === null) return now;
    if (this.sampled === null || now - this.sampledAt > STALE_SAMPLE_MS) {
      if (this.sampled === null) this.sampling++;
      this.sampled = x;
      this.sampledAt = now;
      return now;
    }
    const s = this.samples;
    if (s.size >= MAX_SAMPLES) {
      const [oldest, at] = s.entries().next().value!;
      if (now - at < STALE_SAMPLE_MS) return now;
      s.delete(oldest);
      this.sampling--;
    }
    s.set(x, now);
    this.sampling++;
    return now;
  }

  /** `t` was acked (`ok`: a sampled one's process latency counts) or failed; called while `sampling` > 0. */
  endSample(t: TupleImpl, ok: boolean): void {
    let at: number | undefined;
    if (t === this.sampled) {
      at = this.sampledAt;
      this.sampled = null;
    } else {
      at = this.samples.get(t);
      if (at === undefined) return;
      this.samples.delete(t);
    }
    this.sampling--;
    if (ok) this.processLatency!.record(performance.now() - at);
  }

  #awaitExecute(p: PromiseLike<unknown>, m: TupleImpl, t0: number, done: number, ts: number, direct0: number): void {
    this.#settle(t0, done, direct0);
    this.#retryable = false;
    this.await(p, () => {
      if (ts >= 0) this.#timed(performance.now() - ts);
      this.#current = null;
      this.#executed(m);
    }, "execute");
  }

  #onThrow(e: unknown): void {
    this.crash(e, this.#current === null ? "finish" : "execute");
  }

  /** A basic bolt's `FailedException` fails the input and nothing else. */
  override crash(error: unknown, phase: string): void {
    const cur = this.#current;
    if (
      this.#basic && !this.host.effectivelyOnce && error instanceof FailedException && cur !== null &&
      phase === "execute"
    ) {
      this.#current = null;
      this.policy.onSuccess(1);
      this.collector.fail(cur);
      this.host.scheduler.schedule(this);
      return;
    }
    super.crash(error, phase);
  }

  protected discard(): void {
    const bolt = this.#bolt;
    this.#bolt = null;
    if (bolt) this.quietly(() => this.afterStart(() => bolt.cleanup?.()));
  }

  /** A stateless bolt whose failed execute emitted nothing gets the same input again. */
  protected override retryInPlace(): boolean {
    const cur = this.#current;
    if (!this.#retryable || cur === null || isStateful(this.#bolt)) return false;
    this.#current = null;
    this.mailbox.unshiftAll([cur]);
    return true;
  }

  protected failHeld(): void {
    const cur = this.#current;
    this.#current = null;
    if (cur !== null) this.collector.fail(cur);
    for (const t of [...this.held]) this.collector.fail(t);
    this.held.clear();
  }

  #finish(): void {
    const bolt = this.#bolt!;
    this.basicCollector.input = null;
    let r: unknown;
    try {
      if (this.#finishCalled) r = undefined;
      else {
        this.#finishCalled = true;
        r = this.#basic ? (bolt as IBasicBolt).finish?.(this.basicCollector) : (bolt as IRichBolt).finish?.();
      }
    } catch (e) {
      this.crash(e, "finish");
      return;
    }
    const end = () => {
      this.state = "finished";
      this.incarnation++; // later emits (a stray timer) are dropped and reported

      this.host.endOfInput(this.taskId);
      this.host.taskFinished(this.taskId);
    };
    if (isPromise(r)) {
      const inc = this.awaiting("finish");
      r.then(() => {
        if (this.settled(inc)) end();
      }, (e) => {
        if (this.settled(inc)) this.crash(e, "finish");
      });
    } else end();
  }

  /** Runs `cleanup` on the current instance. */
  async shutdown(): Promise<void> {
    this.halt();
    const bolt = this.#bolt;
    await this.afterStart(() => bolt?.cleanup?.());
  }
}

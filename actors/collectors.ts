/**
 * The collectors handed to components. Emitting builds one `TupleImpl` per
 * target task, extends the tuple trees of its anchors, and delivers it; no
 * await, no allocation beyond the tuple itself (and, for an emit to several
 * tasks, a copy of their ids: a delivery may run its target at once, and
 * the target's emits reuse the scratch array).
 *
 * @module
 */
import type { Anchors, BasicOutputCollector, OutputCollector, SpoutOutputCollector } from "../topology/collectors.ts";
import { EmitError } from "../topology/errors.ts";
import { DEFAULT_STREAM, type StreamInfo, type Tuple, TupleImpl } from "../topology/tuple.ts";
import type { Route, TaskHost } from "./task_host.ts";
import { edgeHalf } from "./xor_ledger.ts";

/** Adds edge (h, l) of root `r` to tuple `t`'s ids. */
function addRootEdge(t: TupleImpl, r: number, h: number, l: number): void {
  if (t.root === -1) {
    t.root = r;
    t.eh = h;
    t.el = l;
    return;
  }
  if (t.root === r) {
    t.eh ^= h;
    t.el ^= l;
    return;
  }
  const more = t.more ??= [];
  for (let i = 0; i < more.length; i += 3) {
    if (more[i] === r) {
      more[i + 1] ^= h;
      more[i + 2] ^= l;
      return;
    }
  }
  more.push(r, h, l);
}

/** Anchors `t` to `a`: a new edge in each of `a`'s trees. */
function anchorOne(t: TupleImpl, a: Tuple, o: CollectorOwner, stream: string): void {
  if (!(a instanceof TupleImpl)) {
    throw new EmitError(
      "BAD_ANCHOR",
      `bolt "${o.component}" anchored an emit on stream "${stream}" to something that is not a tuple it received`,
    );
  }
  if (a.root === -1) return;
  if (a.state === 1) {
    throw new EmitError(
      "ANCHOR_ACKED",
      `bolt "${o.component}" anchored an emit on stream "${stream}" to a tuple from "${a.src.component}" it had already acked or failed; emit before acking`,
    );
  }
  const h = edgeHalf();
  const l = edgeHalf();
  a.ah ^= h;
  a.al ^= l;
  if (t.root === -1 && a.more === null) {
    t.root = a.root;
    t.eh = h;
    t.el = l;
    return;
  }
  addRootEdge(t, a.root, h, l);
  const more = a.more;
  if (more) { for (let i = 0; i < more.length; i += 3) addRootEdge(t, more[i]!, h, l); }
}

/** State the collectors share with their actor. */
export interface CollectorOwner {
  readonly host: TaskHost;
  readonly component: string;
  readonly taskId: number;
  /** Routes of this task, by stream id. */
  readonly routes: ReadonlyMap<string, Route>;
  /** Tuples a rich bolt holds after execute returned. */
  readonly held: Set<TupleImpl>;
  emitted: number;
  acked: number;
  failed: number;
  /** Counts restarts: a collector of an older incarnation drops its emits. */
  readonly incarnation: number;
  /** Drops an emit of a dead instance (or one after the task finished). */
  dropStale(stream: string): void;
  /** Names the component of a task, for error messages (absent in some tests). */
  readonly context?: { getComponentId(taskId: number): string };
  /** Crashes the current instance as if a call of `phase` had thrown `error` (absent in some tests). */
  crash?(error: unknown, phase: string): void;
}

/**
 * Key of the collectors' emit that returns the ids of the tasks it went to
 * (multilang's `need_task_ids`). Not on the public collector interfaces: the
 * plain emit stays free of the list.
 *
 * @example
 * ```ts
 * declare const collector: BoltCollector;
 * const tasks: number[] = collector[EMIT_TASKS]("default", null, ["word"]);
 * ```
 */
export const EMIT_TASKS: unique symbol = Symbol.for("ardea.emitTasks");

/**
 * Key of the collectors' crash hook: crashes the instance that got this
 * collector (when it is still the current one) from outside any call of it,
 * as if that call had thrown, so its supervisor restarts it (a multilang
 * subprocess that died between calls).
 *
 * @example
 * ```ts
 * declare const collector: BoltCollector;
 * collector[CRASH_TASK](new Error("subprocess exited"), "subprocess");
 * ```
 */
export const CRASH_TASK: unique symbol = Symbol.for("ardea.crashTask");

/**
 * Key of the collectors' log: writes a line to the engine's log (console
 * when the host keeps none), prefixed with the component and task.
 *
 * @example
 * ```ts
 * declare const collector: BoltCollector;
 * collector[TASK_LOG]("INFO", "loaded 12 rules");
 * ```
 */
export const TASK_LOG: unique symbol = Symbol.for("ardea.taskLog");

/** Crashes `o`'s instance of incarnation `inc` (a stale collector's call is ignored). */
function crashOwner(o: CollectorOwner, inc: number, error: unknown, phase: string): void {
  if (o.incarnation === inc) o.crash?.(error, phase);
}

/** Writes `msg` at `level` to `o`'s host log. */
function logOwner(o: CollectorOwner, level: string, msg: string): void {
  const line = `[ardea] ${o.component} (task ${o.taskId}) ${level}: ${msg}`;
  if (o.host.log !== undefined) o.host.log(line);
  else console.error(line);
}

const targets: number[] = [];

/** The `direct` argument of a plain emit: not a number anyone can pass to emitDirect. */
const NOT_DIRECT = Number.MIN_SAFE_INTEGER;

/**
 * What a route may offer for the fast emit path: its one single-target
 * chooser (optional; a route without it takes the general path).
 */
interface SingleChooser {
  readonly one?: { choose(values: readonly unknown[]): number } | null;
}

/** The default route's single chooser when the fast path applies, else null. */
function fastChooser(
  o: CollectorOwner,
  route: Route | undefined,
): { choose(values: readonly unknown[]): number } | null {
  if (route === undefined || route.direct) return null;
  // A tap may be set and unset while the collector lives: the fast path checks it per emit.
  if (o.host.roundTrip !== null) return null;
  return (route as Route & SingleChooser).one ?? null;
}

function unroutable(o: CollectorOwner, kind: string, route: Route, e: unknown): EmitError {
  if (e instanceof EmitError) return e;
  return new EmitError(
    "UNROUTABLE",
    `${kind} "${o.component}" emitted on stream "${route.info.stream}" a tuple its subscribers' groupings cannot route: ${
      (e as Error).message
    }`,
  );
}

function routeOf(o: CollectorOwner, kind: string, stream: string): Route {
  const r = o.routes.get(stream);
  if (r) return r;
  const declared = [...o.routes.keys()].map((s) => `"${s}"`).join(", ") || "none";
  throw new EmitError(
    "UNDECLARED_STREAM",
    `${kind} "${o.component}" emitted on stream "${stream}", which it does not declare (declared: ${declared})`,
  );
}

function checkValues(o: CollectorOwner, kind: string, route: Route, values: unknown): unknown[] {
  if (!Array.isArray(values)) {
    throw new EmitError(
      "BAD_VALUES",
      `${kind} "${o.component}" emitted ${typeof values} on stream "${route.info.stream}"; values must be an array`,
    );
  }
  if (values.length !== route.arity) {
    throw new EmitError(
      "WRONG_ARITY",
      `${kind} "${o.component}" emitted ${values.length} value(s) on stream "${route.info.stream}", which declares ${route.arity} field(s) ${route.info.fields}`,
    );
  }
  const rt = o.host.roundTrip;
  return rt === null ? values : rt(values, route);
}

/** The tasks that subscribe to a direct stream, by component: `"count" tasks 3, 4`. */
function directTargetsText(o: CollectorOwner, route: Route): string {
  const tasks = (route as Route & { readonly directTargets?: ReadonlySet<number> }).directTargets;
  if (tasks === undefined || tasks.size === 0) return "no task subscribes to it with directGrouping";
  const byComponent = new Map<string, number[]>();
  for (const t of [...tasks].sort((a, b) => a - b)) {
    let c = "?";
    try {
      c = o.context?.getComponentId(t) ?? "?";
    } catch {
      // A task the context does not know: listed under "?".
    }
    let list = byComponent.get(c);
    if (list === undefined) byComponent.set(c, list = []);
    list.push(t);
  }
  return "valid tasks: " +
    [...byComponent].map(([c, ts]) =>
      `${c === "?" ? "" : `"${c}" `}${ts.length === 1 ? "task" : "tasks"} ${ts.join(", ")}`
    ).join("; ");
}

/** The error of an emitDirect to `task`, which is not a task subscribing to the direct stream. */
function badDirectTask(o: CollectorOwner, kind: string, route: Route, task: unknown): EmitError {
  const shown = typeof task === "number" ? String(task) : `${typeof task} ${JSON.stringify(task) ?? String(task)}`;
  const why = typeof task === "number" && Number.isInteger(task) && task >= 0
    ? "which does not subscribe to it with directGrouping"
    : "which is not a task id";
  return new EmitError(
    "BAD_DIRECT_TASK",
    `${kind} "${o.component}" called emitDirect on stream "${route.info.stream}" to task ${shown}, ${why} (${
      directTargetsText(o, route)
    })`,
  );
}

/**
 * Target tasks of an emit: `direct` is the task of an emitDirect, or
 * {@link NOT_DIRECT} for a plain emit (any other value, -1 included, is a
 * task id the caller asked for).
 */
function selectTargets(o: CollectorOwner, kind: string, route: Route, values: unknown[], direct: number): number {
  if (direct === NOT_DIRECT) {
    if (route.direct) {
      throw new EmitError(
        "DIRECT_STREAM",
        `${kind} "${o.component}" emitted on direct stream "${route.info.stream}" without emitDirect`,
      );
    }
    try {
      return route.select(values, targets);
    } catch (e) {
      throw unroutable(o, kind, route, e);
    }
  }
  if (!route.direct) {
    throw new EmitError(
      "NOT_DIRECT",
      `${kind} "${o.component}" called emitDirect on stream "${route.info.stream}", which is not declared direct`,
    );
  }
  if (!route.acceptsDirect(direct)) throw badDirectTask(o, kind, route, direct);
  targets[0] = direct;
  return 1;
}

/** What the bolt collector needs from its actor besides the owner state. */
export interface BoltCollectorOwner extends CollectorOwner {
  /** Inputs whose process latency is being sampled (execute → ack), how many. */
  readonly sampling: number;
  /** `t` was acked (`ok`) or failed: ends its sample, if it has one. */
  endSample(t: TupleImpl, ok: boolean): void;
}

/**
 * The rich bolt's collector.
 *
 * @example
 * ```ts
 * import type { Tuple } from "ardea";
 * declare const actor: BoltCollectorOwner, input: Tuple;
 * const c = new BoltCollector(actor);
 * c.emit(input, ["word"]); c.ack(input);
 * ```
 */
export class BoltCollector implements OutputCollector {
  readonly #o: BoltCollectorOwner;
  readonly #inc: number;
  #default: Route | undefined;
  /** Fast path of the default stream: its single chooser (null: general path). */
  readonly #one: { choose(values: readonly unknown[]): number } | null;
  readonly #arity: number;
  readonly #info: StreamInfo | null;
  readonly #task: number;
  readonly #tracking: boolean;
  readonly #host: TaskHost;

  constructor(owner: BoltCollectorOwner) {
    this.#o = owner;
    this.#inc = owner.incarnation;
    const d = owner.routes.get(DEFAULT_STREAM);
    this.#default = d;
    this.#one = fastChooser(owner, d);
    this.#arity = d === undefined ? -1 : d.arity;
    this.#info = d === undefined ? null : d.info;
    this.#task = owner.taskId;
    this.#host = owner.host;
    this.#tracking = owner.host.tracking;
  }

  emit(a: unknown, b?: unknown, c?: unknown): void {
    if (c === undefined && this.#one !== null) {
      // emit(values) or emit(anchors, values) on the default stream
      if (b === undefined) return this.#fast(null, a);
      if (typeof a !== "string") return this.#fast(a as Anchors, b);
    }
    this.#dispatch(a, b, c, NOT_DIRECT);
  }

  /** emit on the default stream through its single chooser; anything unusual takes the general path. */
  #fast(anchors: Anchors, values: unknown): void {
    const o = this.#o;
    if (
      o.incarnation !== this.#inc || this.#host.tap !== null || !Array.isArray(values) || values.length !== this.#arity
    ) {
      return this.#emit(DEFAULT_STREAM, anchors, values as unknown[], NOT_DIRECT);
    }
    let task: number;
    try {
      task = this.#one!.choose(values);
    } catch (e) {
      throw unroutable(o, "bolt", this.#default!, e);
    }
    o.emitted++;
    const t = new TupleImpl(values, this.#info!, this.#task);
    if (this.#tracking && anchors !== null && anchors !== undefined) {
      if (anchors instanceof TupleImpl) anchorOne(t, anchors, o, DEFAULT_STREAM);
      else for (const a of anchors as readonly Tuple[]) anchorOne(t, a, o, DEFAULT_STREAM);
    }
    this.#host.deliver(task, t);
  }

  emitDirect(task: number, a: unknown, b?: unknown, c?: unknown): void {
    this.#dispatch(a, b, c, task);
  }

  /** Storm's overloads: (values), (anchors, values), (stream, values), (stream, anchors, values). */
  #dispatch(a: unknown, b: unknown, c: unknown, direct: number): void {
    if (c !== undefined) this.#emit(a as string, b as Anchors, c as unknown[], direct);
    else if (b !== undefined) {
      if (typeof a === "string") this.#emit(a, null, b as unknown[], direct);
      else this.#emit(DEFAULT_STREAM, a as Anchors, b as unknown[], direct);
    } else this.#emit(DEFAULT_STREAM, null, a as unknown[], direct);
  }

  /** Emits on `stream` (not direct) and returns the ids of the tasks the tuple went to. */
  [EMIT_TASKS](stream: string, anchors: Anchors, values: unknown[]): number[] {
    const out: number[] = [];
    this.#emit(stream, anchors, values, NOT_DIRECT, out);
    return out;
  }

  /** Crashes this collector's instance, if it is still the current one. */
  [CRASH_TASK](error: unknown, phase: string): void {
    crashOwner(this.#o, this.#inc, error, phase);
  }

  /** Writes a line to the engine's log. */
  [TASK_LOG](level: string, msg: string): void {
    logOwner(this.#o, level, msg);
  }

  #emit(stream: string, anchors: Anchors, values: unknown[], direct: number, out: number[] | null = null): void {
    const o = this.#o;
    if (o.incarnation !== this.#inc) return o.dropStale(stream);
    const route = stream === DEFAULT_STREAM && this.#default !== undefined ? this.#default : routeOf(o, "bolt", stream);
    values = checkValues(o, "bolt", route, values);
    const n = selectTargets(o, "bolt", route, values, direct);
    if (out !== null) { for (let i = 0; i < n; i++) out.push(targets[i]!); }
    const host = o.host;
    if (host.tap !== null) host.tap(o.component, stream, o.taskId, values);
    o.emitted++;
    const track = host.tracking && anchors !== null && anchors !== undefined;
    // A delivery may run the target at once, whose emits reuse `targets`.
    const to = n === 1 ? null : targets.slice(0, n);
    for (let i = 0; i < n; i++) {
      const t = new TupleImpl(values, route.info, o.taskId);
      if (track) {
        if (anchors instanceof TupleImpl) anchorOne(t, anchors, o, stream);
        else for (const a of anchors as readonly Tuple[]) anchorOne(t, a, o, stream);
      }
      host.deliver(to === null ? targets[0]! : to[i]!, t);
    }
  }

  ack(input: Tuple): void {
    const t = input as TupleImpl;
    if (t.state === 1) return;
    const o = this.#o;
    if (t.state === 2) o.held.delete(t);
    t.state = 1;
    o.acked++;
    if (o.sampling !== 0) o.endSample(t, true);
    if (t.root === -1) return;
    const host = o.host;
    host.xorTree(t.root, t.eh ^ t.ah, t.el ^ t.al);
    const more = t.more;
    if (more) {
      for (let i = 0; i < more.length; i += 3) host.xorTree(more[i]!, more[i + 1]! ^ t.ah, more[i + 2]! ^ t.al);
    }
  }

  fail(input: Tuple): void {
    const t = input as TupleImpl;
    if (t.state === 1) return;
    const o = this.#o;
    if (t.state === 2) o.held.delete(t);
    t.state = 1;
    o.failed++;
    if (o.sampling !== 0) o.endSample(t, false);
    if (t.root === -1) return;
    o.host.failTree(t.root);
    const more = t.more;
    if (more) { for (let i = 0; i < more.length; i += 3) o.host.failTree(more[i]!); }
  }

  resetTimeout(input: Tuple): void {
    const t = input as TupleImpl;
    if (t.root === -1) return;
    // Often called from a timer between awaits: read the clock, not the scheduler's last turn.
    this.#o.host.scheduler.now = performance.now();
    this.#o.host.touchTree(t.root);
    const more = t.more;
    if (more) { for (let i = 0; i < more.length; i += 3) this.#o.host.touchTree(more[i]!); }
  }

  reportError(error: unknown): void {
    this.#o.host.reportError(this.#o.component, this.#o.taskId, error, false);
  }
}

/**
 * The collector of a basic bolt: anchors every emit to the current input.
 *
 * @example
 * ```ts
 * import type { TupleImpl } from "../topology/tuple.ts";
 * declare const actor: BoltCollectorOwner, tuple: TupleImpl;
 * const basic = new BasicCollector(new BoltCollector(actor));
 * basic.input = tuple; basic.emit(["x"]);
 * ```
 */
export class BasicCollector implements BasicOutputCollector {
  /** The input being executed, or null (in `finish`). */
  input: TupleImpl | null = null;
  constructor(private readonly out: BoltCollector) {}

  emit(a: unknown, b?: unknown): void {
    if (b !== undefined) this.out.emit(a as string, this.input, b as unknown[]);
    else this.out.emit(this.input, a); // (anchors, values): the collector's fast path when it applies
  }
  emitDirect(task: number, a: unknown, b?: unknown): void {
    if (b !== undefined) this.out.emitDirect(task, a as string, this.input, b as unknown[]);
    else this.out.emitDirect(task, DEFAULT_STREAM, this.input, a as unknown[]);
  }
  reportError(error: unknown): void {
    this.out.reportError(error);
  }
}

/** What the spout collector needs from its actor besides the owner state. */
export interface SpoutCollectorOwner extends CollectorOwner {
  /** Index of the spout task in the ledger's owner table. */
  readonly ownerIndex: number;
  pending: number;
  finishRequested: boolean;
  /** Completes `msgId` at once (untracked emits). */
  ackNow(msgId: unknown): void;
}

/**
 * The spout's collector.
 *
 * @example
 * ```ts
 * declare const collector: SpoutCollector;
 * collector.emit(["a line"], 42); // tracked: ack(42) or fail(42) follows
 * ```
 */
export class SpoutCollector implements SpoutOutputCollector {
  readonly #o: SpoutCollectorOwner;
  readonly #inc: number;
  #default: Route | undefined;
  /** Fast path of the default stream: its single chooser (null: general path). */
  readonly #one: { choose(values: readonly unknown[]): number } | null;
  readonly #arity: number;
  readonly #info: StreamInfo | null;
  readonly #task: number;
  readonly #host: TaskHost;

  constructor(owner: SpoutCollectorOwner) {
    this.#o = owner;
    this.#inc = owner.incarnation;
    const d = owner.routes.get(DEFAULT_STREAM);
    this.#default = d;
    this.#one = fastChooser(owner, d);
    this.#arity = d === undefined ? -1 : d.arity;
    this.#info = d === undefined ? null : d.info;
    this.#task = owner.taskId;
    this.#host = owner.host;
  }

  emit(a: unknown, b?: unknown, c?: unknown): void {
    if (typeof a === "string") this.#emit(a, b as unknown[], c, NOT_DIRECT);
    else if (this.#one !== null) this.#fast(a, b);
    else this.#emit(DEFAULT_STREAM, a as unknown[], b, NOT_DIRECT);
  }

  /** emit on the default stream through its single chooser; anything unusual takes the general path. */
  #fast(values: unknown, msgId: unknown): void {
    const o = this.#o;
    if (
      o.incarnation !== this.#inc || this.#host.tap !== null || !Array.isArray(values) || values.length !== this.#arity
    ) {
      return this.#emit(DEFAULT_STREAM, values as unknown[], msgId, NOT_DIRECT);
    }
    let task: number;
    try {
      task = this.#one!.choose(values);
    } catch (e) {
      throw unroutable(o, "spout", this.#default!, e);
    }
    const host = this.#host;
    o.emitted++;
    const t = new TupleImpl(values, this.#info!, this.#task);
    if (msgId === undefined || msgId === null) return host.deliver(task, t);
    if (!host.tracking) {
      host.deliver(task, t);
      // Untracked (ATMOST_ONCE) with a message id: acked at once, as Storm does without ackers.
      o.pending++;
      o.ackNow(msgId);
      return;
    }
    const ledger = host.ledger;
    const local = ledger.begin(o.ownerIndex, msgId, host.treeClock());
    o.pending++;
    const h = edgeHalf();
    const l = edgeHalf();
    t.root = local + host.rootBase;
    t.eh = h;
    t.el = l;
    ledger.seed(local, h, l);
    host.deliver(task, t);
  }

  emitDirect(task: number, a: unknown, b?: unknown, c?: unknown): void {
    if (typeof a === "string") this.#emit(a, b as unknown[], c, task);
    else this.#emit(DEFAULT_STREAM, a as unknown[], b, task);
  }

  /** Emits on `stream` (not direct) and returns the ids of the tasks the tuple went to. */
  [EMIT_TASKS](stream: string, values: unknown[], msgId: unknown): number[] {
    const out: number[] = [];
    this.#emit(stream, values, msgId, NOT_DIRECT, out);
    return out;
  }

  /** Crashes this collector's instance, if it is still the current one. */
  [CRASH_TASK](error: unknown, phase: string): void {
    crashOwner(this.#o, this.#inc, error, phase);
  }

  /** Writes a line to the engine's log. */
  [TASK_LOG](level: string, msg: string): void {
    logOwner(this.#o, level, msg);
  }

  #emit(stream: string, values: unknown[], msgId: unknown, direct: number, out: number[] | null = null): void {
    const o = this.#o;
    if (o.incarnation !== this.#inc) return o.dropStale(stream);
    const route = stream === DEFAULT_STREAM && this.#default !== undefined
      ? this.#default
      : routeOf(o, "spout", stream);
    values = checkValues(o, "spout", route, values);
    const n = selectTargets(o, "spout", route, values, direct);
    if (out !== null) { for (let i = 0; i < n; i++) out.push(targets[i]!); }
    const host = o.host;
    if (host.tap !== null) host.tap(o.component, stream, o.taskId, values);
    o.emitted++;
    // A delivery may run the target at once, whose emits reuse `targets`.
    const to = n === 1 ? null : targets.slice(0, n);
    if (!host.tracking || msgId === undefined || msgId === null) {
      for (let i = 0; i < n; i++) {
        host.deliver(to === null ? targets[0]! : to[i]!, new TupleImpl(values, route.info, o.taskId));
      }
      // Untracked (ATMOST_ONCE) with a message id: acked at once, as Storm does without ackers.
      if (msgId !== undefined && msgId !== null) {
        o.pending++;
        o.ackNow(msgId);
      }
      return;
    }
    const ledger = host.ledger;
    const local = ledger.begin(o.ownerIndex, msgId, host.treeClock());
    const root = local + host.rootBase;
    o.pending++;
    if (n === 0) return ledger.settle(local, host.treeClock());
    // Every edge is in the tree before any target runs: a target that runs
    // at once and acks must not complete a tree whose other edges are not in yet.
    const made: TupleImpl[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const t = new TupleImpl(values, route.info, o.taskId);
      const h = edgeHalf();
      const l = edgeHalf();
      t.root = root;
      t.eh = h;
      t.el = l;
      ledger.seed(local, h, l);
      made[i] = t;
    }
    for (let i = 0; i < n; i++) host.deliver(to === null ? targets[0]! : to[i]!, made[i]!);
  }

  finish(): void {
    if (this.#o.incarnation === this.#inc) this.#o.finishRequested = true;
  }

  reportError(error: unknown): void {
    this.#o.host.reportError(this.#o.component, this.#o.taskId, error, false);
  }

  getPendingCount(): number {
    return this.#o.pending;
  }
}

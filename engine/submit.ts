/**
 * `submit`: runs a topology. With no cluster configured it runs embedded, in
 * this process, and returns a handle to watch and steer the run.
 *
 * @module
 */
import { onSignal, resolvePath, runtimeName, yieldNow } from "../runtime/mod.ts";
import { type ConfigInput, configWarnings, parseConfig, type TopologyConfig } from "../topology/config.ts";
import { ArdeaError } from "../topology/errors.ts";
import { StormTopology } from "../topology/topology.ts";
import {
  type CheckpointSetup,
  Container,
  RollbackRequest,
  type RunState,
  type RunSummary,
  type TopologyStats,
} from "./container.ts";
import { FileStateBackend } from "../state/file_state_backend.ts";
import { permanentStateFailure } from "../state/state_backend.ts";
import { assertRewindable, restoreStates } from "./restore.ts";
import { checkTopologyName } from "../transport/wire/mod.ts";
import { resolveStartSequences, START_SEQUENCES_KEY } from "../transport/start_sequences.ts";
import { processCodeDir } from "./code_dir.ts";

/**
 * A running topology.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * const h = await submit("wc", {}, topology);
 * setTimeout(() => h.deactivate(), 1000);
 * const summary = await h.done; // resolves when the run ends; rejects if it failed
 * ```
 */
export interface TopologyHandle {
  readonly name: string;
  /** Current state. */
  readonly state: RunState;
  /** Resolves when the run ends (finished, killed, drained); rejects when it fails. */
  readonly done: Promise<RunSummary>;
  /** Counters now. */
  stats(): TopologyStats;
  /** Stops at once. */
  kill(): Promise<RunSummary>;
  /** Stops asking spouts for tuples, lets in-flight trees finish, then stops. */
  drain(timeoutMs?: number): Promise<RunSummary>;
  /** Resumes the spouts (`activate`). */
  activate(): void;
  /** Pauses the spouts (`deactivate`); tuples in flight are still processed. */
  deactivate(): void;
  /** The logical plan and configuration, for the tracker (may be absent on handles made elsewhere). */
  readonly topology?: StormTopology;
  readonly config?: TopologyConfig;
}

/** Options of {@link submit} beyond Storm's three arguments. */
export interface SubmitOptions {
  /** Drain on SIGINT/SIGTERM, kill on the second signal (default true). */
  handleSignals?: boolean;
  /** Receives every emit (used by tests and `ardea tap`). */
  tap?: (component: string, stream: string, task: number, values: readonly unknown[]) => void;
  /** Log sink (default: console.error). */
  log?: (line: string) => void;
}

type SubmitListener = (handle: TopologyHandle) => void;
const listeners = new Set<SubmitListener>();

/** A `submit()` call as an interceptor sees it: validated, not yet run. */
export interface SubmitRequest {
  readonly name: string;
  readonly config: TopologyConfig;
  readonly topology: StormTopology;
  readonly options: SubmitOptions;
}

/** Takes over `submit()`: returns the handle the script gets. */
export type SubmitInterceptor = (request: SubmitRequest) => TopologyHandle;
let interceptor: SubmitInterceptor | null = null;

/**
 * Routes every `submit()` of this process to `fn` instead of running the
 * topology embedded: `ardea submit` uses it to capture the topology a script
 * builds, and a container process to run its share of it (Storm's
 * `storm jar` model). Returns a function that removes it.
 *
 * @example
 * ```ts
 * declare function pendingHandle(name: string): TopologyHandle;
 * let captured: SubmitRequest | undefined;
 * const off = interceptSubmit((req) => { captured = req; return pendingHandle(req.name); });
 * await import("file:///abs/topo.ts");
 * ```
 */
export function interceptSubmit(fn: SubmitInterceptor): () => void {
  interceptor = fn;
  return () => {
    if (interceptor === fn) interceptor = null;
  };
}

/**
 * Calls `fn` with the handle of every topology submitted from now on (the
 * CLI uses it to show progress and choose its exit code).
 *
 * @example
 * ```ts
 * const off = onSubmit((h) => h.done.then((s) => console.log(s.state)));
 * ```
 */
export function onSubmit(fn: SubmitListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Runs `topology` under `name` with `config`. Throws `ConfigError` for a bad
 * configuration and `ArdeaError` for a bad name.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * declare const builder: TopologyBuilder;
 * const handle = await submit("word-count", { "topology.reliability.mode": "ATLEAST_ONCE" }, builder.createTopology());
 * const summary = await handle.done;
 * console.log(summary.state, summary.stats.acked);
 * ```
 */
export function submit(
  name: string,
  config: ConfigInput | undefined,
  topology: StormTopology,
  options: SubmitOptions = {},
): Promise<TopologyHandle> {
  try {
    return Promise.resolve(submitNow(name, config, topology, options));
  } catch (e) {
    return Promise.reject(e);
  }
}

function submitNow(
  name: string,
  config: ConfigInput | undefined,
  topology: StormTopology,
  options: SubmitOptions,
): TopologyHandle {
  checkTopologyName(name);
  if (!(topology instanceof StormTopology)) {
    throw new ArdeaError("BAD_TOPOLOGY", "submit() expects the result of TopologyBuilder.createTopology()");
  }
  const conf = parseConfig({ ...config, "topology.name": name });
  if (interceptor !== null) {
    const h = interceptor({ name, config: conf, topology, options });
    for (const l of listeners) l(h);
    return h;
  }
  // Embedded only: `ardea submit` warns once in the CLI, not in every container.
  const log = options.log ?? ((l: string) => console.error(l));
  for (const w of configWarnings(config)) log(`[ardea] warning: ${w}`);
  let current!: Container;
  const codeDir = processCodeDir();
  const make = (checkpoints?: CheckpointSetup) => {
    current = new Container({
      name,
      topology,
      config: conf,
      yielder: yieldNow,
      tap: options.tap,
      log: options.log,
      checkpoints,
      codeDir,
    });
    return current;
  };
  const effectivelyOnce = conf["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
  if (effectivelyOnce) assertRewindable(topology);
  else make();
  const done = effectivelyOnce ? runWithRollback(name, topology, conf, make, log) : current.done;
  done.catch(() => {});
  const handle: TopologyHandle = {
    name,
    get state() {
      return current?.state ?? "RUNNING";
    },
    done,
    stats: () => current.stats(),
    kill: () => (current.kill(), done),
    drain: (ms?: number) => (current.drain(ms), done),
    activate: () => current.setActive(true),
    deactivate: () => current.setActive(false),
    topology,
    config: conf,
  };
  if (options.handleSignals ?? true) {
    let signals = 0;
    const stop = () => {
      if (++signals === 1) void current.drain();
      else void current.kill();
    };
    const offs = [onSignal("SIGINT", stop), onSignal("SIGTERM", stop)];
    const off = () => offs.forEach((f) => f());
    done.then(off, off);
  }
  for (const l of listeners) l(handle);
  if (!effectivelyOnce) current.start();
  return handle;
}

/**
 * EFFECTIVELY_ONCE, embedded: runs the topology from the last committed
 * checkpoint in the state directory (a fresh start when there is none or
 * `topology.stateful.start.clean` is set); on any failure every task rolls
 * back to the last committed checkpoint and spouts rewind, within the
 * restart budget (consecutive failures without a new checkpoint).
 */
async function runWithRollback(
  name: string,
  topology: StormTopology,
  conf: TopologyConfig,
  make: (checkpoints: CheckpointSetup) => Container,
  log: (line: string) => void,
): Promise<RunSummary> {
  const backend = new FileStateBackend(resolvePath(conf["topology.state.dir"]));
  const stateFailure = (e: unknown, advice: string) =>
    new ArdeaError(
      "STATE_FAILED",
      `topology "${name}" cannot keep its checkpoints in ${backend.dir}: ${
        e instanceof Error ? e.message : String(e)
      }; ${advice}`,
      {
        cause: e,
      },
    );
  const lock = await backend.lock(name, `an EFFECTIVELY_ONCE run on ${runtimeName()}`).catch(async (e) => {
    await backend.close();
    const advice = permanentStateFailure(e);
    throw advice === undefined || (e as { code?: unknown }).code === "STATE_LOCKED" ? e : stateFailure(e, advice);
  });
  try {
    if (conf["topology.stateful.start.clean"]) await backend.drop(name);
    // Spout starts such as "new" mean this moment for every task and every rollback of this run.
    const starts = await resolveStartSequences(topology, conf);
    if (Object.keys(starts).length > 0) conf[START_SEQUENCES_KEY] = starts;
    const budget = conf["topology.supervisor.max.consecutive.failures"];
    let failures = 0;
    for (;;) {
      const last = await backend.lastCommitted(name);
      const restore = last
        ? await restoreStates(backend, name, last, topology, topology.taskToComponent.keys())
        : new Map<string, Uint8Array>();
      const container = make({ backend, lastId: last?.checkpointId ?? 0, restore });
      container.start();
      try {
        return await container.done;
      } catch (e) {
        if (!(e instanceof RollbackRequest)) throw e;
        // A write of the dead run must not land in the next run's checkpoints.
        await container.checkpointWrites();
        const advice = permanentStateFailure(e.reason);
        if (advice !== undefined) throw stateFailure(e.reason, advice);
        failures = container.checkpointsCommitted > 0 ? 1 : failures + 1;
        if (failures >= budget) {
          throw new ArdeaError(
            "ROLLBACK_BUDGET",
            `topology "${name}" failed ${failures} times without completing a checkpoint: ${e.message}`,
            { cause: e.reason },
          );
        }
        log(`[ardea] topology "${name}": ${e.message} (checkpoint ${last?.checkpointId ?? "none"})`);
        await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** failures)));
      }
    }
  } catch (e) {
    // A checkpoint that cannot be read or written for good fails with what to do.
    const advice = (e as { code?: unknown }).code === "STATE_FAILED" ? undefined : permanentStateFailure(e);
    throw advice === undefined ? e : stateFailure(e, advice);
  } finally {
    await lock.release();
    await backend.close();
  }
}

/**
 * Storm's `LocalCluster`: submit and kill topologies by name in this process.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * const cluster = new LocalCluster();
 * await cluster.submitTopology("wc", {}, topology);
 * await cluster.killTopology("wc");
 * ```
 */
export class LocalCluster {
  readonly #running = new Map<string, TopologyHandle>();

  /** Runs a topology; a name already running is an error. */
  async submitTopology(
    name: string,
    config: ConfigInput | undefined,
    topology: StormTopology,
  ): Promise<TopologyHandle> {
    if (this.#running.has(name)) throw new ArdeaError("DUPLICATE_TOPOLOGY", `topology "${name}" is already running`);
    const h = await submit(name, config, topology, { handleSignals: false });
    this.#running.set(name, h);
    const forget = () => this.#running.delete(name);
    h.done.then(forget, forget);
    return h;
  }

  /** The handle of a running topology. */
  getTopology(name: string): TopologyHandle | undefined {
    return this.#running.get(name);
  }

  /** Kills a running topology. */
  async killTopology(name: string): Promise<RunSummary> {
    const h = this.#running.get(name);
    if (!h) throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${name}" is running`);
    return await h.kill();
  }

  /** Kills every topology. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.#running.values()].map((h) => h.kill()));
  }
}

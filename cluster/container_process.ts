/**
 * A container process of a distributed topology, in its phases: loading
 * (the topology's record and bundle), capturing (the script builds the
 * topology; its `submit()` is intercepted), then generations: each runs
 * the tasks the packing plan gives this container and talks to the other
 * containers and the master over NATS (transport/wire/ describes the
 * sequence), until the master stops the run or (EFFECTIVELY_ONCE) rolls
 * every container back, when the next generation runs in this same
 * process. Resolves with the process exit code. The parts are in
 * cluster/container_process/.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { ArdeaError } from "../topology/errors.ts";
import { type ContainerEvent, encodeMessage, runEpoch, subjects, type TopologyRecord } from "../transport/wire/mod.ts";
import { loadBundle } from "./bundle.ts";
import { containerCodeDir } from "./resources.ts";
import { setCodeDir } from "../engine/code_dir.ts";
import { LogRing } from "./log_ring.ts";
import { ErrorLog } from "./metrics_report.ts";
import { Records } from "./records.ts";
import {
  captureConsole,
  captureScript,
  controlListener,
  generationOf,
  patiently,
  restoreFor,
  RollbackWatch,
  runGeneration,
} from "./container_process/mod.ts";

export { componentErrors } from "./container_process/mod.ts";

/** Options of {@link runContainer}. */
export interface ContainerProcessOptions {
  nc: NatsConnection;
  topology: string;
  index: number;
  log?: (line: string) => void;
  /** Log lines kept for `ardea logs` (default 2000). */
  logLines?: number;
  /** How long the script may take to call submit() (ms). */
  submitTimeoutMs?: number;
}

/**
 * Runs container `index` of `topology` until the master stops it.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const code = await runContainer({ nc, topology: "word-count", index: 1 });
 * ```
 */
export async function runContainer(opts: ContainerProcessOptions): Promise<number> {
  const ring = new LogRing(opts.logLines ?? 2000);
  const restoreConsole = captureConsole(ring);
  try {
    return await runCapturing(opts, ring);
  } finally {
    restoreConsole();
  }
}

async function runCapturing(opts: ContainerProcessOptions, ring: LogRing): Promise<number> {
  const sink = opts.log;
  // Without a sink of its own a line goes to console.error, which copies it into the ring.
  const log = sink === undefined ? (l: string) => console.error(l) : (l: string) => {
    ring.push(l);
    sink(l);
  };
  const { nc, index } = opts;
  // Loading.
  const { records, rec, file, codeDir } = await load(opts, log);
  // Capturing: the script builds its topology and calls submit().
  const script = await captureScript(file, rec, index, log, opts.submitTimeoutMs).catch(async (e: Error) => {
    // Another graph (or topology) than at submit is the same in every restart: the run fails at once, with why.
    if ((e as ArdeaError).code === "TOPOLOGY_DIFFERS" || (e as ArdeaError).code === "WRONG_TOPOLOGY") {
      await reportFailed(nc, rec, index, e);
    }
    throw e;
  });
  // Generations.
  const errors = new ErrorLog();
  let generation = generationOf(rec, script.request);
  const eo = generation.config["topology.reliability.mode"] === "EFFECTIVELY_ONCE";
  // EFFECTIVELY_ONCE rollback in place: the master names a new generation and
  // its checkpoint; this process resets its tasks without exiting. (Only
  // then: every message on ctl would be decoded a second time for nothing.)
  const rollbacks = eo ? new RollbackWatch(controlListener(nc, subjects(rec.name).ctl), rec.generation ?? 0) : null;
  try {
    for (;;) {
      const checkpoints = eo ? await restoreFor(nc, generation, index, log) : undefined;
      const outcome = await runGeneration({
        nc,
        index,
        log,
        ring,
        req: script.request,
        errors,
        records,
        generation,
        checkpoints,
        rollbacks,
        steer: script.steer,
        codeDir,
      });
      if (outcome.kind === "exit") {
        script.settle(outcome.error === undefined ? { summary: outcome.summary! } : { error: outcome.error });
        return outcome.code;
      }
      log(
        `[ardea] ${rec.name} container ${index}: rolling back in place to checkpoint ${outcome.restoreFrom} (generation ${outcome.generation})`,
      );
      const next = await nextRecord(records, rec.name, outcome, log);
      rollbacks!.running = next.generation ?? 0;
      generation = generationOf(next, script.request);
    }
  } finally {
    rollbacks?.close();
  }
}

/** Tells the master container `index` failed with `e` (a `failed` event: the run ends FAILED with it). */
async function reportFailed(nc: NatsConnection, rec: TopologyRecord, index: number, e: Error): Promise<void> {
  const event: ContainerEvent = {
    type: "failed",
    container: index,
    epoch: runEpoch(rec.submittedAt, rec.generation),
    error: `${e.name}: ${e.message}`,
  };
  nc.publish(subjects(rec.name).events, encodeMessage(event));
  await nc.flush().catch(() => {});
}

/**
 * Loading: the records, this topology's record (checked against `index`),
 * the bundle file and the code directory (the resources, extracted), which
 * is this process's too, for the script.
 */
async function load(
  opts: ContainerProcessOptions,
  log: (line: string) => void,
): Promise<{ records: Records; rec: TopologyRecord; file: string; codeDir: string }> {
  const records = await patiently("opening the records", log, () => Records.bind(opts.nc));
  const rec = await patiently("reading the topology record", log, async () => records?.getTopology(opts.topology));
  if (records === undefined || rec === undefined) {
    throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${opts.topology}" is submitted on this NATS`);
  }
  if (opts.index < 0 || opts.index >= rec.containers) {
    throw new ArdeaError(
      "BAD_CONTAINER",
      `topology "${rec.name}" has ${rec.containers} containers; there is no container ${opts.index}`,
    );
  }
  const file = await patiently("loading the bundle", log, () => loadBundle(opts.nc, rec.bundle));
  const codeDir = await patiently("loading the resources", log, () => containerCodeDir(opts.nc, rec, file));
  setCodeDir(codeDir);
  return { records, rec, file, codeDir };
}

/**
 * The record the next generation runs: the one the master wrote before it
 * said `rollback` (a later one is fine too).
 */
async function nextRecord(
  records: Records,
  name: string,
  asked: { generation: number; restoreFrom: number },
  log: (line: string) => void,
): Promise<TopologyRecord> {
  const next = await patiently("reading the topology record", log, async () => {
    const r = await records.getTopology(name);
    if (r === undefined) throw new ArdeaError("UNKNOWN_TOPOLOGY", `topology "${name}" is gone`);
    return r;
  });
  return (next.generation ?? 0) < asked.generation
    ? { ...next, generation: asked.generation, restoreFrom: asked.restoreFrom }
    : next;
}

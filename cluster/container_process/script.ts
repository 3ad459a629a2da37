/**
 * The topology script of a container process: loaded from the bundle, its
 * `submit()` intercepted (Storm's `storm jar` model). The script gets a
 * handle that steers whichever container runs the current generation.
 *
 * @module
 */
import { setScriptArgs } from "../../runtime/mod.ts";
import { ArdeaError } from "../../topology/errors.ts";
import type { TopologyRecord } from "../../transport/wire/mod.ts";
import type { Container, RunSummary } from "../../engine/container.ts";
import { emptyStatsSnapshot } from "../../metrics/snapshot.ts";
import { interceptSubmit, type SubmitRequest, type TopologyHandle } from "../../engine/submit.ts";
import { importBundle } from "../script_import.ts";
import { logicalPlan } from "../../metrics/plan.ts";
import { planDifference } from "./plan_check.ts";

/** The topology a script submitted, and the handle its `submit()` returned. */
export interface CapturedScript {
  readonly request: SubmitRequest;
  /** Makes `c` the container the script's handle steers (each generation has its own). */
  steer(c: Container): void;
  /** Ends the run for the script: its handle's `done` resolves with `summary`, or rejects with `error`. */
  settle(end: { summary: RunSummary } | { error: Error }): void;
}

/**
 * Runs the bundled script `file` of `rec`'s topology with `rec.args` and
 * captures the topology it submits. Throws what loading threw (a
 * ScriptError naming the script and its frame), `NO_SUBMIT` when it loaded
 * without calling `submit()` within `submitTimeoutMs`, `WRONG_TOPOLOGY`
 * when it submitted another topology, and `TOPOLOGY_DIFFERS` when it built
 * another graph than at submit ({@link sameTopology}).
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * import type { Container } from "../../engine/container.ts";
 * declare const rec: TopologyRecord;
 * declare const container: Container;
 * const script = await captureScript("/tmp/wc/topology.js", rec, 1, console.error);
 * script.steer(container);
 * ```
 */
export async function captureScript(
  file: string,
  rec: TopologyRecord,
  index: number,
  log: (line: string) => void,
  submitTimeoutMs?: number,
): Promise<CapturedScript> {
  let container: Container | null = null;
  let settle!: { resolve: (s: RunSummary) => void; reject: (e: Error) => void };
  const done = new Promise<RunSummary>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => {});
  let captured!: (r: SubmitRequest) => void;
  const submitted = new Promise<SubmitRequest>((r) => (captured = r));
  const handle: TopologyHandle = {
    name: rec.name,
    get state() {
      return container?.state ?? "RUNNING";
    },
    done,
    stats: () => container?.stats() ?? emptyStatsSnapshot(rec.name, "RUNNING"),
    kill: () => container?.kill() ?? done,
    drain: (ms?: number) => container?.drain(ms) ?? done,
    activate: () => container?.setActive(true),
    deactivate: () => container?.setActive(false),
  };
  const off = interceptSubmit((req) => {
    captured(req);
    return handle;
  });
  setScriptArgs(file, rec.args);
  const { request, loaded } = await importBundle(file, submitted, submitTimeoutMs).finally(off);
  loaded.catch((e) => log(`[ardea] ${(e as Error).message}`));
  if (request.name !== rec.name) {
    throw new ArdeaError(
      "WRONG_TOPOLOGY",
      `the script submitted "${request.name}", but this container belongs to "${rec.name}"`,
    );
  }
  sameTopology(request, rec, index);
  return {
    request,
    steer: (c) => (container = c),
    settle: (end) => ("summary" in end ? settle.resolve(end.summary) : settle.reject(end.error)),
  };
}

/**
 * Checks that the topology container `index`'s run of the script built is
 * the one recorded at submit (the record's logical plan: components, kinds,
 * parallelism and tasks, streams and fields, subscriptions and groupings).
 * A script whose graph depends on something that differs per process
 * (an environment variable, a file, the clock) builds another one in a
 * container; that is `TOPOLOGY_DIFFERS`, naming the first difference. A
 * record without a plan (written before plans were recorded) is not checked.
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * import type { SubmitRequest } from "../../engine/submit.ts";
 * declare const rec: TopologyRecord, request: SubmitRequest;
 * sameTopology(request, rec, 1);
 * // ArdeaError: the script built a different topology in container 1 than at submit: bolt "count" has 3 tasks here, 2 at submit
 * ```
 */
export function sameTopology(request: SubmitRequest, rec: TopologyRecord, index: number): void {
  if (rec.plan === undefined) return;
  const d = planDifference(logicalPlan(request.topology), rec.plan);
  if (d !== null) {
    throw new ArdeaError(
      "TOPOLOGY_DIFFERS",
      `the script built a different topology in container ${index} than at submit: ${d}`,
    );
  }
}

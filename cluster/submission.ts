/**
 * Submitting to a NATS cluster (Storm's `storm jar`): run the script here
 * with `submit()` intercepted to learn its topology, pack the tasks into
 * containers, store the script's bundle and the topology record. (The
 * local scheduler's containers start in container_spawn.ts.)
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { resolvePath, type RuntimeName, setScriptArgs, toFileUrl } from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { NatsStateBackend } from "../state/nats_state_backend.ts";
import { isTerminal, type TopologyRecord, WIRE_VERSION } from "../transport/wire/mod.ts";
import { logicalPlan } from "../metrics/plan.ts";
import { ardeaVersion, bundleScript, storeBundle } from "./bundle.ts";
import { packResources, resourcesToShip, storeResources } from "./resources.ts";
import { ScriptError } from "./script_import.ts";
import { resolveStartSequences, START_SEQUENCES_KEY } from "../transport/start_sequences.ts";
import type { RunSummary } from "../engine/container.ts";
import { packRoundRobin } from "./packing.ts";
import { assertRewindable } from "../engine/restore.ts";
import type { Records } from "./records.ts";
import { interceptSubmit, type SubmitRequest, type TopologyHandle } from "../engine/submit.ts";

/** Options of {@link prepareSubmission}. */
export interface SubmissionOptions {
  nc: NatsConnection;
  records: Records;
  /** Path of the topology script. */
  script: string;
  scriptArgs: string[];
  /**
   * A generated entry module instead of the script file (a Flux file):
   * `code` is what the bundle carries to the containers; `submit` does here
   * what importing it does (calls submit()).
   */
  entry?: { code: string; submit: () => Promise<unknown> };
  /** Containers (default: the topology's `topology.containers`). */
  containers?: number | undefined;
  /** Replicas of the code object store when this call creates it (default 1). */
  replicas?: number;
  /** Where the containers run (default local). */
  scheduler?: "local" | "pool";
  runtime: RuntimeName;
  /** Working directory the containers run in. */
  cwd: string;
  /** How long the script may take to call submit() (ms). */
  submitTimeoutMs?: number;
  /** Where a warning goes (default: stderr). */
  log?: (line: string) => void;
  /**
   * The folder to ship as the topology's resources (`--resources`); default:
   * the `resources/` folder beside the script, if any (resources.ts `resourcesToShip`).
   */
  resources?: string | undefined;
}

/** How long a script that has finished loading may still take to call submit(). */
const NO_SUBMIT_GRACE_MS = 1000;

/**
 * Runs `script` (or `load`, which stands for importing it) with its
 * `submit()` intercepted and captures the request.
 * The handle the script gets never settles here: the script runs for real in
 * the containers.
 *
 * @example
 * ```ts
 * const req = await captureTopology("examples/word_count.ts", ["--input", "a.txt"]);
 * req.topology.taskCount;
 * ```
 */
export async function captureTopology(
  script: string,
  scriptArgs: string[],
  timeoutMs = 60_000,
  load?: () => Promise<unknown>,
): Promise<SubmitRequest> {
  let captured!: (r: SubmitRequest) => void;
  const request = new Promise<SubmitRequest>((r) => (captured = r));
  const pending = new Promise<RunSummary>(() => {});
  const off = interceptSubmit((req) => {
    captured(req);
    const handle: TopologyHandle = {
      name: req.name,
      state: "RUNNING",
      done: pending,
      stats: () => {
        throw new ArdeaError("REMOTE", "stats of a submitted topology are in `ardea status`");
      },
      kill: () => pending,
      drain: () => pending,
      activate: () => {},
      deactivate: () => {},
    };
    return handle;
  });
  const path = resolvePath(script);
  setScriptArgs(path, scriptArgs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  try {
    // A script that has finished loading without calling submit() gets a short
    // grace (for a submit() a moment later) instead of the whole timeout.
    const imported = (load === undefined ? import(toFileUrl(path)) : load()).then(
      () =>
        new Promise<never>((_, reject) => {
          if (!settled) {
            grace = setTimeout(
              () => reject(new ArdeaError("NO_SUBMIT", `${script} finished loading without calling submit()`)),
              NO_SUBMIT_GRACE_MS,
            );
          }
        }),
      (e: unknown) => {
        throw e instanceof ArdeaError ? e : new ScriptError(script, path, e);
      },
    );
    return await Promise.race([
      request,
      imported,
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new ArdeaError("NO_SUBMIT", `${script} did not call submit() within ${timeoutMs} ms`)),
          timeoutMs,
        )
      ),
    ]);
  } finally {
    settled = true;
    clearTimeout(timer);
    clearTimeout(grace);
    off();
  }
}

/**
 * Captures the script's topology, stores its bundle and writes its record
 * (state SUBMITTED). Throws if a topology of that name is still active.
 * More containers than tasks are clipped to the task count, with a warning.
 *
 * @example
 * ```ts
 * import { cwd } from "../runtime/mod.ts";
 * declare const o: SubmissionOptions;
 * const { nc, records } = o, script = "topo.ts", scriptArgs = ["--input", "words.txt"];
 * const record = await prepareSubmission({ nc, records, script, scriptArgs, runtime: "node", cwd: cwd() });
 * ```
 */
export async function prepareSubmission(o: SubmissionOptions): Promise<TopologyRecord> {
  // esbuild bundles in its own process while the script runs here; an error of the script comes first.
  const bundling = bundleScript(o.script, o.entry === undefined ? {} : { entryCode: o.entry.code });
  bundling.catch(() => {});
  const shipped = resourcesToShip(resolvePath(o.script), o.resources);
  const packing = shipped === undefined ? undefined : packResources(shipped);
  packing?.catch(() => {});
  const req = await captureTopology(o.script, o.scriptArgs, o.submitTimeoutMs, o.entry?.submit);
  const existing = await o.records.getTopology(req.name).catch(() => null);
  if (existing && !isTerminal(existing.state)) {
    throw new ArdeaError(
      "ALREADY_RUNNING",
      `topology "${req.name}" is already ${existing.state}; kill it first (ardea kill ${req.name})`,
    );
  }
  if (req.config["topology.reliability.mode"] === "EFFECTIVELY_ONCE") assertRewindable(req.topology);
  let containers = o.containers ?? req.config["topology.containers"];
  const tasks = req.topology.taskCount;
  if (containers > tasks) {
    // As Storm and Heron, no empty container: it would have nothing to run or finish.
    (o.log ?? ((l: string) => console.error(l)))(
      `ardea: topology "${req.name}" has ${tasks} task(s); ${containers} containers would leave some empty, so it runs in ${tasks}`,
    );
    containers = tasks;
  }
  const tasksPacking = packRoundRobin(req.topology, containers);
  // A resources folder that cannot be shipped (too large, unreadable) fails the submit before anything is stored.
  const archive = await packing;
  const sha = await storeBundle(o.nc, await bundling, { replicas: o.replicas ?? 1 });
  const resources = archive === undefined
    ? undefined
    : await storeResources(o.nc, archive, { replicas: o.replicas ?? 1 });
  if (req.config["topology.reliability.mode"] === "EFFECTIVELY_ONCE") {
    // Checkpoints get the replicas of the records: on a cluster, losing one server must not lose them.
    const checkpoints = new NatsStateBackend(o.nc, { replicas: o.replicas ?? 1 });
    // A clean start drops the last run's checkpoints before any container can restore them (as an embedded run does).
    if (req.config["topology.stateful.start.clean"]) await checkpoints.drop(req.name);
    await checkpoints.lastCommitted(req.name);
  }
  // Spout starts such as "new" are resolved once, here: every container and every rollback reads them from the record.
  const starts = await resolveStartSequences(req.topology, req.config, o.nc);
  const config = { ...req.config, ...(Object.keys(starts).length > 0 ? { [START_SEQUENCES_KEY]: starts } : {}) };
  const components: Record<string, number[]> = {};
  for (const [id, tasks] of req.topology.componentTasks) components[id] = [...tasks];
  const now = Date.now();
  const record: TopologyRecord = {
    version: WIRE_VERSION,
    name: req.name,
    state: "SUBMITTED",
    config: JSON.parse(JSON.stringify(config)),
    bundle: sha,
    ...(resources === undefined ? {} : { resources }),
    args: o.scriptArgs,
    cwd: o.cwd,
    containers,
    packing: Object.fromEntries([...tasksPacking].map(([t, c]) => [String(t), c])),
    components,
    scheduler: o.scheduler ?? "local",
    runtime: o.runtime,
    plan: logicalPlan(req.topology),
    ardeaVersion: await ardeaVersion(),
    submittedAt: now,
    updatedAt: now,
  };
  await o.records.putTopology(record);
  return record;
}

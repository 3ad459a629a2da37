/**
 * The commands that run a topology on a NATS cluster: `submit` (bundle,
 * record, start the containers under a master), `master` (the local
 * scheduler's supervisor, started detached by `submit` without `--wait`) and
 * `container` (one container process; started by a scheduler, not by hand).
 *
 * @module
 */
import {
  localSpawner,
  planFor,
  poolSpawner,
  prepareSubmission,
  Records,
  runContainer,
  runMaster,
  runWorker,
  type StandbyAssignment,
  type Standbys,
} from "../cluster/mod.ts";
import {
  ardeaRoot,
  commandFor,
  cwd,
  env,
  exit,
  isDirectorySync,
  isTTY,
  makeTempDir,
  onSignal,
  readStdinLine,
  resolvePath,
  type RuntimeName,
  runtimeName,
  spawnDetached,
  terminalColumns,
  writeStderr,
  writeStdout,
} from "../runtime/mod.ts";
import { RemoteTracking } from "../tracker/remote_tracking.ts";
import { containerRecordsSnapshot } from "../tracker/remote_stats.ts";
import type { StatsSnapshot as TopologyStats } from "../metrics/snapshot.ts";
import type { TrackedTopology } from "../tracker/tracker.ts";
import { LiveView } from "./live_view.ts";
import { scriptPathProblem } from "./run.ts";
import type { NatsConnection } from "nats";
import {
  type ContainerRecord,
  encodeMessage,
  isRunning,
  subjects,
  type TopologyRecord,
} from "../transport/wire/mod.ts";
import {
  closeNats,
  connectNats,
  type EnvSource,
  type NatsFlags,
  type NatsSettings,
  natsSettingsEnv,
  NatsSettingsError,
  parseNatsFlags,
} from "../transport/nats_connect.ts";
import { type Command, UsageError } from "./args.ts";
import { dryRunFlux, isFluxCommand, readFluxFile } from "./flux_file.ts";
import { z } from "zod";

type SubmitCommand = Extract<Command, { type: "submit" }>;
type WorkerCommand = Extract<Command, { type: "worker" }>;
type RestartCommand = Extract<Command, { type: "restart" }>;
type UpdateCommand = Extract<Command, { type: "update" }>;
type MasterCommand = Extract<Command, { type: "master" }>;
type ContainerCommand = Extract<Command, { type: "container" }>;
import { ArdeaError } from "../topology/errors.ts";
import { totalTasksProblem } from "../topology/builder.ts";
import { configWarnings } from "../topology/config.ts";

/** Options of `ardea submit`. */
export interface SubmitCommandOptions {
  script: string;
  scriptArgs: string[];
  /** A Flux file's `--filter`. */
  filter?: string | undefined;
  /** A Flux file's `--env-filter`. */
  envFilter?: boolean | undefined;
  /** A Flux file's `--dry-run`. */
  dryRun?: boolean | undefined;
  nats: NatsFlags;
  containers?: number | undefined;
  /** Replicas of the KV bucket and code store when created (default 1). */
  replicas?: number;
  runtime?: RuntimeName;
  scheduler?: "local" | "pool";
  wait: boolean;
  /** `--resources`: the folder to ship as the topology's resources (default: resources/ beside the script). */
  resources?: string | undefined;
  /**
   * Containers started ahead for this submit (`--wait`, local scheduler):
   * the master hands them their topology; released when submit ends.
   */
  standbys?: Standbys | undefined;
}

const say = (line: string) => writeStderr(`${line}\n`);

/**
 * `ardea submit`: returns the exit code (with `--wait`: 0 only when the
 * topology FINISHED).
 *
 * @example
 * ```ts
 * const code = await submitCommand({ script: "examples/word_count.ts", scriptArgs: [], nats: { nats: "nats://127.0.0.1:4222" }, containers: 2, wait: true });
 * ```
 */
export async function submitCommand(o: SubmitCommandOptions): Promise<number> {
  try {
    return await submitWith(o);
  } finally {
    o.standbys?.release();
  }
}

async function submitWith(o: SubmitCommandOptions): Promise<number> {
  const entry = isFluxCommand(o, "submit") ? await fluxSubmission(o) : undefined;
  if (typeof entry === "number") return entry;
  const problem = await scriptPathProblem(o.script, resolvePath(cwd(), o.script));
  if (problem !== null) {
    say(`ardea: ${problem}`);
    return 2;
  }
  if (o.resources !== undefined && !isDirectorySync(resolvePath(cwd(), o.resources))) {
    say(`ardea: --resources ${o.resources}: no such folder (${resolvePath(cwd(), o.resources)})`);
    return 2;
  }
  const settings = parseNatsFlags(o.nats, env);
  const runtime = o.runtime ?? "node";
  const scheduler = o.scheduler ?? "local";
  // Standbys started on a quick look at the command line that the parse did not confirm.
  if (!o.wait || scheduler !== "local") o.standbys?.release();
  // With --wait this process is the master: it rides out a server restart like one.
  const nc = await connectNats(settings, { name: "ardea submit", reconnectForever: o.wait });
  try {
    const records = await Records.open(nc, { replicas: o.replicas ?? 1 });
    const record = await prepareSubmission({
      nc,
      records,
      script: o.script,
      scriptArgs: o.scriptArgs,
      ...(entry === undefined ? {} : { entry }),
      containers: o.containers,
      replicas: o.replicas ?? 1,
      scheduler,
      runtime,
      cwd: cwd(),
      resources: o.resources,
    });
    // Containers beyond those of the record (clipped to its task count) are not needed.
    o.standbys?.release(record.containers);
    for (const w of configWarnings(record.config)) say(`ardea: warning: ${w}`);
    say(
      `ardea: submitted "${record.name}" (${record.containers} container(s), ${
        Object.keys(record.packing).length
      } tasks, bundle ${record.bundle.slice(0, 12)})`,
    );
    if (!o.wait) {
      const logDir = await makeTempDir("ardea-master-");
      const logFile = resolvePath(logDir, `${record.name}.log`);
      const { cmd, args } = commandFor(runtimeName(), resolvePath(ardeaRoot(), "bin", "ardea.mjs"), [
        "master",
        record.name,
      ]);
      const pid = spawnDetached(cmd, args, { cwd: record.cwd, env: natsSettingsEnv(settings), logFile });
      say(
        `ardea: master of "${record.name}" runs as pid ${pid} (log: ${logFile}); follow it with: ardea status ${record.name}`,
      );
      return 0;
    }
    const started = performance.now();
    const live = watchLive(nc, record);
    let state: Awaited<ReturnType<typeof runMaster>>;
    try {
      state = await runMaster({
        nc,
        records,
        record,
        spawn: spawnerFor(nc, records, record, settings, o.standbys),
        log: live.say,
        onState: (s, error) => {
          live.onState(s);
          live.say(`ardea: "${record.name}" ${s}${error ? `: ${error}` : ""}`);
        },
        onContainer: live.onContainer,
      });
    } finally {
      await live.stop();
    }
    say(`ardea: "${record.name}" ended ${state} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return state === "FINISHED" ? 0 : 1;
  } finally {
    await closeNats(nc);
  }
}

/**
 * A Flux file's entry for the submission (the generated module and what it
 * does here), or the exit code when there is nothing to submit: 2 a missing
 * file, 1 a wrong one (reported), `--dry-run`'s.
 */
async function fluxSubmission(
  o: SubmitCommandOptions,
): Promise<{ code: string; submit: () => Promise<unknown> } | number> {
  const problem = await scriptPathProblem(o.script, resolvePath(cwd(), o.script));
  if (problem !== null) {
    say(`ardea: ${problem}`);
    return 2;
  }
  if (o.dryRun === true) return await dryRunFlux(o);
  const { fluxEntry, importFluxModules, submitFlux } = await import("../flux/mod.ts");
  try {
    const doc = await readFluxFile(o);
    return { code: fluxEntry(doc), submit: async () => await submitFlux(doc, await importFluxModules(doc)) };
  } catch (e) {
    say(`ardea: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return 1;
  }
}

/** The live view of `submit --wait`, and what it needs to hear from the master. */
interface LiveWatch {
  /** Writes a line above the table. */
  say: (line: string) => void;
  onState: (state: TopologyRecord["state"]) => void;
  onContainer: (record: ContainerRecord) => void;
  stop: () => Promise<void>;
}

/**
 * The live view of `submit --wait`. On a terminal, a table per component:
 * the counters every container publishes, read as the tracker of
 * `ardea ui --nats` reads them (this topology only). In a log, a status
 * line every 10 s from the counters of the containers' heartbeats, which
 * the master reads anyway (no reports to decode, no records to poll).
 */
function watchLive(nc: NatsConnection, record: TopologyRecord): LiveWatch {
  const name = record.name;
  let state = record.state;
  const containers = new Map<number, ContainerRecord>();
  const running = () => isRunning(state);
  let stats = (): TopologyStats[] =>
    running() ? [containerRecordsSnapshot({ ...record, state }, containers.values())] : [];
  let remote: Promise<RemoteTracking | undefined> = Promise.resolve(undefined);
  const tty = isTTY("stderr");
  if (tty) {
    const found = new Map<string, TrackedTopology>();
    const sink = {
      add: (t: TrackedTopology) => void found.set(t.name, t),
      remove: (n: string) => found.delete(n),
    };
    remote = RemoteTracking.start(nc, sink, { log: () => {}, topology: name }).catch(() => undefined);
    stats = () => {
      const t = found.get(name);
      return t !== undefined && isRunning(t.state) ? [t.stats()] : [];
    };
  }
  const view = new LiveView({
    stats: () => stats(),
    write: writeStderr,
    columns: () => (tty ? terminalColumns("stderr") : 200),
    mode: tty ? "table" : "plain",
  });
  view.start();
  return {
    say: (line) => {
      view.clear();
      say(line);
    },
    onState: (s) => void (state = s),
    onContainer: (c) => void containers.set(c.container, c),
    stop: async () => {
      view.stop();
      await (await remote)?.close();
    },
  };
}

/**
 * `ardea restart` and `ardea update`: the master does the work; this checks
 * the topology, writes the new plan (update) and asks the master.
 */
async function steerPlan(cmd: RestartCommand | UpdateCommand): Promise<number> {
  const settings = parseNatsFlags(cmd.nats, env);
  const nc = await connectNats(settings, { name: `ardea ${cmd.type}` });
  try {
    const records = await Records.bind(nc);
    const rec = await records?.getTopology(cmd.topology);
    if (records === undefined || rec === undefined) {
      throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${cmd.topology}" (ardea list shows them)`);
    }
    if (!isRunning(rec.state)) throw new ArdeaError("NOT_RUNNING", `topology "${cmd.topology}" is ${rec.state}`);
    const lease = await records.getLease(cmd.topology);
    if (lease === undefined || lease.expiresAt < Date.now()) {
      throw new ArdeaError("NO_MASTER", `topology "${cmd.topology}" has no live master to do it`);
    }
    const ctl = subjects(cmd.topology).ctl;
    if (cmd.type === "restart") {
      if (cmd.container !== undefined && cmd.container >= rec.containers) {
        throw new ArdeaError("BAD_CONTAINER", `topology "${cmd.topology}" has containers 0-${rec.containers - 1}`);
      }
      nc.publish(ctl, encodeMessage({ type: "restart", container: cmd.container }));
      say(
        `ardea: asked the master of "${cmd.topology}" to restart ${
          cmd.container === undefined ? "every container" : `container ${cmd.container}`
        }`,
      );
    } else {
      for (const id of Object.keys(cmd.parallelism)) {
        if (!(id in rec.components)) {
          throw new ArdeaError(
            "UNKNOWN_COMPONENT",
            `topology "${cmd.topology}" has no component "${id}" (it has ${Object.keys(rec.components).join(", ")})`,
          );
        }
      }
      // The next plan, over one asked for earlier and not yet running; the master takes it up.
      await records.updateTopology(cmd.topology, (r) => {
        const base = r.nextPlan ?? { components: r.components, parallelism: r.parallelism ?? {} };
        const counts = {
          ...Object.fromEntries(Object.entries(base.components).map(([id, t]) => [id, t.length])),
          ...cmd.parallelism,
        };
        const tooMany = totalTasksProblem(Object.values(counts).reduce((n, k) => n + k, 0));
        if (tooMany !== null) throw new ArdeaError("TOO_MANY_TASKS", `topology "${cmd.topology}": ${tooMany}`);
        const plan = planFor(counts, r.containers);
        return {
          ...r,
          nextPlan: {
            packing: plan.packing,
            components: plan.components,
            parallelism: { ...base.parallelism, ...cmd.parallelism },
          },
        };
      });
      nc.publish(ctl, encodeMessage({ type: "update" }));
      say(
        `ardea: "${cmd.topology}" will run ${
          Object.entries(cmd.parallelism).map(([c, k]) => `${c}×${k}`).join(", ")
        }; the master restarts its containers on the new plan`,
      );
    }
    await nc.flush();
    return 0;
  } finally {
    await closeNats(nc);
  }
}

function spawnerFor(
  nc: NatsConnection,
  records: Records,
  record: TopologyRecord,
  settings: NatsSettings,
  standbys?: Standbys,
) {
  return record.scheduler === "pool"
    ? poolSpawner(nc, records, record)
    : localSpawner(record, natsSettingsEnv(settings), standbys);
}

/**
 * `ardea worker`: offers this machine's slots until SIGINT/SIGTERM.
 *
 * @example
 * ```ts
 * await workerCommand(4, undefined, {});
 * ```
 */
export async function workerCommand(slots: number, id: string | undefined, nats: NatsFlags): Promise<number> {
  const settings = parseNatsFlags(nats, env);
  const nc = await connectNats(settings, { name: `ardea worker`, reconnectForever: true });
  let offs: Array<() => void> = [];
  const stop = new Promise<void>((resolve) => {
    offs = [onSignal("SIGINT", resolve), onSignal("SIGTERM", resolve)];
  });
  try {
    const records = await Records.open(nc);
    await runWorker({ nc, records, settings, slots, id, log: say, stop });
    return 0;
  } finally {
    for (const off of offs) off();
    await closeNats(nc);
  }
}

/**
 * `ardea master <topology>`: supervises the containers of a submitted
 * topology until it ends.
 *
 * @example
 * ```ts
 * await masterCommand("word-count", {});
 * ```
 */
export async function masterCommand(topology: string, nats: NatsFlags): Promise<number> {
  const settings = parseNatsFlags(nats, env);
  const nc = await connectNats(settings, { name: `ardea master ${topology}`, reconnectForever: true });
  try {
    const records = await Records.open(nc);
    const record = await records.getTopology(topology);
    if (record === undefined) throw new ArdeaError("UNKNOWN_TOPOLOGY", `no topology "${topology}" is submitted`);
    if (record.state !== "SUBMITTED") {
      throw new ArdeaError("NOT_SUBMITTED", `topology "${topology}" is ${record.state}, not SUBMITTED`);
    }
    const state = await runMaster({ nc, records, record, spawn: spawnerFor(nc, records, record, settings), log: say });
    writeStdout(`${topology} ${state}\n`);
    return state === "FINISHED" || state === "KILLED" ? 0 : 1;
  } finally {
    await closeNats(nc);
  }
}

/**
 * `ardea container <topology> --index I`: one container process.
 *
 * @example
 * ```ts
 * await containerCommand("word-count", 0, {});
 * ```
 */
export async function containerCommand(topology: string | null, index: number, nats: NatsFlags): Promise<number> {
  // Stopped by its scheduler (SIGTERM) or a Ctrl-C, a container ends at once
  // as it would with no handler, but through exit(), which also kills the
  // subprocesses of its tasks (shell components run in process groups of
  // their own: runtime/spawn.ts `group`). Killed with SIGKILL, it cannot: its
  // subprocesses then read the end of their stdin, on which Storm's
  // multilang clients exit.
  onSignal("SIGTERM", () => exit(143));
  onSignal("SIGINT", () => exit(130));
  let source: EnvSource = env;
  if (topology === null) {
    // A standby: loads what the topology's bundle imports, then learns which
    // topology it runs, and how to reach NATS (cluster/container_spawn.ts).
    const [line] = await Promise.all([readStdinLine(), import("../mod.ts")]);
    // Stdin ends first when the scheduler needs no such container (or is gone).
    if (line === null) return 0;
    const assignment = parseStandbyAssignment(line);
    topology = assignment.topology;
    source = assignment.env;
  }
  const settings = parseNatsFlags(nats, source);
  const nc = await connectNats(settings, {
    name: `ardea ${topology} container ${index}`,
    reconnectForever: true,
    retryFirstMs: 30_000,
  });
  try {
    return await runContainer({ nc, topology, index, log: say });
  } finally {
    await closeNats(nc);
  }
}

const standbyAssignmentSchema = z.object({ topology: z.string().min(1), env: z.record(z.string(), z.string()) });

/** A standby's stdin line ({@link StandbyAssignment}); a malformed one is an error that names it. */
function parseStandbyAssignment(line: string): StandbyAssignment {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ArdeaError(
      "BAD_ASSIGNMENT",
      `a standby container expects one JSON line on stdin, got ${JSON.stringify(line.slice(0, 80))}: ${
        (e as Error).message
      }`,
    );
  }
  const r = standbyAssignmentSchema.safeParse(v);
  if (!r.success) {
    throw new ArdeaError(
      "BAD_ASSIGNMENT",
      `a standby container's stdin line: ${r.error.issues[0]!.message} at ${
        r.error.issues[0]!.path.join(".") || "the top"
      }`,
    );
  }
  return r.data;
}

/**
 * Runs `submit`, `master` or `container` from a parsed command line; bad NATS
 * settings are usage errors (exit 2), any Ardea error one line (exit 1).
 *
 * @example
 * ```ts
 * import { parseArgs, type SubmitCommand } from "./args.ts";
 * const code = await runCluster(parseArgs(["submit", "wc.ts", "--wait"]) as SubmitCommand);
 * ```
 */
export async function runCluster(
  cmd: SubmitCommand | WorkerCommand | RestartCommand | UpdateCommand | MasterCommand | ContainerCommand,
  standbys?: Standbys,
): Promise<number> {
  try {
    switch (cmd.type) {
      case "restart":
      case "update":
        return await steerPlan(cmd);
      case "worker":
        return await workerCommand(cmd.slots, cmd.id, cmd.nats);
      case "submit":
        return await submitCommand({ ...cmd, standbys });
      case "master":
        return await masterCommand(cmd.topology, cmd.nats);
      case "container":
        return await containerCommand(cmd.topology, cmd.index, cmd.nats);
    }
  } catch (e) {
    if (e instanceof NatsSettingsError) throw new UsageError(e.message, cmd.type);
    if (e instanceof ArdeaError) {
      writeStderr(`ardea: ${e.name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

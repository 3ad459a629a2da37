/**
 * Starting container processes on this machine: the command of one (the
 * engine's JavaScript build when it is current, on Node), and standbys,
 * containers started before their topology is known. Light on imports:
 * `ardea submit --wait` starts its standbys before it loads anything else.
 *
 * @module
 */
import {
  ardeaRoot,
  builtArdeaCommand,
  type ChildHandle,
  commandFor,
  resolvePath,
  type RuntimeName,
  spawnProcess,
} from "../runtime/mod.ts";
import type { TopologyRecord } from "../transport/wire/mod.ts";

/**
 * The local scheduler's way to start container `index` of `record`: a child
 * process of this machine running `ardea container`, on the record's
 * runtime, in its working directory, with `env` added to its environment
 * (the NATS settings, transport/nats_connect.ts `natsSettingsEnv`). The
 * first start of an index takes the standby of that index from `standbys`,
 * if it has one that is still alive.
 *
 * @example
 * ```ts
 * import type { NatsSettings } from "ardea";
 * import { natsSettingsEnv } from "../transport/nats_connect.ts";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const record: TopologyRecord, settings: NatsSettings;
 * const spawn = localSpawner(record, natsSettingsEnv(settings));
 * const child = spawn(0);
 * ```
 */
export function localSpawner(
  record: TopologyRecord,
  env: Record<string, string>,
  standbys?: Standbys,
): (index: number) => ChildHandle {
  return (index) => {
    const standby = standbys?.take(index, record, env);
    if (standby !== undefined) return standby;
    const { cmd, args } = containerCommand(record.runtime, ["container", record.name, "--index", String(index)]);
    return spawnProcess(cmd, args, { cwd: record.cwd, env, stdio: "inherit", reapGroups: true });
  };
}

/**
 * The command that runs `ardea <args>` as a container process on `runtime`:
 * on Node the engine's JavaScript build without the TypeScript loader when
 * that build is current (a container runs only JavaScript: the engine and
 * the topology's bundle), else `bin/ardea.mjs` as the CLI runs.
 *
 * @example
 * ```ts
 * import { spawnProcess } from "../runtime/mod.ts";
 * const { cmd, args } = containerCommand("node", ["container", "wc", "--index", "0"]);
 * spawnProcess(cmd, args, { stdio: "inherit" });
 * ```
 */
export function containerCommand(runtime: RuntimeName, args: string[]): { cmd: string; args: string[] } {
  return (runtime === "node" ? builtArdeaCommand(args) : undefined) ??
    commandFor(runtime, resolvePath(ardeaRoot(), "bin", "ardea.mjs"), args);
}

/**
 * What a standby reads on its stdin, as one JSON line: the topology whose
 * container it runs, and the environment variables a container started for
 * it would have had (the NATS settings).
 */
export interface StandbyAssignment {
  topology: string;
  env: Record<string, string>;
}

/** Options of {@link startStandbys}. */
export interface StandbyOptions {
  /** How many: containers 0 to count - 1. */
  count: number;
  runtime: RuntimeName;
  /** Working directory of the containers. */
  cwd: string;
}

/** Container processes started before their topology is known ({@link startStandbys}). */
export interface Standbys {
  /**
   * The standby of container `index`, told to run it for `record` with
   * `env` (see {@link StandbyAssignment}); undefined when there is none for
   * that index (taken already, or ended) or it does not fit the record
   * (another runtime or working directory).
   */
  take(index: number, record: TopologyRecord, env: Record<string, string>): ChildHandle | undefined;
  /** Ends the standbys not taken, from index `from` on (default all): their stdin closes, they exit at once. */
  release(from?: number): void;
}

/**
 * Starts `count` container processes (`ardea container --standby`) that
 * load the engine while the caller is still loading its own, building the
 * topology and recording it: a container process spends most of its
 * start-up there, so the run starts about that much sooner.
 * {@link localSpawner} hands each one its topology when the master starts
 * that container.
 *
 * @example
 * ```ts
 * import type { NatsSettings } from "ardea";
 * import { cwd } from "../runtime/mod.ts";
 * import { natsSettingsEnv } from "../transport/nats_connect.ts";
 * import { type MasterOptions, runMaster } from "./master.ts";
 * declare const settings: NatsSettings, o: MasterOptions;
 * const { nc, records, record } = o;
 * const standbys = startStandbys({ count: 2, runtime: "node", cwd: cwd() });
 * try {
 *   await runMaster({ nc, records, record, spawn: localSpawner(record, natsSettingsEnv(settings), standbys) });
 * } finally {
 *   standbys.release();
 * }
 * ```
 */
export function startStandbys(o: StandbyOptions): Standbys {
  const waiting = new Map<number, { child: ChildHandle; ended: boolean }>();
  for (let i = 0; i < o.count; i++) {
    const { cmd, args } = containerCommand(o.runtime, ["container", "--standby", "--index", String(i)]);
    const child = spawnProcess(cmd, args, { cwd: o.cwd, stdio: "stdin", reapGroups: true });
    const standby = { child, ended: false };
    const ended = () => void (standby.ended = true);
    standby.child.exited.then(ended, ended);
    waiting.set(i, standby);
  }
  return {
    take(index, record, env) {
      const standby = waiting.get(index);
      waiting.delete(index);
      if (standby === undefined) return undefined;
      if (standby.ended || record.runtime !== o.runtime || record.cwd !== o.cwd) {
        standby.child.closeStdin();
        return undefined;
      }
      const assignment: StandbyAssignment = { topology: record.name, env };
      // A standby that ends before it reads this is a container that died: the master restarts it.
      standby.child.writeStdin(`${JSON.stringify(assignment)}\n`).catch(() => {});
      return standby.child;
    },
    release(from = 0) {
      for (const [i, { child }] of waiting) {
        if (i < from) continue;
        child.closeStdin();
        waiting.delete(i);
      }
    },
  };
}

/**
 * Child processes: start one, read its output line by line, signal it, and
 * wait for it to end. Used by distributed mode (containers, workers) and by
 * test harnesses such as testing/nats_server.ts.
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import type { Readable } from "node:stream";
import { type DenoChildProcess, denoGlobal, type DenoNamespace } from "./_deno.ts";

/** How a child ended: its exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: string | null;
}

/** Signals {@link ChildHandle.kill} can send. */
export type ProcessSignal =
  | "SIGTERM"
  | "SIGINT"
  | "SIGKILL"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGSTOP"
  | "SIGCONT";

/** Which output stream of a child a line came from. */
export type ChildStream = "stdout" | "stderr";

/** Options of {@link spawnProcess}. */
export interface SpawnOptions {
  /** Variables added to (and overriding) this process's environment. */
  env?: Record<string, string>;
  /** Working directory of the child; default: ours. */
  cwd?: string;
  /**
   * "inherit" (default): the child shares our stdin/stdout/stderr.
   * "pipe": its stdin is writable and its output is read line by line.
   * "stdin": its stdin is writable; it shares our stdout/stderr.
   */
  stdio?: "inherit" | "pipe" | "stdin";
  /**
   * Called for every output line when piped. Without it, lines are kept for
   * {@link ChildHandle.lines}, up to `maxBufferedLines` per stream.
   */
  onLine?: (line: string, stream: ChildStream) => void;
  /** Lines kept per stream for `lines()` before the oldest are dropped; default 10000. */
  maxBufferedLines?: number;
  /**
   * The child leads a session and process group of its own (default
   * false): a Ctrl-C at the terminal does not reach it (whoever started it
   * stops it, e.g. after a drain); {@link ChildHandle.kill} signals the
   * whole group, the child's own children too; and when this process
   * exits (`exit()`, or the end of its work; not when it is killed by a
   * signal it has no handler for) the group of a child still running is
   * killed (SIGKILL). For the subprocesses of tasks (shell components),
   * which must not outlive their topology.
   */
  group?: boolean;
  /**
   * The child's own `group` children never outlive it, even when it is
   * SIGKILLed (default false): the child records the process group of each
   * in a folder this process names (environment variable
   * `ARDEA_PROCESS_GROUPS_DIR`; made by the child at its first group child,
   * removed when it exits), and once the child has ended, this process
   * kills (SIGKILL) the groups still recorded there, as Storm's supervisor
   * kills the pids a dead worker left in its pids folder. For container
   * processes, whose tasks run shell subprocesses.
   */
  reapGroups?: boolean;
  /**
   * When piped: stdout is not cut into lines but handed here chunk by chunk,
   * as read (a binary protocol such as msgpack); stderr still goes by lines.
   */
  onStdoutBytes?: (chunk: Uint8Array) => void;
  /** A line longer than this many characters is handed over in pieces of it (bounded memory); default: no bound. */
  maxLineLength?: number;
}

/** A running (or finished) child process. */
export interface ChildHandle {
  /** Process id; undefined if the process could not be started. */
  readonly pid: number | undefined;
  /**
   * Settles when the child has ended and its output has been read (at most
   * 500 ms more, in case a grandchild holds the output pipe open). Rejects
   * only if it could not be started (for example, command not found).
   */
  readonly exited: Promise<ChildExit>;
  /** Sends `signal` (default SIGTERM); false if the child had already ended. */
  kill(signal?: ProcessSignal): boolean;
  /**
   * The child's output lines on `stream` (piped only): buffered ones first,
   * then new ones as they come; ends when the stream closes. One consumer
   * per stream.
   */
  lines(stream: ChildStream): AsyncIterableIterator<string>;
  /** Writes to the child's stdin (stdio "pipe" or "stdin" only). */
  writeStdin(data: string | Uint8Array): Promise<void>;
  /** Closes the child's stdin (stdio "pipe" or "stdin" only). */
  closeStdin(): void;
}

const OUTPUT_GRACE_MS = 500;

class LineQueue {
  readonly #lines: string[] = [];
  readonly #max: number;
  #waiter: (() => void) | undefined;
  #ended = false;
  dropped = 0;

  constructor(max: number) {
    this.#max = max;
  }

  push(line: string): void {
    if (this.#lines.length >= this.#max) {
      this.#lines.shift();
      this.dropped++;
    }
    this.#lines.push(line);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  async *iterate(): AsyncIterableIterator<string> {
    for (;;) {
      while (this.#lines.length > 0) yield this.#lines.shift()!;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }
}

/** Cuts decoded chunks into lines (a trailing `\r` dropped); `end()` emits an unterminated last line. */
class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #emit: (line: string) => void;
  readonly #max: number;
  #pending = "";

  constructor(emit: (line: string) => void, max = Infinity) {
    this.#emit = emit;
    this.#max = max;
  }

  push(chunk: Uint8Array): void {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    let nl = this.#pending.indexOf("\n");
    while (nl >= 0) {
      const line = this.#pending.slice(0, nl);
      this.#line(line.endsWith("\r") ? line.slice(0, -1) : line);
      this.#pending = this.#pending.slice(nl + 1);
      nl = this.#pending.indexOf("\n");
    }
    while (this.#pending.length > this.#max) {
      this.#emit(this.#pending.slice(0, this.#max));
      this.#pending = this.#pending.slice(this.#max);
    }
  }

  /** Emits `line`, in pieces of at most the maximum length. */
  #line(line: string): void {
    if (line.length <= this.#max) return this.#emit(line);
    for (let at = 0; at < line.length; at += this.#max) this.#emit(line.slice(at, at + this.#max));
  }

  end(): void {
    this.#pending += this.#decoder.decode();
    if (this.#pending.length > 0) this.#line(this.#pending.endsWith("\r") ? this.#pending.slice(0, -1) : this.#pending);
    this.#pending = "";
  }
}

/** What reads one output stream: a line splitter, or a raw chunk sink. */
interface ChunkSink {
  push(chunk: Uint8Array): void;
  end(): void;
}

/** The sink of a piped output stream: raw stdout chunks to `onStdoutBytes` when given, else lines to `emit`. */
function sinkFor(opts: SpawnOptions, stream: ChildStream, emit: (line: string) => void): ChunkSink {
  const raw = stream === "stdout" ? opts.onStdoutBytes : undefined;
  if (raw !== undefined) return { push: raw, end() {} };
  return new LineSplitter(emit, opts.maxLineLength);
}

function splitLines(stream: Readable | null, splitter: ChunkSink, done: () => void): Promise<void> {
  if (stream === null) {
    done();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    stream.on("data", (chunk: Uint8Array) => splitter.push(chunk));
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      splitter.end();
      done();
      resolve();
    };
    stream.on("end", finish);
    stream.on("error", finish);
    stream.on("close", finish);
  });
}

/** Reads a web stream into lines until it ends, fails, or `reader.cancel()` is called. */
async function splitWebLines(
  stream: ReadableStream<Uint8Array>,
  splitter: ChunkSink,
  done: () => void,
  readers: Array<ReadableStreamDefaultReader<Uint8Array>>,
): Promise<void> {
  const reader = stream.getReader();
  readers.push(reader);
  try {
    for (;;) {
      const { value, done: over } = await reader.read();
      if (over) break;
      splitter.push(value);
    }
  } catch {
    // Cancelled after the grace period, or the pipe broke: what was read counts.
  } finally {
    splitter.end();
    done();
  }
}

/**
 * Starts `cmd` with `args` (no shell).
 *
 * @example
 * ```ts
 * import { spawnProcess } from "./mod.ts";
 * const child = spawnProcess("nats-server", ["-p", "4333", "-a", "127.0.0.1"], { stdio: "pipe" });
 * for await (const line of child.lines("stderr")) {
 *   if (line.includes("Server is ready")) break;
 * }
 * child.kill("SIGTERM");
 * const { code, signal } = await child.exited;
 * ```
 */
export function spawnProcess(cmd: string, args: string[], opts: SpawnOptions = {}): ChildHandle {
  // Deno's node:child_process reports a child that trapped a signal and exited
  // with a code of its own as killed by that signal: use Deno.Command there.
  const deno = denoGlobal();
  if (!opts.reapGroups) return deno === undefined ? spawnNode(cmd, args, opts) : spawnDeno(deno, cmd, args, opts);
  // The child makes the folder when it first records a group (most never do), and removes it when it exits.
  const ledger = join(tmpdir(), `ardea-groups-${process.pid}-${crypto.randomUUID()}`);
  const withLedger = { ...opts, env: { ...opts.env, [GROUPS_DIR_ENV]: ledger } };
  const child = deno === undefined ? spawnNode(cmd, args, withLedger) : spawnDeno(deno, cmd, args, withLedger);
  const reap = () => reapLedger(ledger);
  const exited = child.exited.then((exit) => (reap(), exit), (e) => {
    reap();
    throw e;
  });
  exited.catch(() => {});
  return {
    get pid() {
      return child.pid;
    },
    exited,
    kill: (signal) => child.kill(signal),
    lines: (stream) => child.lines(stream),
    writeStdin: (data) => child.writeStdin(data),
    closeStdin: () => child.closeStdin(),
  };
}

/** Where a process started with `reapGroups` records the process groups of its `group` children. */
const GROUPS_DIR_ENV = "ARDEA_PROCESS_GROUPS_DIR";

/** Kills (SIGKILL) every process group recorded in `ledger` and removes it. */
function reapLedger(ledger: string): void {
  try {
    for (const name of readdirSync(ledger)) if (/^[1-9]\d*$/.test(name)) signalGroup(Number(name), "SIGKILL");
  } catch {
    // gone already
  }
  rmSync(ledger, { recursive: true, force: true });
}

/** This process's ledger (see `reapGroups`), from its environment; null until read, "" when none. */
let groupsLedger: string | null = null;

function ledgerFile(pid: number): string | undefined {
  if (groupsLedger === null) {
    const deno = denoGlobal();
    groupsLedger = (deno === undefined ? process.env[GROUPS_DIR_ENV] : deno.env.get(GROUPS_DIR_ENV)) ?? "";
  }
  if (groupsLedger === "") return undefined;
  mkdirSync(groupsLedger, { recursive: true, mode: 0o700 });
  return join(groupsLedger, String(pid));
}

function lineQueues(opts: SpawnOptions) {
  const max = opts.maxBufferedLines ?? 10_000;
  const queues = { stdout: new LineQueue(max), stderr: new LineQueue(max) };
  const emitter = (stream: ChildStream) =>
    opts.onLine === undefined
      ? (line: string) => queues[stream].push(line)
      : (line: string) => opts.onLine!(line, stream);
  return { queues, emitter };
}

function spawnDeno(deno: DenoNamespace, cmd: string, args: string[], opts: SpawnOptions): ChildHandle {
  const piped = opts.stdio === "pipe";
  const { queues, emitter } = lineQueues(opts);
  const io = piped ? "piped" : "inherit";
  const input = piped || opts.stdio === "stdin" ? "piped" : "inherit";
  let child: DenoChildProcess;
  try {
    child = new deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: input,
      stdout: io,
      stderr: io,
      ...(opts.group ? { detached: true } : {}),
    }).spawn();
  } catch (error) {
    queues.stdout.end();
    queues.stderr.end();
    const exited = Promise.reject(
      new Error(`SpawnError: could not start "${cmd}": ${(error as Error).message}`, { cause: error }),
    );
    exited.catch(() => {});
    return {
      pid: undefined,
      exited,
      kill: () => false,
      lines: (stream) => queues[stream].iterate(),
      writeStdin: () => Promise.reject(new Error(`ChildHandle.writeStdin: "${cmd}" did not start`)),
      closeStdin() {},
    };
  }
  let ended = false;
  const readers: Array<ReadableStreamDefaultReader<Uint8Array>> = [];
  const outputRead = piped
    ? Promise.all([
      splitWebLines(child.stdout, sinkFor(opts, "stdout", emitter("stdout")), () => queues.stdout.end(), readers),
      splitWebLines(child.stderr, sinkFor(opts, "stderr", emitter("stderr")), () => queues.stderr.end(), readers),
    ])
    : (queues.stdout.end(), queues.stderr.end(), Promise.resolve());
  const stdin = input === "piped" ? child.stdin.getWriter() : null;
  const group = opts.group ? groupOf(child.pid) : undefined;
  const exited = child.status.then(async (status) => {
    ended = true;
    group?.ended();
    // Deno keeps a piped stdin's resource open after the child ended (Node
    // closes it): close it, or each child leaks one.
    stdin?.close().catch(() => {});
    // As with Node: a grandchild holding the output pipe open is not waited for long.
    const grace = setTimeout(() => {
      for (const r of readers) r.cancel().catch(() => {});
    }, OUTPUT_GRACE_MS);
    await outputRead;
    clearTimeout(grace);
    return status.signal !== null ? { code: null, signal: status.signal } : { code: status.code, signal: null };
  });
  exited.catch(() => {});
  return {
    pid: child.pid,
    exited,
    kill(signal: ProcessSignal = "SIGTERM"): boolean {
      if (ended) return false;
      if (group !== undefined) return group.kill(signal);
      try {
        child.kill(signal);
        return true;
      } catch {
        return false; // it ended meanwhile
      }
    },
    lines(stream: ChildStream): AsyncIterableIterator<string> {
      if (!piped) throw new Error(`ChildHandle.lines: "${cmd}" was started with stdio "inherit"`);
      return queues[stream].iterate();
    },
    writeStdin(data: string | Uint8Array): Promise<void> {
      if (stdin === null) return Promise.reject(new Error(`ChildHandle.writeStdin: "${cmd}" has no piped stdin`));
      return stdin.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
    },
    closeStdin(): void {
      stdin?.close().catch(() => {});
    },
  };
}

function spawnNode(cmd: string, args: string[], opts: SpawnOptions): ChildHandle {
  const piped = opts.stdio === "pipe";
  const child: ChildProcess = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
    stdio: piped ? "pipe" : opts.stdio === "stdin" ? ["pipe", "inherit", "inherit"] : "inherit",
    detached: opts.group === true,
  });
  const group = opts.group && child.pid !== undefined ? groupOf(child.pid) : undefined;
  const { queues, emitter } = lineQueues(opts);
  const outputRead = piped
    ? Promise.all([
      splitLines(child.stdout, sinkFor(opts, "stdout", emitter("stdout")), () => queues.stdout.end()),
      splitLines(child.stderr, sinkFor(opts, "stderr", emitter("stderr")), () => queues.stderr.end()),
    ])
    : (queues.stdout.end(), queues.stderr.end(), Promise.resolve());

  const exited = new Promise<ChildExit>((resolve, reject) => {
    let started = false;
    child.once("spawn", () => (started = true));
    child.once("error", (error: Error) => {
      if (started) return; // a failed kill() or stdin write; "exit" still follows
      queues.stdout.end();
      queues.stderr.end();
      reject(new Error(`SpawnError: could not start "${cmd}": ${error.message}`, { cause: error }));
    });
    child.once("exit", (code, signal) => {
      group?.ended();
      // The child's own output is already in the pipe and arrives at once;
      // a grandchild that inherited the pipe may hold it open for much
      // longer, so stop reading after a grace period.
      const grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, OUTPUT_GRACE_MS);
      void outputRead.then(() => {
        clearTimeout(grace);
        resolve({ code, signal });
      });
    });
  });
  // A caller that only kills the child must not get an unhandled rejection.
  exited.catch(() => {});

  const stdin = child.stdin;
  // A write to a child that has ended fails in its callback; the stream's own 'error' must not crash us.
  stdin?.on("error", () => {});
  return {
    get pid() {
      return child.pid;
    },
    exited,
    kill(signal: ProcessSignal = "SIGTERM"): boolean {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      return group !== undefined ? group.kill(signal) : child.kill(signal);
    },
    lines(stream: ChildStream): AsyncIterableIterator<string> {
      if (!piped) throw new Error(`ChildHandle.lines: "${cmd}" was started with stdio "inherit"`);
      return queues[stream].iterate();
    },
    writeStdin(data: string | Uint8Array): Promise<void> {
      if (stdin === null) return Promise.reject(new Error(`ChildHandle.writeStdin: "${cmd}" has no piped stdin`));
      return new Promise((resolve, reject) => stdin.write(data, (error) => (error ? reject(error) : resolve())));
    },
    closeStdin(): void {
      stdin?.end();
    },
  };
}

/** Leaders of the process groups of running children started with `group` (their pids). */
const groups = new Set<number>();
let killGroupsAtExit = false;

/** Kills (SIGKILL) the group of every running child started with `group`. */
function killGroups(): void {
  for (const pid of groups) signalGroup(pid, "SIGKILL");
  groups.clear();
  if (groupsLedger) rmSync(groupsLedger, { recursive: true, force: true });
}

function signalGroup(pid: number, signal: ProcessSignal): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the whole group is gone
  }
}

/**
 * The process group a `group` child leads: signalled as a whole, killed
 * when this process exits while the child runs. Once the child has ended
 * its group is forgotten: its id may be reused.
 */
function groupOf(pid: number): { kill(signal: ProcessSignal): boolean; ended(): void } {
  if (!killGroupsAtExit) {
    killGroupsAtExit = true;
    const deno = denoGlobal();
    if (deno === undefined) process.on("exit", killGroups);
    else globalThis.addEventListener("unload", killGroups);
  }
  groups.add(pid);
  let recorded: string | undefined;
  try {
    recorded = ledgerFile(pid);
    if (recorded !== undefined) writeFileSync(recorded, "");
  } catch {
    recorded = undefined; // no ledger to write to: the group is still killed when this process exits
  }
  return {
    kill: (signal) => groups.has(pid) && signalGroup(pid, signal),
    ended: () => {
      groups.delete(pid);
      if (recorded !== undefined) rmSync(recorded, { force: true });
    },
  };
}

/** Options of {@link spawnDetached}. */
export interface DetachedOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** File that receives the process's stdout and stderr (appended; parent folders must exist). */
  logFile: string;
}

/**
 * Starts a process that outlives this one (its own session, output to a
 * log file, not waited for); returns its pid.
 *
 * @example
 * ```ts
 * import { execPath } from "./process.ts";
 * const cmd = execPath();
 * const pid = spawnDetached(cmd, ["master", "wc"], { logFile: "/tmp/wc-master.log" });
 * ```
 */
export function spawnDetached(cmd: string, args: string[], opts: DetachedOptions): number {
  const fd = openSync(opts.logFile, "a");
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`SpawnError: could not start "${cmd}"`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

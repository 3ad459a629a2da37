/**
 * One multilang subprocess: started in the task's code directory, given the
 * handshake, written to in batches (one write per event-loop turn), read
 * message by message, its stderr kept in a bounded ring, and stopped with
 * SIGTERM then SIGKILL. Whatever goes wrong with it (it exits, cannot start,
 * writes garbage, floods stderr) is reported once, as a {@link MultilangError}
 * that names the command, the component, the task and the last stderr lines.
 *
 * @module
 */
import type { TopologyConfig } from "../topology/config.ts";
import type { TopologyContext } from "../topology/context.ts";
import { type ChildHandle, makeTempDir, removePath, resolvePath, spawnProcess } from "../runtime/mod.ts";
import { setupMessage } from "./handshake.ts";
import { MultilangError } from "./options.ts";
import { GarbageError, type MessageDecoder, type Serializer } from "./serializer.ts";
import { STDERR_LINE_CHARS, StderrTail } from "./stderr_tail.ts";

/** Stderr lines logged per second at most; the others are counted in one line. */
export const STDERR_LOGGED_PER_SEC = 20;
/** How long a subprocess has to exit after SIGTERM before SIGKILL (ms). */
export const KILL_GRACE_MS = 1000;

/** What a {@link ShellProcess} needs to start. */
export interface ShellProcessSpec {
  readonly command: readonly string[];
  /** Working directory ("" or undefined: the current one). */
  readonly cwd: string | undefined;
  readonly env: Record<string, string> | undefined;
  readonly serializer: Serializer;
  /** "bolt" or "spout", for messages. */
  readonly kind: string;
  readonly timeoutMs: number;
  /** Characters of stderr within a second past which the subprocess is stopped as flooding it. */
  readonly stderrFloodChars: number;
  /** Every message after the handshake. */
  readonly onMessage: (msg: Record<string, unknown> | unknown[], proc: ShellProcess) => void;
  /** The subprocess failed (once; not after {@link ShellProcess.stop}). */
  readonly onFault: (error: MultilangError) => void;
  /** Where its stderr lines are logged (at most {@link STDERR_LOGGED_PER_SEC} a second). */
  readonly logStderr: (line: string) => void;
}

/** A message from a subprocess is an object (a command) or an array (never sent by a well-behaved one). */
function isMessage(m: unknown): m is Record<string, unknown> | unknown[] {
  return typeof m === "object" && m !== null;
}

/**
 * A running multilang subprocess.
 *
 * @example
 * ```ts
 * import type { TopologyConfig, TopologyContext } from "ardea";
 * import { serializerFor } from "./serializer.ts";
 * declare const conf: TopologyConfig, context: TopologyContext;
 * const proc = await ShellProcess.start({
 *   command: ["node", "split.js"], cwd: undefined, env: undefined, serializer: serializerFor("json"),
 *   kind: "bolt", timeoutMs: 30_000, stderrFloodChars: 1 << 20, onMessage: (m) => console.log(m),
 *   onFault: (e) => console.error(e.message), logStderr: (line) => console.error(line),
 * }, conf, context);
 * proc.send({ command: "next" });
 * await proc.stop();
 * ```
 */
export class ShellProcess {
  readonly #spec: ShellProcessSpec;
  readonly #label: string;
  readonly #tail = new StderrTail();
  #child: ChildHandle | null = null;
  #pidDir = "";
  #pid = 0;
  #decoder: MessageDecoder;
  #out: Array<string | Uint8Array> = [];
  #flushing = false;
  /** Settle the handshake while it runs. */
  #handshake: ((msg: unknown) => void) | null = null;
  #failHandshake: ((e: unknown) => void) | null = null;
  #failed = false;
  #stopping: Promise<void> | null = null;
  /** Stderr lines logged in this second, and those not logged. */
  #stderrLogged = 0;
  #stderrSkipped = 0;

  private constructor(spec: ShellProcessSpec, component: string, task: number) {
    this.#spec = spec;
    this.#label = `${spec.kind} "${component}" (task ${task}): subprocess \`${spec.command.join(" ")}\``;
    this.#decoder = spec.serializer.decoder((msg) => this.#onMessage(msg));
  }

  /**
   * Starts the subprocess and runs the handshake: resolves once it sent its
   * pid, rejects with a {@link MultilangError} if it cannot start, exits, or
   * does not answer within the subprocess timeout.
   */
  static async start(spec: ShellProcessSpec, conf: TopologyConfig, context: TopologyContext): Promise<ShellProcess> {
    const p = new ShellProcess(spec, context.getThisComponentId(), context.getThisTaskId());
    await p.#launch(conf, context);
    return p;
  }

  /** "bolt "split" (task 3): subprocess `node split.js`": what error messages start with. */
  get label(): string {
    return this.#label;
  }

  async #launch(conf: TopologyConfig, context: TopologyContext): Promise<void> {
    const spec = this.#spec;
    this.#pidDir = await makeTempDir("ardea-multilang-");
    const cwd = spec.cwd === undefined || spec.cwd === "" ? undefined : resolvePath(spec.cwd);
    let program = spec.command[0]!;
    // As Storm (the child changes directory, then runs): a relative path is relative to the code dir.
    if (cwd !== undefined && program.includes("/") && !program.startsWith("/")) program = resolvePath(cwd, program);
    const handshake = new Promise<unknown>((resolve, reject) => {
      this.#handshake = resolve;
      this.#failHandshake = reject;
    });
    const child = spawnProcess(program, spec.command.slice(1), {
      stdio: "pipe",
      cwd,
      env: spec.env,
      onStdoutBytes: (chunk) => this.#onStdout(chunk),
      onLine: (line) => this.#onStderr(line),
      maxLineLength: STDERR_LINE_CHARS * 4,
    });
    this.#child = child;
    child.exited.then(
      (exit) => {
        const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        this.#fail(new MultilangError("SUBPROCESS_EXITED", this.#describe(how)));
      },
      (e) => {
        this.#fail(
          new MultilangError(
            "SUBPROCESS_NOT_STARTED",
            this.#describe(`could not start (cwd ${cwd ?? "the current directory"}): ${(e as Error).message}`),
            { cause: e },
          ),
        );
      },
    );
    this.send(setupMessage(conf, context, this.#pidDir));
    const timer = setTimeout(() => this.timedOut("did not answer the handshake"), spec.timeoutMs);
    try {
      const reply = await handshake;
      const pid = (reply as { pid?: unknown } | null)?.pid;
      if (typeof pid !== "number") {
        throw new MultilangError(
          "BAD_HANDSHAKE",
          this.#describe(`answered the handshake with ${JSON.stringify(reply)}, not {"pid": <its pid>}`),
        );
      }
      this.#pid = pid;
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `what` happened to the subprocess, with its pid and last stderr lines. */
  #describe(what: string): string {
    const pid = this.#pid !== 0
      ? ` (pid ${this.#pid})`
      : this.#child?.pid !== undefined
      ? ` (pid ${this.#child.pid})`
      : "";
    const tail = this.#tail.text();
    const stderr = tail === "" ? "; it wrote nothing to stderr" : `; its last stderr lines:\n${tail}`;
    return `${this.#label}${pid} ${what}${stderr}`;
  }

  #onStdout(chunk: Uint8Array): void {
    if (this.#failed) return;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      if (e instanceof GarbageError) {
        this.#fail(
          new MultilangError(
            "SUBPROCESS_GARBAGE",
            this.#describe(`wrote output that is not a ${this.#spec.serializer.name} multilang message: ${e.message}`),
          ),
        );
      } else this.#fail(e);
    }
  }

  #onMessage(msg: unknown): void {
    if (this.#failed) return;
    const hs = this.#handshake;
    if (hs !== null) {
      this.#handshake = null;
      hs(msg);
      return;
    }
    if (!isMessage(msg)) {
      throw new GarbageError("a message that is not an object", JSON.stringify(msg) ?? String(msg));
    }
    this.#spec.onMessage(msg, this);
  }

  #onStderr(line: string): void {
    if (this.#failed) return;
    const tail = this.#tail;
    tail.push(line);
    if (this.#stderrLogged < STDERR_LOGGED_PER_SEC) {
      this.#stderrLogged++;
      this.#spec.logStderr(line);
    } else this.#stderrSkipped++;
    const max = this.#spec.stderrFloodChars;
    if (tail.windowChars > max) {
      this.#fail(
        new MultilangError(
          "SUBPROCESS_STDERR_FLOOD",
          this.#describe(
            `wrote more than ${max} characters to stderr within a second (topology.multilang.stderr.max.bytes.per.sec)`,
          ),
        ),
      );
    }
  }

  /** Starts a new stderr window (called every second). */
  tick(): void {
    this.#tail.resetWindow();
    if (this.#stderrSkipped > 0 && !this.#failed) {
      this.#spec.logStderr(`(${this.#stderrSkipped} more stderr lines in the last second, not logged)`);
    }
    this.#stderrLogged = 0;
    this.#stderrSkipped = 0;
  }

  /**
   * Reports `error` as this subprocess's failure (once), unless it is being
   * stopped; the process is killed. Other errors (a protocol error the
   * component found) pass through unchanged.
   */
  #fail(error: unknown): void {
    if (this.#failed || this.#stopping !== null) return;
    this.#failed = true;
    void this.stop();
    const reject = this.#failHandshake;
    this.#failHandshake = null;
    if (this.#handshake !== null) {
      this.#handshake = null;
      reject?.(error);
      return;
    }
    this.#spec.onFault(error as MultilangError);
  }

  /** Fails the subprocess with a protocol error found by the component (`what` it did wrong). */
  protocolError(what: string): MultilangError {
    const error = new MultilangError("SUBPROCESS_PROTOCOL", this.#describe(what));
    this.#fail(error);
    return error;
  }

  /** A timeout: the subprocess did not answer for `what`. */
  timedOut(what: string): void {
    this.#fail(
      new MultilangError(
        "SUBPROCESS_TIMEOUT",
        this.#describe(`${what} within ${this.#spec.timeoutMs / 1000} s (topology.subprocess.timeout.secs)`),
      ),
    );
  }

  /** Queues `msg`; what is queued in one event-loop turn goes out in one write. */
  send(msg: unknown): void {
    if (this.#failed || this.#stopping !== null) return;
    this.#out.push(this.#spec.serializer.encode(msg));
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushing = false;
    const out = this.#out;
    if (out.length === 0 || this.#child === null) return;
    this.#out = [];
    // A write to a subprocess that died fails; its exit is what gets reported.
    this.#child.writeStdin(this.#spec.serializer.join(out)).catch(() => {});
  }

  /** Stops the subprocess: stdin closed, SIGTERM, SIGKILL after {@link KILL_GRACE_MS}; removes the pid directory. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (child !== null) {
      child.closeStdin();
      child.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), KILL_GRACE_MS)));
      const ended = await Promise.race([child.exited.then(() => true, () => true), graceOver]);
      clearTimeout(timer);
      if (!ended) {
        child.kill("SIGKILL");
        await child.exited.catch(() => {});
      }
    }
    if (this.#pidDir !== "") await removePath(this.#pidDir).catch(() => {});
  }
}

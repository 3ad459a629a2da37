/**
 * Process-level facts and effects: which runtime, arguments, environment,
 * signals, terminal output, and the package root. The only place besides
 * the other runtime/ modules that touches `node:process` or `Deno.*`.
 *
 * @module
 */
import process from "node:process";
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { denoGlobal } from "./_deno.ts";

/** The two runtimes Ardea runs on. */
export type RuntimeName = "node" | "deno";

/** Signals a handler may be installed for. */
export type SignalName = "SIGINT" | "SIGTERM";

/** The output streams of this process. */
export type OutputStream = "stdout" | "stderr";

/**
 * Which runtime executes this code.
 *
 * @example
 * ```ts
 * import { runtimeName } from "./mod.ts";
 * console.log(`running on ${runtimeName()}`);
 * ```
 */
export function runtimeName(): RuntimeName {
  return denoGlobal() === undefined ? "node" : "deno";
}

/**
 * The script's arguments: everything after the script path, on both runtimes.
 *
 * @example
 * ```ts
 * import { args } from "./mod.ts";
 * // `node bin/ardea.mjs run x.ts` and `deno run -A bin/ardea.mjs run x.ts` both give ["run", "x.ts"]
 * const [command, ...rest] = args();
 * ```
 */
export function args(): string[] {
  if (scriptArgs !== undefined) return [...scriptArgs];
  const deno = denoGlobal();
  return deno === undefined ? process.argv.slice(2) : [...deno.args];
}

let scriptArgs: readonly string[] | undefined;
let scriptPath: string | undefined;

/**
 * Makes `script` with `scriptArgs` look like the program being run, for the
 * code this process imports next: {@link args} returns `scriptArgs`, and so
 * do `process.argv.slice(2)` and (on Deno) `Deno.args`, as if the script had
 * been started directly. `ardea run x.ts --input foo` calls it so that the
 * script sees `["--input", "foo"]`, not the CLI's own arguments.
 *
 * @example
 * ```ts
 * import { args, setScriptArgs } from "./mod.ts";
 * setScriptArgs("/abs/topology.ts", ["--input", "words.txt"]);
 * args(); // ["--input", "words.txt"]
 * ```
 */
export function setScriptArgs(script: string, scriptArgv: readonly string[]): void {
  const frozen = Object.freeze([...scriptArgv]);
  scriptArgs = frozen;
  scriptPath = script;
  process.argv = [process.argv[0] ?? execPath(), script, ...frozen];
  const deno = denoGlobal();
  if (deno !== undefined) {
    // Deno.args is a configurable getter; keep it a fresh copy per read, as Deno does.
    Object.defineProperty(deno, "args", { configurable: true, enumerable: true, get: () => [...frozen] });
  }
}

/**
 * Absolute path of the program's script: the one {@link setScriptArgs} made
 * the program (`ardea run x.ts`), else the main module (`deno run -A x.ts`,
 * `node --import ardea/register x.ts`); undefined when there is no script
 * file (a REPL, `node -e`, a main module loaded from a URL).
 *
 * @example
 * ```ts
 * import { mainScript } from "./mod.ts";
 * console.log(`running ${mainScript() ?? "no script"}`);
 * ```
 */
export function mainScript(): string | undefined {
  if (scriptPath !== undefined) return resolve(scriptPath);
  const deno = denoGlobal();
  if (deno !== undefined) return deno.mainModule.startsWith("file:") ? fileURLToPath(deno.mainModule) : undefined;
  const main = process.argv[1];
  return main === undefined || main === "" ? undefined : resolve(main);
}

/**
 * Reads an environment variable (Deno needs `--allow-env`).
 *
 * @example
 * ```ts
 * import { env } from "./mod.ts";
 * const timeoutSecs = Number(env("ARDEA_TEST_TIMEOUT") ?? "180");
 * ```
 */
export function env(name: string): string | undefined {
  const deno = denoGlobal();
  return deno === undefined ? process.env[name] : deno.env.get(name);
}

/**
 * Ends the process with `code`. Output written with {@link writeStdout} /
 * {@link writeStderr} before the call is not lost.
 *
 * @example
 * ```ts
 * import { exit, writeStderr } from "./mod.ts";
 * writeStderr("fatal: no topology given\n");
 * exit(2);
 * ```
 */
export function exit(code: number): never {
  const deno = denoGlobal();
  if (deno !== undefined) return deno.exit(code);
  makeNodeStdioBlocking();
  return process.exit(code);
}

/**
 * The current working directory.
 *
 * @example
 * ```ts
 * import { cwd, resolvePath } from "./mod.ts";
 * const abs = resolvePath(cwd(), "topology.ts");
 * ```
 */
export function cwd(): string {
  const deno = denoGlobal();
  return deno === undefined ? process.cwd() : deno.cwd();
}

/**
 * Installs `handler` for `signal`; returns a function that removes it.
 * The listener does not keep the process alive on its own: a process whose
 * only remaining work is a signal listener still exits.
 *
 * @example
 * ```ts
 * import { onSignal } from "./mod.ts";
 * const off = onSignal("SIGINT", () => console.log("stopping"));
 * // later, when the work is done:
 * off();
 * ```
 */
export function onSignal(signal: SignalName, handler: () => void): () => void {
  const deno = denoGlobal();
  // One wrapper per subscription, so the same handler may be installed twice
  // and each unsubscribe removes exactly its own registration.
  const listener = (): void => handler();
  let active = true;
  if (deno !== undefined) {
    deno.addSignalListener(signal, listener);
    return () => {
      if (!active) return;
      active = false;
      deno.removeSignalListener(signal, listener);
    };
  }
  process.on(signal, listener);
  return () => {
    if (!active) return;
    active = false;
    process.off(signal, listener);
  };
}

/**
 * Whether `stream` is a terminal (so colours and progress lines make sense).
 *
 * @example
 * ```ts
 * import { isTTY } from "./mod.ts";
 * const colour = isTTY("stdout");
 * ```
 */
export function isTTY(stream: OutputStream): boolean {
  const deno = denoGlobal();
  if (deno !== undefined) return deno[stream].isTerminal();
  return process[stream].isTTY === true;
}

/**
 * Width of the terminal `stream` (default stdout) writes to, in columns;
 * `COLUMNS` or 80 when not a terminal. (Deno asks whichever of its standard
 * streams is a terminal.)
 *
 * @example
 * ```ts
 * import { terminalColumns } from "./mod.ts";
 * const rule = "-".repeat(Math.min(terminalColumns(), 100));
 * ```
 */
export function terminalColumns(stream: OutputStream = "stdout"): number {
  const deno = denoGlobal();
  if (deno !== undefined) {
    try {
      // A pseudo-terminal nobody has sized (e.g. under `script`) reports 0.
      const { columns } = deno.consoleSize();
      if (columns > 0) return columns;
    } catch {
      // not a terminal: fall through to COLUMNS
    }
  } else if (process[stream].isTTY === true && process[stream].columns > 0) {
    return process[stream].columns;
  }
  const fromEnv = Number(env("COLUMNS"));
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 80;
}

const encoder = new TextEncoder();

let nodeStdioBlocking = false;

/**
 * Makes Node's stdout/stderr writes complete synchronously. Node writes to
 * files, TTYs and real pipes synchronously already, but not to the socket
 * pairs a parent Node or Deno process creates for a piped child; there,
 * data still queued at `process.exit()` is lost.
 */
function makeNodeStdioBlocking(): void {
  if (nodeStdioBlocking) return;
  nodeStdioBlocking = true;
  for (const stream of [process.stdout, process.stderr]) {
    const handle = (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => unknown } })._handle;
    handle?.setBlocking?.(true);
  }
}

function writeAll(stream: OutputStream, text: string): void {
  const deno = denoGlobal();
  if (deno === undefined) {
    makeNodeStdioBlocking();
    process[stream].write(text);
    return;
  }
  const out = deno[stream];
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(out.writeSync(bytes));
}

/**
 * Resolves once everything written to stdout and stderr so far (also by
 * `console.log` or `process.stdout.write` in user code) has left the
 * process, or after `timeoutMs`. Call it before {@link exit}: on Node,
 * writes to a pipe may still be queued, and `process.exit()` drops them.
 * Deno writes synchronously, so there it resolves at once.
 *
 * @example
 * ```ts
 * import { exit, flushOutput } from "./mod.ts";
 * console.log("done");
 * await flushOutput();
 * exit(0);
 * ```
 */
export async function flushOutput(timeoutMs = 2000): Promise<void> {
  if (denoGlobal() !== undefined) return;
  const until = performance.now() + timeoutMs;
  for (const stream of [process.stdout, process.stderr]) {
    while (stream.writableLength > 0 && !stream.destroyed && performance.now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, until - performance.now()));
        function done(): void {
          clearTimeout(timer);
          stream.off("drain", done);
          stream.off("close", done);
          resolve();
        }
        stream.once("drain", done);
        stream.once("close", done);
      });
    }
  }
}

/**
 * Writes `text` to stdout synchronously (no newline added), so the last
 * line is not lost when {@link exit} follows.
 *
 * @example
 * ```ts
 * import { writeStdout } from "./mod.ts";
 * writeStdout("12 passed, 0 failed\n");
 * ```
 */
export function writeStdout(text: string): void {
  writeAll("stdout", text);
}

/**
 * Writes `text` to stderr synchronously (no newline added).
 *
 * @example
 * ```ts
 * import { writeStderr } from "./mod.ts";
 * writeStderr("warning: no acker configured\n");
 * ```
 */
export function writeStderr(text: string): void {
  writeAll("stderr", text);
}

/**
 * Runs `cb` in a later macrotask, after pending timers and I/O callbacks
 * have had their turn (`setImmediate` on both runtimes).
 *
 * @example
 * ```ts
 * import { yieldNow } from "./mod.ts";
 * function drain(queue: number[]): void {
 *   for (let i = 0; i < 1000 && queue.length > 0; i++) queue.pop();
 *   if (queue.length > 0) yieldNow(() => drain(queue));
 * }
 * drain([1, 2, 3]);
 * ```
 */
export function yieldNow(cb: () => void): void {
  setImmediate(cb);
}

/**
 * Reads the first line of this process's stdin (without its line end), then
 * stops reading stdin; null when stdin ends before a line.
 *
 * @example
 * ```ts
 * import { readStdinLine } from "./mod.ts";
 * const name = await readStdinLine(); // the parent wrote "word-count\n"
 * ```
 */
export async function readStdinLine(): Promise<string | null> {
  const deno = denoGlobal();
  const decoder = new TextDecoder();
  let text = "";
  const line = (): string | null => {
    const nl = text.indexOf("\n");
    return nl < 0 ? null : text.slice(0, nl).replace(/\r$/, "");
  };
  if (deno !== undefined) {
    const reader = deno.stdin.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text.length > 0 ? text : null;
        text += decoder.decode(value, { stream: true });
        const l = line();
        if (l !== null) return l;
      }
    } finally {
      reader.releaseLock();
    }
  }
  const stdin = process.stdin;
  return await new Promise((resolve) => {
    const finish = (l: string | null) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onEnd);
      stdin.pause();
      resolve(l);
    };
    const onData = (chunk: Uint8Array) => {
      text += decoder.decode(chunk, { stream: true });
      const l = line();
      if (l !== null) finish(l);
    };
    const onEnd = () => finish(text.length > 0 ? text : null);
    stdin.on("data", onData);
    stdin.once("end", onEnd);
    stdin.once("error", onEnd);
  });
}

/**
 * Absolute path of the running `node` or `deno` executable.
 *
 * @example
 * ```ts
 * import { execPath, spawnProcess } from "./mod.ts";
 * const child = spawnProcess(execPath(), ["--version"], { stdio: "inherit" });
 * await child.exited;
 * ```
 */
export function execPath(): string {
  const deno = denoGlobal();
  return deno === undefined ? process.execPath : deno.execPath();
}

/**
 * The command that runs the TypeScript file `script` on the runtime running
 * now, the way Ardea itself runs (Node through runtime/node_loader.mjs, Deno
 * with all permissions). For spawning containers and test fixtures.
 *
 * @example
 * ```ts
 * import { scriptCommand, spawnProcess } from "./mod.ts";
 * const { cmd, args } = scriptCommand("examples/word_count.ts", ["--container", "1"]);
 * const child = spawnProcess(cmd, args, { stdio: "inherit" });
 * await child.exited;
 * ```
 */
export function scriptCommand(script: string, scriptArgs: string[] = []): { cmd: string; args: string[] } {
  if (runtimeName() === "deno") return { cmd: execPath(), args: ["run", "-A", script, ...scriptArgs] };
  const loader = join(ardeaRoot(), "runtime", "node_loader.mjs");
  return { cmd: execPath(), args: ["--import", pathToFileURL(loader).href, script, ...scriptArgs] };
}

/**
 * The command that runs the TypeScript file `script` on a chosen runtime:
 * `node` (through the Ardea loader; the current binary when running on
 * Node, else `node` from PATH) or `deno` (the current binary on Deno, else
 * the one the `deno` npm package ships in a checkout, else `deno` from PATH).
 *
 * @example
 * ```ts
 * import { commandFor, spawnProcess } from "./mod.ts";
 * const { cmd, args } = commandFor("deno", "bin/ardea.mjs", ["container", "--index", "0"]);
 * spawnProcess(cmd, args, { stdio: "inherit" });
 * ```
 */
export function commandFor(
  runtime: RuntimeName,
  script: string,
  scriptArgs: string[] = [],
): { cmd: string; args: string[] } {
  if (runtime === runtimeName()) return scriptCommand(script, scriptArgs);
  if (runtime === "deno") {
    // A checkout has the `deno` npm package; an installed Ardea uses the one on PATH.
    const local = join(ardeaRoot(), "node_modules", ".bin", "deno");
    return { cmd: existsSync(local) ? local : "deno", args: ["run", "-A", script, ...scriptArgs] };
  }
  const loader = join(ardeaRoot(), "runtime", "node_loader.mjs");
  return { cmd: "node", args: ["--import", pathToFileURL(loader).href, script, ...scriptArgs] };
}

/**
 * The command that runs `ardea <ardeaArgs>` on Node from the package's
 * JavaScript build (`dist/`) without the TypeScript loader
 * (runtime/node_dist.mjs), for a process that runs only JavaScript (a
 * container); undefined when that build is not current: in a checkout, a
 * `.ts` file at the root or in a folder the build has (`dist/engine` →
 * `engine/`) without its `.js`, or changed after it, means the sources run
 * (through the loader). An installed package has only the build. `root` is
 * the package root (default {@link ardeaRoot}).
 *
 * @example
 * ```ts
 * import { builtArdeaCommand, commandFor } from "./mod.ts";
 * const args = ["container", "wc", "--index", "0"];
 * const { cmd, args: argv } = builtArdeaCommand(args) ?? commandFor("node", "bin/ardea.mjs", args);
 * ```
 */
export function builtArdeaCommand(
  ardeaArgs: string[],
  root: string = ardeaRoot(),
): { cmd: string; args: string[] } | undefined {
  const entry = join(root, "runtime", "node_dist.mjs");
  if (!existsSync(entry) || !existsSync(join(root, "dist", "cli", "main.js"))) return undefined;
  if (existsSync(join(root, "mod.ts")) && !buildIsCurrent(root)) return undefined;
  return { cmd: runtimeName() === "node" ? execPath() : "node", args: [entry, ...ardeaArgs] };
}

/** Whether every library `.ts` file of the checkout at `root` has its `.js` in `dist/`, written after it. */
function buildIsCurrent(root: string): boolean {
  const current = (dir: string, recurse: boolean): boolean => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = dir === "" ? entry.name : join(dir, entry.name);
      if (entry.isDirectory()) {
        if (recurse && !current(rel, true)) return false;
        continue;
      }
      if (!/\.m?ts$/.test(entry.name) || entry.name.endsWith(".d.ts") || /_test\.m?ts$/.test(entry.name)) continue;
      const built = statSync(join(root, "dist", rel.replace(/\.(m?)ts$/, ".$1js")), { throwIfNoEntry: false });
      if (built === undefined || built.mtimeMs < statSync(join(root, rel)).mtimeMs) return false;
    }
    return true;
  };
  try {
    if (!current("", false)) return false;
    for (const d of readdirSync(join(root, "dist"), { withFileTypes: true })) {
      if (d.isDirectory() && existsSync(join(root, d.name)) && !current(d.name, true)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * This machine's host name.
 *
 * @example
 * ```ts
 * import { hostname } from "./mod.ts";
 * console.log(`container on ${hostname()}`);
 * ```
 */
export function hostname(): string {
  return osHostname();
}

/**
 * This process's id.
 *
 * @example
 * ```ts
 * import { pid } from "./mod.ts";
 * console.log(`pid ${pid()}`);
 * ```
 */
export function pid(): number {
  return process.pid;
}

/**
 * Whether a process with id `id` runs on this machine (one we may not
 * signal counts as running).
 *
 * @example
 * ```ts
 * import { processAlive } from "./mod.ts";
 * if (!processAlive(4242)) console.log("its lock is stale");
 * ```
 */
export function processAlive(id: number): boolean {
  try {
    process.kill(id, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === "EPERM";
  }
}

/**
 * Calls `onGone` once when this process's parent has ended (the process was
 * re-parented), checking every `everyMs`; returns a function that stops
 * watching. Containers use it so that none outlives its scheduler.
 *
 * @example
 * ```ts
 * import { watchParent } from "./mod.ts";
 * const stop = watchParent(() => process.exit(1));
 * ```
 */
export function watchParent(onGone: () => void, everyMs = 1000): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, everyMs);
  // Must not keep the process alive by itself.
  (timer as unknown as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}

let cachedRoot: string | undefined;

/**
 * Absolute path of the Ardea package root (the folder holding
 * `package.json`, `mod.ts` and `bin/`), also when running from `dist/`.
 *
 * @example
 * ```ts
 * import { ardeaRoot, resolvePath } from "./mod.ts";
 * const loader = resolvePath(ardeaRoot(), "runtime", "node_loader.mjs");
 * ```
 */
export function ardeaRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let root = dirname(dirname(fileURLToPath(import.meta.url)));
  if (basename(root) === "dist" && existsSync(join(root, "..", "package.json"))) {
    root = dirname(root);
  }
  try {
    root = realpathSync(root);
  } catch {
    // keep the unresolved path; it is still absolute
  }
  cachedRoot = root;
  return root;
}

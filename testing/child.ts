/**
 * Child processes in tests and benchmarks: the `ardea` command on the
 * runtime running the caller, its output collected line by line, a result
 * shown whole in an assertion's message.
 *
 * @module
 */
import { ardeaRoot, type ChildHandle, execPath, resolvePath, runtimeName, spawnProcess } from "../runtime/mod.ts";

/**
 * The command line that runs `ardea <args>` (bin/ardea.mjs) on the runtime
 * running this code: `[command, arguments]`.
 *
 * @example
 * ```ts
 * import { ardeaCmd } from "./child.ts";
 * const [cmd, argv] = ardeaCmd(["--version"]);
 * console.log(cmd, argv.at(-1)); // …/node …/bin/ardea.mjs --version (or deno run -A …)
 * ```
 */
export function ardeaCmd(args: string[]): [string, string[]] {
  const bin = resolvePath(ardeaRoot(), "bin", "ardea.mjs");
  return runtimeName() === "deno" ? [execPath(), ["run", "-A", bin, ...args]] : [execPath(), [bin, ...args]];
}

/**
 * Starts `ardea <args>` in the repository root with its output piped;
 * `env` is added to this process's environment.
 *
 * @example
 * ```ts
 * import { spawnArdea } from "./child.ts";
 * const child = spawnArdea(["--version"]);
 * await child.exited;
 * ```
 */
export function spawnArdea(args: string[], env: Record<string, string> = {}): ChildHandle {
  const [cmd, argv] = ardeaCmd(args);
  return spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env });
}

/**
 * Reads every line of `lines` into `sink` (a new array by default) and
 * resolves with it once the stream ends.
 *
 * @example
 * ```ts
 * import { collect, spawnArdea } from "./child.ts";
 * const child = spawnArdea(["--version"]);
 * const [stdout] = await Promise.all([collect(child.lines("stdout")), collect(child.lines("stderr"))]);
 * console.log(stdout); // ["ardea 0.1.0"]
 * ```
 */
export async function collect(lines: AsyncIterable<string>, sink: string[] = []): Promise<string[]> {
  for await (const line of lines) sink.push(line);
  return sink;
}

/** How a finished `ardea` command ended and what it printed. */
export interface ArdeaResult {
  code: number | null;
  signal: string | null;
  stdout: string[];
  stderr: string[];
}

/**
 * Runs `ardea <args>` to its end (see {@link spawnArdea}) and collects its
 * output.
 *
 * @example
 * ```ts
 * import { runArdea, show } from "./child.ts";
 * const r = await runArdea(["--version"], { ARDEA_DEBUG: "" });
 * if (r.code !== 0) throw new Error(show(r));
 * ```
 */
export async function runArdea(args: string[], env: Record<string, string> = {}): Promise<ArdeaResult> {
  const child = spawnArdea(args, env);
  const [stdout, stderr, exit] = await Promise.all([
    collect(child.lines("stdout")),
    collect(child.lines("stderr")),
    child.exited,
  ]);
  return { code: exit.code, signal: exit.signal, stdout, stderr };
}

/**
 * A command's exit code and output, for an assertion's message; the output
 * as lines or as text joined by newlines.
 *
 * @example
 * ```ts
 * import { show } from "./child.ts";
 * console.log(show({ code: 1, stdout: ["a"], stderr: "oops" }));
 * // exit 1
 * // --- stdout
 * // a
 * // --- stderr
 * // oops
 * ```
 */
export function show(r: { code: number | null; stdout: string | string[]; stderr: string | string[] }): string {
  const text = (x: string | string[]) => (typeof x === "string" ? x : x.join("\n"));
  return `exit ${r.code}\n--- stdout\n${text(r.stdout)}\n--- stderr\n${text(r.stderr)}`;
}

/**
 * A child's stdout and stderr lines as they come (stderr's prefixed
 * "! "), at most `keep`: the first ones, or with `newest` the last ones.
 * `done` resolves when both streams have ended.
 *
 * @example
 * ```ts
 * import { outputLines, spawnArdea } from "./child.ts";
 * const out = outputLines(spawnArdea(["--help"]), 40, { newest: true });
 * await out.done;
 * console.log(out.lines.length <= 40); // true
 * ```
 */
export function outputLines(
  child: ChildHandle,
  keep: number,
  options: { newest?: boolean } = {},
): { lines: string[]; done: Promise<void> } {
  const lines: string[] = [];
  const read = async (stream: "stdout" | "stderr") => {
    for await (const line of child.lines(stream)) {
      if (lines.length >= keep && !options.newest) continue;
      lines.push(`${stream === "stderr" ? "! " : ""}${line}`);
      if (lines.length > keep) lines.shift();
    }
  };
  return { lines, done: Promise.all([read("stdout"), read("stderr")]).then(() => {}) };
}

/** An {@link ArdeaResult} with its output as text (lines joined by newlines). */
export interface ArdeaTextResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * `r` with its output lines joined by newlines.
 *
 * @example
 * ```ts
 * import { asText, runArdea } from "./child.ts";
 * const r = asText(await runArdea(["--help"]));
 * console.log(r.stdout.includes("usage: ardea")); // true
 * ```
 */
export function asText(r: ArdeaResult): ArdeaTextResult {
  return { code: r.code, signal: r.signal, stdout: r.stdout.join("\n"), stderr: r.stderr.join("\n") };
}

/**
 * The start of `ardea submit` for an application's run on `containers`
 * containers of this runtime, waiting for its end: `submit <script>
 * --containers n --runtime <this> --wait --`; the application's own flags
 * follow.
 *
 * @example
 * ```ts
 * import { runArdea, submitOnContainers } from "./child.ts";
 * const r = await runArdea([...submitOnContainers("examples/apps/machines.ts"), "--seed", "3"], { ARDEA_NATS_URL: "nats://127.0.0.1:4222" });
 * ```
 */
export function submitOnContainers(script: string, containers = 2): string[] {
  return ["submit", script, "--containers", String(containers), "--runtime", runtimeName(), "--wait", "--"];
}

/**
 * The JSON of the last `summary {json}` line an application of
 * `examples/apps/` printed; throws, quoting the end of the output, when
 * there is none.
 *
 * @example
 * ```ts
 * import { appSummary } from "./child.ts";
 * appSummary<{ events: number }>(['summary {"events":3}']).events; // 3
 * ```
 */
export function appSummary<T>(stdout: string | readonly string[]): T {
  const lines = typeof stdout === "string" ? stdout.split("\n") : stdout;
  const line = [...lines].reverse().find((l) => l.startsWith("summary {"));
  if (line === undefined) throw new Error(`no summary line; the output ended:\n${lines.slice(-10).join("\n")}`);
  return JSON.parse(line.slice("summary ".length)) as T;
}

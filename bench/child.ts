/**
 * Runs a child process to completion for the process-level benchmarks
 * (`startup`, `instances`): its exit code and output lines, bounded in time.
 */
import { spawnProcess } from "../runtime/mod.ts";

/** What a finished child left. */
export interface ChildResult {
  code: number | null;
  signal: string | null;
  stdout: string[];
  stderr: string[];
}

/** Spawns `cmd args` in `cwd`, waits for it to exit (killed after `timeoutMs`). */
export async function runChild(cmd: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<ChildResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = spawnProcess(cmd, args, {
    cwd,
    stdio: "pipe",
    onLine: (line, stream) => (stream === "stdout" ? stdout : stderr).push(line),
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const exit = await child.exited;
    return { code: exit.code, signal: exit.signal ?? null, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Throws unless the child exited 0, quoting its last output lines. */
export function assertExitedOk(r: ChildResult, what: string): void {
  if (r.code !== 0) {
    throw new Error(`${what} exited ${r.code ?? r.signal}: ${[...r.stdout, ...r.stderr].slice(-6).join(" | ")}`);
  }
}

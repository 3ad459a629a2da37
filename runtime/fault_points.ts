/**
 * Named fault points, for fault tests: code that persists or restores state
 * calls {@link faultPoint} at the moments a crash would hurt most (before a
 * save, between saves, during a commit, right after it, during a restore),
 * and a test makes the process die there instead of at a random moment.
 *
 * - `ARDEA_FAULT_AT=commit:3` kills this process with SIGKILL the third time
 *   it reaches the point `commit`; several are comma-separated
 *   (`save:2,restore:1`), the first one reached fires.
 * - `ARDEA_FAULT_ACTION=throw` throws a {@link FaultPointError} there
 *   instead (the caller sees a failed write or read).
 * - `ARDEA_FAULT_LOG=FILE`: a line `<point>:<n> <pid>` is appended to FILE,
 *   synchronously, before the fault acts, so a test can assert that its
 *   point was reached and the schedule did not silently miss. With a log,
 *   each fault fires once across every process that shares the log (the
 *   containers and master of a distributed run inherit the variables; the
 *   first process to reach the point takes it, and a process started again
 *   does not fire it a second time).
 *
 * Without `ARDEA_FAULT_AT` a call costs one comparison. The points the
 * engine has: `save`, `saved`, `commit`, `committed`, `prune`, `restore`
 * (state backends and restore), named in docs of each call site.
 *
 * @module
 */
import { appendFileSync, closeSync, openSync } from "node:fs";
import process from "node:process";

/** The error a fault point throws under `ARDEA_FAULT_ACTION=throw`. */
export class FaultPointError extends Error {
  readonly code = "FAULT_POINT";
  constructor(readonly point: string, readonly hit: number) {
    super(`fault injected at ${point}:${hit} (ARDEA_FAULT_AT)`);
    this.name = "FaultPointError";
  }
}

interface Armed {
  /** Point name → the hit that fires. */
  at: Map<string, number>;
  /** Point name → times reached so far. */
  hits: Map<string, number>;
  action: "kill" | "throw";
  log: string | undefined;
}

let armed: Armed | null | undefined;

function arm(): Armed | null {
  const spec = process.env.ARDEA_FAULT_AT;
  if (spec === undefined || spec.trim() === "") return null;
  const at = new Map<string, number>();
  for (const part of spec.split(",")) {
    const m = /^\s*([a-z][a-z-]*)(?::([1-9][0-9]*))?\s*$/.exec(part);
    if (m === null) throw new Error(`ARDEA_FAULT_AT: "${part}" is not <point>[:<n>] (for example commit:3)`);
    at.set(m[1]!, Number(m[2] ?? 1));
  }
  const action = process.env.ARDEA_FAULT_ACTION === "throw" ? "throw" : "kill";
  return { at, hits: new Map(), action, log: process.env.ARDEA_FAULT_LOG };
}

/**
 * Marks the named point as reached; kills the process (or throws) when
 * `ARDEA_FAULT_AT` names it with this hit count.
 *
 * @example
 * ```ts
 * import { faultPoint } from "./fault_points.ts";
 * faultPoint("commit"); // ARDEA_FAULT_AT=commit:1 kills the process here
 * ```
 */
export function faultPoint(name: string): void {
  if (armed === undefined) armed = arm();
  if (armed === null) return;
  const target = armed.at.get(name);
  if (target === undefined) return;
  const hit = (armed.hits.get(name) ?? 0) + 1;
  armed.hits.set(name, hit);
  if (hit !== target) return;
  if (armed.log !== undefined) {
    // Exclusive create: of all the processes sharing the log, one takes the fault.
    try {
      closeSync(openSync(`${armed.log}.${name}-${hit}`, "wx"));
    } catch {
      return;
    }
    appendFileSync(armed.log, `${name}:${hit} ${process.pid}\n`);
  }
  if (armed.action === "throw") throw new FaultPointError(name, hit);
  process.kill(process.pid, "SIGKILL");
}

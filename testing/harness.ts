/**
 * The test API of Ardea's suites: uvu's `test` and `suite` (uvu runs the
 * tests and prints them as usual), with two things added around every test.
 *
 * - **A structured result channel.** With `ARDEA_TEST_REPORT=<file>` in the
 *   environment (scripts/test.mjs sets it), each outcome is appended to that
 *   file as one JSON line ({@link ReportLine}) the moment it is known, and a
 *   last `{"type":"done"}` line once every suite of the file has run. The
 *   runner counts these lines; a file that crashes or hangs has no `done`
 *   line. uvu's own text is for people only.
 * - **A leak check.** What keeps the process alive (timers, sockets,
 *   servers, child processes: testing/leaks.ts) is counted before each test
 *   and again after it (waiting up to a second for what is closing); what a
 *   passing test left behind fails it, named by kind (a connection that a
 *   server of this process accepted is that server's, not the test's: see
 *   testing/leaks.ts). The same check runs
 *   over a whole suite, from before its `before` hooks to after its `after`
 *   hooks, for what no single test was blamed for.
 *
 * Hooks: a failing `before` hook fails every test of its suite (uvu alone
 * would report them as neither passed nor failed); a failing `after` hook is
 * a failure of its own and the other `after` hooks still run.
 *
 * @example
 * ```ts
 * import * as assert from "uvu/assert";
 * import { test } from "./harness.ts";
 *
 * test("adds", () => {
 *   assert.is(1 + 1, 2);
 * });
 *
 * test.run();
 * ```
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import process from "node:process";
import { suite as uvuSuite } from "uvu";
import { ACCEPTED, activeResources, describeResources, leftSince, type Resources, SETTLE_MS } from "./leaks.ts";

/** A test, or a hook: what it does; a rejection or a throw fails it. */
export type TestFn = () => unknown;

/** A suite: register tests and hooks, then `run()` it. */
export interface Test {
  /** Registers the test `name`. */
  (name: string, fn: TestFn): void;
  /** Runs `fn` once before the suite's first test. */
  before(fn: TestFn): void;
  /** Runs `fn` once after the suite's last test (also when a test or a before hook failed). */
  after(fn: TestFn): void;
  /** Counts a test as skipped (reported, never run). */
  skip(name: string, fn?: TestFn): void;
  /** Queues the suite to run; every suite of a file must be run. */
  run(): void;
}

/** One line of the report file: a test's outcome, a skip, a failed hook or leak of a suite, or the end. */
export type ReportLine =
  | { type: "test"; suite: string; name: string; ok: true; ms: number }
  | { type: "test"; suite: string; name: string; ok: false; ms: number; error: string; left?: Record<string, number> }
  | { type: "skip"; suite: string; name: string }
  | { type: "hook"; suite: string; hook: "before" | "after"; error: string; left?: Record<string, number> }
  | { type: "done" };

const reportFile = process.env["ARDEA_TEST_REPORT"];
let failures = 0;

function report(line: ReportLine): void {
  if ((line.type === "test" && !line.ok) || line.type === "hook") failures++;
  if (reportFile) appendFileSync(reportFile, `${JSON.stringify(line)}\n`);
}

// uvu sets the exit code from its own count, which misses failed hooks.
process.on("exit", () => {
  if (failures > 0) process.exitCode = 1;
});

function message(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function plain(resources: Resources): Record<string, number> {
  return Object.fromEntries(resources);
}

/** A test that passed but left something alive that was not alive before it. */
export class LeakError extends Error {
  /**
   * @example
   * ```ts
   * import { LeakError } from "./harness.ts";
   * throw new LeakError(new Map([["Timeout", 1]]));
   * ```
   */
  constructor(readonly left: Resources) {
    super(
      `left behind after the test: ${
        describeResources(left)
      } (clear timers, close connections and servers, await children's exit)`,
    );
    this.name = "LeakError";
  }
}

/** What a test is not blamed for: connections its suite's servers accepted (testing/leaks.ts). */
const NOT_A_TESTS_OWN: ReadonlySet<string> = new Set([ACCEPTED]);

/** Suites queued but not finished; the report's `done` line is written when none is left. */
let pending = 0;

/**
 * A named suite (uvu's `suite`, with the result channel and leak check
 * described in this module's header).
 *
 * @example
 * ```ts
 * import * as assert from "uvu/assert";
 * import { suite } from "./harness.ts";
 *
 * const lines = suite("lines");
 * lines("split", () => {
 *   assert.equal("a\nb".split("\n"), ["a", "b"]);
 * });
 * lines.run();
 * ```
 */
export function suite(name = ""): Test {
  const inner = uvuSuite(name);
  const names: string[] = [];
  const ran = new Set<string>();
  const befores: TestFn[] = [];
  const afters: TestFn[] = [];
  /** What tests were blamed for, so that the suite's own check does not blame it again. */
  const blamed: Resources = new Map();

  const test = ((testName: string, fn: TestFn) => {
    names.push(testName);
    inner(testName, async () => {
      ran.add(testName);
      const before = activeResources();
      const start = performance.now();
      let failure: unknown;
      try {
        await fn();
        const left = await leftSince(before, SETTLE_MS, NOT_A_TESTS_OWN);
        if (left.size > 0) {
          for (const [kind, n] of left) blamed.set(kind, (blamed.get(kind) ?? 0) + n);
          failure = new LeakError(left);
        }
      } catch (error) {
        failure = error;
      }
      const ms = Math.round(performance.now() - start);
      if (failure === undefined) {
        report({ type: "test", suite: name, name: testName, ok: true, ms });
        return;
      }
      const left = failure instanceof LeakError ? { left: plain(failure.left) } : {};
      report({ type: "test", suite: name, name: testName, ok: false, ms, error: message(failure), ...left });
      throw failure;
    });
  }) as Test;

  test.before = (fn) => void befores.push(fn);
  test.after = (fn) => void afters.push(fn);
  test.skip = (testName) => {
    report({ type: "skip", suite: name, name: testName });
    inner.skip();
  };

  /** Runs the hooks in order; a failed one is reported, and a failed `before` hook stops them (uvu then runs no test of the suite). */
  const runHooks = async (kind: "before" | "after", hooks: TestFn[]) => {
    for (const hook of hooks) {
      try {
        await hook();
      } catch (error) {
        process.stderr.write(`${kind} hook of ${name || "the suite"} failed: ${message(error)}\n`);
        report({ type: "hook", suite: name, hook: kind, error: message(error) });
        if (kind === "before") throw error;
      }
    }
  };

  let atStart: Resources = new Map();
  inner.before(async () => {
    atStart = activeResources();
    await runHooks("before", befores);
  });
  inner.after(async () => {
    await runHooks("after", afters);
    for (const testName of names) {
      if (!ran.has(testName)) {
        report({
          type: "test",
          suite: name,
          name: testName,
          ok: false,
          ms: 0,
          error: "did not run: a before hook failed",
        });
      }
    }
    const expected = new Map(atStart);
    for (const [kind, n] of blamed) expected.set(kind, (expected.get(kind) ?? 0) + n);
    const left = await leftSince(expected);
    if (left.size > 0) {
      const error = `left behind by the suite's hooks: ${describeResources(left)}`;
      process.stderr.write(`${name || "suite"}: ${error}\n`);
      report({ type: "hook", suite: name, hook: "after", error, left: plain(left) });
    }
    if (--pending === 0) report({ type: "done" });
  });

  test.run = () => {
    pending++;
    inner.run();
  };
  return test;
}

/**
 * The file's default suite (uvu's `test`).
 *
 * @example
 * ```ts
 * import * as assert from "uvu/assert";
 * import { test } from "./harness.ts";
 * test("true is true", () => assert.ok(true));
 * test.run();
 * ```
 */
export const test: Test = suite();

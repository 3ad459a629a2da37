#!/usr/bin/env node
// The test runner behind `npm test`.
//
//   npm test                       every tests/**/*_test.ts, under Node and Deno
//   npm test -- grouping nats      only files whose path contains "grouping" or "nats"
//   npm test -- --node             one runtime only (or --deno)
//   npm test -- --jobs 4           parallel test processes (env ARDEA_TEST_JOBS, default 2)
//
// Each file runs in its own process (and process group) with a timeout:
// env ARDEA_TEST_TIMEOUT seconds (default 180), or `// timeout: <s>` on the
// file's first line (a larger ARDEA_TEST_TIMEOUT still wins). The counts come
// from the file's report (testing/harness.ts appends one JSON line per
// outcome to the file named by ARDEA_TEST_REPORT, and a last "done" line),
// never from uvu's text. A crash, a non-zero exit, a timeout or a missing
// "done" line counts as at least one failure, and so does a file still
// running 30 s after its "done" line (it left something open). The last line
// of output is always `N passed, N failed`; the exit code is 1 if anything
// failed. System packages (nats-server, chromium) are .ci/run's to install.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = (line) => process.stdout.write(`${line}\n`);

function parseArgs(argv) {
  const options = { runtimes: [], filters: [], jobs: Number(process.env.ARDEA_TEST_JOBS ?? 2) };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--node" || arg === "--deno") options.runtimes.push(arg.slice(2));
    else if (arg === "--jobs" || arg === "-j") options.jobs = Number(argv[++i]);
    else if (arg.startsWith("--jobs=")) options.jobs = Number(arg.slice("--jobs=".length));
    else if (arg === "--help" || arg === "-h") {
      out("usage: npm test -- [--node|--deno] [--jobs N] [filter…]");
      process.exit(0);
    } else options.filters.push(arg);
  }
  if (options.runtimes.length === 0) options.runtimes = ["node", "deno"];
  if (!Number.isInteger(options.jobs) || options.jobs < 1) options.jobs = 2;
  return options;
}

/** Whether nats-server runs (Debian installs it to /usr/sbin, which a non-login PATH may lack). */
function hasNatsServer() {
  if (!process.env.PATH?.split(delimiter).includes("/usr/sbin")) {
    process.env.PATH = `${process.env.PATH ?? ""}${delimiter}/usr/sbin`;
  }
  const bin = process.env.NATS_SERVER ?? "nats-server";
  if (spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0) return true;
  out(
    "nats-server is required: install it (`.ci/run` does, or `sudo apt-get install nats-server`, or a release from https://github.com/nats-io/nats-server/releases) so it is on PATH, or set NATS_SERVER=/path/to/nats-server",
  );
  return false;
}

function findTests(dir) {
  const found = [];
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "artifacts" && !entry.name.startsWith(".")) {
      found.push(...findTests(path));
    } else if (entry.isFile() && entry.name.endsWith("_test.ts")) found.push(path);
  }
  return found.sort();
}

function timeoutSeconds(file) {
  const firstLine = readFileSync(file, "utf8").split("\n", 1)[0] ?? "";
  const declared = /^\s*\/\/\s*timeout:\s*(\d+)\s*$/.exec(firstLine);
  const fromEnv = Number(process.env.ARDEA_TEST_TIMEOUT);
  const envSecs = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 0;
  // A larger ARDEA_TEST_TIMEOUT wins over a file's own (long seeded runs).
  if (declared) return Math.max(Number(declared[1]), envSecs);
  return envSecs || 180;
}

function command(runtime, file) {
  if (runtime === "node") {
    const loader = pathToFileURL(join(root, "runtime", "node_loader.mjs")).href;
    return [process.execPath, ["--import", loader, "--enable-source-maps", file]];
  }
  return [join(root, "node_modules", ".bin", "deno"), ["run", "-A", file]];
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Kills a test's whole process group (the test and anything it left behind). */
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** How long a test file may run on after its "done" line before it is stopped (ms). */
const LINGER_MS = 30_000;

/** Where the test processes write their reports (one file per run of a file). */
const reportDir = mkdtempSync(join(tmpdir(), "ardea-test-"));
let reports = 0;

/** The lines of a report file so far (testing/harness.ts ReportLine); one that is not JSON (a write cut short) comes back as `{ type: "garbled" }`. */
function readReport(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ type: "garbled", line });
    }
  }
  return lines;
}

/** Passed, failed and skipped counts of a report, whether it ended ("done"), and what failed. */
function tally(lines) {
  const t = { passed: 0, failed: 0, skipped: 0, done: false, failures: [] };
  for (const line of lines) {
    if (line.type === "test" && line.ok) t.passed++;
    else if (line.type === "test" || line.type === "hook") {
      t.failed++;
      const what = line.type === "test" ? line.name : `${line.hook} hook${line.suite ? ` of ${line.suite}` : ""}`;
      t.failures.push(`${what}: ${String(line.error).split("\n", 1)[0]}`);
    } else if (line.type === "skip") t.skipped++;
    else if (line.type === "done") t.done = true;
    else t.failures.push(`unreadable report line ${JSON.stringify(line.line)}`);
  }
  return t;
}

const running = new Set();

function runOne(runtime, file) {
  const rel = relative(root, file).split(sep).join("/");
  const seconds = timeoutSeconds(file);
  const [cmd, args] = command(runtime, file);
  const reportFile = join(reportDir, `${++reports}.jsonl`);
  const started = Date.now();
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    let spawnError;
    const child = spawn(cmd, args, {
      cwd: root,
      detached: true, // own process group, so leftovers can be killed
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ARDEA_TEST_REPORT: reportFile },
    });
    running.add(child);
    const onOutput = (chunk) => (output += chunk);
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    const stop = () => {
      killGroup(child.pid, "SIGTERM");
      setTimeout(() => killGroup(child.pid, "SIGKILL"), 5000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, seconds * 1000);
    // A file whose tests are over (its "done" line) but that does not exit
    // has left something open: stop it soon rather than at its timeout.
    let lingered = false;
    let lingering;
    let reportSize = 0;
    const watch = setInterval(() => {
      let size = 0;
      try {
        size = statSync(reportFile).size;
      } catch {
        return;
      }
      if (size === reportSize) return;
      reportSize = size;
      if (lingering === undefined && readReport(reportFile).some((line) => line.type === "done")) {
        clearInterval(watch);
        lingering = setTimeout(() => {
          lingered = true;
          stop();
        }, LINGER_MS);
      }
    }, 1000);
    child.on("error", (error) => (spawnError = error));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      clearInterval(watch);
      running.delete(child);
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
      const t = tally(readReport(reportFile));
      rmSync(reportFile, { force: true });
      const problems = [];
      if (spawnError) problems.push(`could not start: ${spawnError.message}`);
      if (lingered) {
        problems.push(
          `still running ${
            LINGER_MS / 1000
          } s after its last test: something it left open (a connection, timer or child) kept it alive`,
        );
      } else if (timedOut) problems.push(`timed out after ${seconds} s`);
      else if (signal) problems.push(`killed by ${signal}`);
      else if (code !== 0) problems.push(`exit code ${code}`);
      if (!t.done && problems.length === 0) {
        problems.push('its tests did not all finish (no "done" in its report; did it call test.run()?)');
      }
      const failed = problems.length > 0 ? Math.max(t.failed, 1) : t.failed;
      resolve({
        runtime,
        rel,
        passed: t.passed,
        failed,
        skipped: t.skipped,
        failures: t.failures,
        problems,
        output,
        secs: (Date.now() - started) / 1000,
      });
    });
  });
}

function report(result) {
  const { runtime, rel, passed, failed, skipped, failures, problems, output, secs } = result;
  const mark = failed > 0 ? "FAIL" : "ok  ";
  const counts = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
  const extra = problems.length ? ` (${problems.join("; ")})` : "";
  out(`${mark} ${runtime.padEnd(4)} ${rel.padEnd(40)} ${counts.padEnd(26)} ${secs.toFixed(1).padStart(6)}s${extra}`);
  if (failed > 0) {
    out(`---- output of ${runtime} ${rel}`);
    out((process.stdout.isTTY ? output : output.replace(ANSI, "")).trimEnd());
    out(`---- end of ${runtime} ${rel}`);
    for (const failure of failures) out(`FAIL ${runtime.padEnd(4)} ${rel}: ${failure}`);
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!hasNatsServer()) return 1;

  const files = findTests(join(root, "tests")).filter((file) => {
    const rel = relative(root, file);
    return options.filters.length === 0 || options.filters.some((f) => rel.includes(f));
  });
  if (files.length === 0) {
    out(`no test files match ${options.filters.map((f) => JSON.stringify(f)).join(", ") || "tests/**/*_test.ts"}`);
    out("0 passed, 0 failed");
    return 1;
  }

  const queue = files.flatMap((file) => options.runtimes.map((runtime) => ({ runtime, file })));
  const totals = { passed: 0, failed: 0 };
  let interrupted = false;
  process.on("SIGINT", () => {
    interrupted = true;
    queue.length = 0;
    for (const child of running) killGroup(child.pid, "SIGTERM");
  });

  const worker = async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      const result = await runOne(job.runtime, job.file);
      totals.passed += result.passed;
      totals.failed += result.failed;
      report(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, worker));
  if (interrupted) {
    out("interrupted");
    totals.failed = Math.max(totals.failed, 1);
  }
  rmSync(reportDir, { recursive: true, force: true });
  out(`${totals.passed} passed, ${totals.failed} failed`);
  return totals.failed > 0 ? 1 : 0;
}

process.exitCode = await main();

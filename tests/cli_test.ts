// timeout: 300
// The `ardea` command end to end: each test starts bin/ardea.mjs as a child
// process on the runtime running this suite, with fixtures from tests/fixtures/.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { parseArgs, statusLine, sumStats, UsageError } from "../cli/mod.ts";
import type { TopologyStats } from "../mod.ts";
import { ardeaRoot, readTextFile, resolvePath } from "../runtime/mod.ts";
import { collect, runArdea, show, spawnArdea } from "../testing/child.ts";

const root = ardeaRoot();
const fixture = (name: string) => `tests/fixtures/${name}`;

// ARDEA_DEBUG unset so error output is the plain one-liner.
const start = (args: string[], env: Record<string, string> = {}) => spawnArdea(args, { ARDEA_DEBUG: "", ...env });
const ardea = (args: string[], env: Record<string, string> = {}) => runArdea(args, { ARDEA_DEBUG: "", ...env });

test("--help exits 0 and lists run; help run and run --help show run's usage", async () => {
  const r = await ardea(["--help"]);
  assert.is(r.code, 0, show(r));
  const text = r.stdout.join("\n");
  assert.match(text, /^\s+run <topology\.ts>/m);
  assert.match(text, /^\s+submit <topology\.ts>/m);
  assert.match(text, /^\s+tap <topology> <component>/m);
  assert.match(text, /^\s+logs <topology>/m);
  assert.match(text, /^\s+ui\s+serve the tracker/m);
  for (const args of [["help", "run"], ["run", "--help"]]) {
    const h = await ardea(args);
    assert.is(h.code, 0, show(h));
    assert.match(h.stdout.join("\n"), /ardea run \[--quiet\] \[--json\] [^<]*<topology\.ts>/);
  }
});

test("--version prints the package version", async () => {
  const pkg = JSON.parse(await readTextFile(resolvePath(root, "package.json"))) as { version: string };
  const r = await ardea(["--version"]);
  assert.is(r.code, 0, show(r));
  assert.equal(r.stdout, [`ardea ${pkg.version}`]);
});

test("an unknown command exits 2 with one error line and a usage line", async () => {
  const r = await ardea(["frobnicate"]);
  assert.is(r.code, 2, show(r));
  assert.equal(r.stdout, []);
  assert.is(r.stderr.length, 2, show(r));
  assert.is(r.stderr[0], 'ardea: unknown command "frobnicate"');
  assert.match(r.stderr[1]!, /^usage: ardea /);
});

test("an unknown flag of run exits 2 and names the flag", async () => {
  const r = await ardea(["run", "--fast", fixture("cli_finite.ts")]);
  assert.is(r.code, 2, show(r));
  assert.is(r.stderr[0], 'ardea: unknown flag "--fast" for "ardea run"');
  assert.match(r.stderr[1]!, /^usage: ardea run /);
});

test("run without a script path exits 2", async () => {
  const r = await ardea(["run", "--quiet"]);
  assert.is(r.code, 2, show(r));
  assert.is(r.stderr[0], "ardea: missing the topology script to run");
});

test("run with a script that does not exist exits 1 and names it", async () => {
  const r = await ardea(["run", "tests/fixtures/no_such_script.ts"]);
  assert.is(r.code, 1, show(r));
  assert.is(r.stderr.length, 1, show(r));
  assert.match(r.stderr[0]!, /^ardea: no such topology script: tests\/fixtures\/no_such_script\.ts/);
});

test("run of a directory is one clear line, not a module-resolution error", async () => {
  const r = await ardea(["run", "tests/fixtures"]);
  assert.is(r.code, 1, show(r));
  assert.is(r.stderr.length, 1, show(r));
  assert.match(r.stderr[0]!, /^ardea: tests\/fixtures \(.*\) is a directory, not a topology script$/);
});

test("submit of a directory or a missing script exits 2 with one line, before connecting", async () => {
  // port 1: nothing listens; the script is checked first
  const dir = await ardea(["submit", "tests/fixtures", "--nats", "nats://127.0.0.1:1"]);
  assert.is(dir.code, 2, show(dir));
  assert.is(dir.stderr.length, 1, show(dir));
  assert.match(dir.stderr[0]!, /^ardea: tests\/fixtures \(.*\) is a directory, not a topology script$/);
  const missing = await ardea(["submit", "tests/fixtures/no_such_script.ts", "--nats", "nats://127.0.0.1:1"]);
  assert.is(missing.code, 2, show(missing));
  assert.is(missing.stderr.length, 1, show(missing));
  assert.match(missing.stderr[0]!, /^ardea: no such topology script: tests\/fixtures\/no_such_script\.ts/);
});

test("update --component-parallelism: a duplicate or a count over the bound is a usage error naming the component; so is a kill --wait-secs no timer can wait", async () => {
  const dup = await ardea(["update", "t", "--component-parallelism", "a:2,b:1,a:3", "--nats", "nats://127.0.0.1:1"]);
  assert.is(dup.code, 2, show(dup));
  assert.match(dup.stderr[0]!, /^ardea: --component-parallelism names component "a" twice \(a:2 and a:3\)/);
  const big = await ardea(["update", "t", "--component-parallelism", "a:999999", "--nats", "nats://127.0.0.1:1"]);
  assert.is(big.code, 2, show(big));
  assert.match(big.stderr[0]!, /component "a": parallelism must be at most 10000 tasks.*got 999999/);
  assert.throws(
    () => parseArgs(["update", "t", "--component-parallelism", "x:1,x:1"]),
    (e: Error) => e instanceof UsageError && /"x" twice/.test(e.message),
  );
  // a drain time a timer cannot wait is refused too
  assert.throws(
    () => parseArgs(["kill", "t", "--wait-secs", "1e7"]),
    (e: Error) => e instanceof UsageError && /--wait-secs must be at most 2147483/.test(e.message),
  );
  assert.is((parseArgs(["kill", "t", "--wait-secs", "2147483"]) as { waitSecs?: number }).waitSecs, 2147483);
  const ok = parseArgs(["update", "t", "--component-parallelism", "a:10000,b:2"]);
  assert.equal(ok.type === "update" ? ok.parallelism : null, { a: 10000, b: 2 });
});

test("a finite topology exits 0; the script's output and the summary are there", async () => {
  const r = await ardea(["run", fixture("cli_finite.ts")]);
  assert.is(r.code, 0, show(r));
  assert.equal(r.stdout, ["words: 6 (FINISHED)"], "stdout holds only the script's output");
  assert.ok(r.stderr.some((l) => /^ardea: "cli-finite" FINISHED in .*acked 3, failed 0/.test(l)), show(r));
});

test("--quiet prints no summary; --json prints the summary as JSON on stdout", async () => {
  const q = await ardea(["run", "--quiet", fixture("cli_finite.ts")]);
  assert.is(q.code, 0, show(q));
  assert.equal(q.stderr, []);
  const j = await ardea(["run", "--json", fixture("cli_finite.ts")]);
  assert.is(j.code, 0, show(j));
  assert.equal(j.stderr, [], "the JSON replaces the summary on stderr");
  assert.is(j.stdout[0], "words: 6 (FINISHED)");
  const report = JSON.parse(j.stdout.at(-1)!) as {
    ok: boolean;
    exitCode: number;
    topologies: Array<{ name: string; state: string; stats: { acked: number; spoutEmitted: number } }>;
  };
  assert.is(report.ok, true);
  assert.is(report.exitCode, 0);
  assert.is(report.topologies.length, 1);
  assert.is(report.topologies[0]!.name, "cli-finite");
  assert.is(report.topologies[0]!.state, "FINISHED");
  assert.is(report.topologies[0]!.stats.acked, 3);
});

test("a bolt that always throws: exit 1 with the error", async () => {
  for (const args of [[], ["--await"]]) {
    const r = await ardea(["run", fixture("cli_failing.ts"), ...args]);
    assert.is(r.code, 1, show(r));
    const failures = r.stderr.filter((l) =>
      l.startsWith('ardea: topology "cli-failing" failed: ComponentFailedError: ')
    );
    assert.is(failures.length, 1, `reported once (script args ${args.join(" ")})\n${show(r)}`);
    assert.match(failures[0]!, /boom \(task \d+\) failed 3 times in a row.*cannot handle/);
    assert.ok(r.stderr.some((l) => /^ardea: "cli-failing" FAILED after /.test(l)), show(r));
  }
});

test("a failed run in --json: ok false and the error", async () => {
  const r = await ardea(["run", "--json", fixture("cli_failing.ts")]);
  assert.is(r.code, 1, show(r));
  const report = JSON.parse(r.stdout.at(-1)!) as {
    ok: boolean;
    topologies: Array<{ state: string; error: { name: string; code?: string } | null }>;
  };
  assert.is(report.ok, false);
  assert.is(report.topologies[0]!.state, "FAILED");
  assert.is(report.topologies[0]!.error?.name, "ComponentFailedError");
  assert.is(report.topologies[0]!.error?.code, "COMPONENT_FAILED");
});

test("an invalid topology exits 1 naming the stream, without a stack", async () => {
  const r = await ardea(["run", fixture("cli_invalid.ts")]);
  assert.is(r.code, 1, show(r));
  assert.is(r.stderr.length, 1, show(r));
  assert.match(r.stderr[0]!, /^ardea: InvalidTopologyError: .*stream "words"/);
  const debug = await ardea(["run", fixture("cli_invalid.ts")], { ARDEA_DEBUG: "1" });
  assert.is(debug.code, 1, show(debug));
  assert.ok(debug.stderr.some((l) => /^\s+at /.test(l)), `ARDEA_DEBUG=1 shows the stack\n${show(debug)}`);
});

test("script args are passed through, with or without --", async () => {
  for (const args of [["--input", "foo"], ["--", "--input", "foo"]]) {
    const r = await ardea(["run", fixture("cli_args.ts"), ...args]);
    assert.is(r.code, 0, show(r));
    assert.equal(r.stdout, ['args: ["--input","foo"]', 'argv: ["--input","foo"]'], show(r));
    assert.equal(r.stderr, [], "no topology, no summary");
  }
});

test("SIGINT drains an endless topology; a stray timer does not keep ardea alive", async () => {
  const child = start(["run", fixture("cli_endless.ts")]);
  const stderr = collect(child.lines("stderr"));
  const stdout = child.lines("stdout");
  const first = await stdout.next();
  assert.is(first.value, "started");
  await new Promise((r) => setTimeout(r, 300));
  // Not child.kill(): after it, Deno's node:child_process reports the exit
  // as signal SIGINT even when the child exits 0 (Deno 2.9).
  process.kill(child.pid!, "SIGINT");
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const rest = await collect(stdout);
  const exit = await child.exited;
  clearTimeout(killer);
  const r = { code: exit.code, stdout: ["started", ...rest], stderr: await stderr };
  assert.is(r.code, 0, show(r));
  assert.ok(rest.includes("ended KILLED"), show(r));
  assert.ok(r.stderr.some((l) => l.startsWith('ardea: draining "cli-endless"')), show(r));
  assert.ok(r.stderr.some((l) => /^ardea: "cli-endless" KILLED in /.test(l)), show(r));
});

test("parseArgs: run flags before the script, everything after it for the script (but --ui)", () => {
  assert.equal(parseArgs(["run", "-q", "--json", "x.ts", "--json", "a"]), {
    type: "run",
    script: "x.ts",
    scriptArgs: ["--json", "a"],
    quiet: true,
    json: true,
  });
  assert.equal(parseArgs(["run", "--", "-x.ts", "--", "--", "b"]), {
    type: "run",
    script: "-x.ts",
    scriptArgs: ["--", "b"],
    quiet: false,
    json: false,
  });
  // `--ui` may follow the script (ardea run topo.ts --ui); after `--` it is the script's.
  assert.equal(parseArgs(["run", "x.ts", "--input", "a", "--ui", "--port", "0", "--out", "b"]), {
    type: "run",
    script: "x.ts",
    scriptArgs: ["--input", "a", "--out", "b"],
    quiet: false,
    json: false,
    ui: { host: "127.0.0.1", port: 0 },
  });
  assert.equal(parseArgs(["run", "x.ts", "--port", "1", "--", "--ui"]), {
    type: "run",
    script: "x.ts",
    scriptArgs: ["--port", "1", "--ui"],
    quiet: false,
    json: false,
  });
  assert.throws(
    () => parseArgs(["run", "x.ts", "--ui", "--port", "http"]),
    (e: unknown) => e instanceof UsageError && /--port expects/.test(e.message),
  );
  assert.equal(parseArgs([]), { type: "help" });
  assert.equal(parseArgs(["help", "run"]), { type: "help", topic: "run" });
  assert.equal(parseArgs(["run", "--help", "x.ts"]), { type: "help", topic: "run" });
  assert.equal(parseArgs(["-V"]), { type: "version" });
  for (const bad of [["submit"], ["--nope"], ["help", "nosuch"], ["run", ""], ["--version", "x"]]) {
    assert.throws(() => parseArgs(bad), (e: unknown) => e instanceof UsageError, bad.join(" "));
  }
});

test("container --standby: its assignment comes on stdin; stdin ending first exits 0, a malformed line is refused", async () => {
  assert.equal(parseArgs(["container", "wc", "--index", "1"]), {
    type: "container",
    topology: "wc",
    index: 1,
    nats: {},
  });
  assert.equal(parseArgs(["container", "--standby", "--index", "0"]), {
    type: "container",
    topology: null,
    index: 0,
    nats: {},
  });
  for (
    const bad of [["container", "--standby", "wc", "--index", "0"], ["container", "--standby"], [
      "container",
      "--index",
      "0",
    ]]
  ) {
    assert.throws(() => parseArgs(bad), (e: unknown) => e instanceof UsageError, bad.join(" "));
  }
  const standby = async (input: string | null) => {
    const child = start(["container", "--standby", "--index", "0"]);
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const [stdout, stderr] = [collect(child.lines("stdout")), collect(child.lines("stderr"))];
    if (input === null) child.closeStdin();
    else await child.writeStdin(input);
    const exit = await child.exited;
    clearTimeout(timer);
    return { code: exit.code, stdout: await stdout, stderr: await stderr };
  };
  const unneeded = await standby(null);
  assert.equal([unneeded.code, unneeded.stdout], [0, []], show(unneeded));
  const bad = await standby('{"topology": 7}\n');
  assert.is(bad.code, 1, show(bad));
  assert.match(bad.stderr.join("\n"), /standby container's stdin line: .* at topology/);
});

test("statusLine fits the width: the label goes first, then zero failed/restarts", () => {
  const stats = {
    name: "wc",
    state: "RUNNING",
    uptimeMs: 75_000,
    emitted: 1_234_567,
    acked: 99_999,
    failed: 0,
    pending: 2048,
    restarts: 0,
    backpressure: true,
  } as TopologyStats;
  const t = sumStats([stats]);
  const wide = statusLine(t, 52_000, "wc");
  assert.is(wide, "wc  1:15  52k tuples/s  acked 100k  failed 0  in flight 2.05k  backpressure ON  restarts 0");
  assert.not.match(statusLine(t, 52_000, "wc", wide.length - 1), /^wc /);
  const narrow = statusLine(t, 52_000, "wc", 70);
  assert.ok(narrow.length <= 70 && narrow.includes("backpressure ON") && !narrow.includes("restarts"), narrow);
  assert.ok(statusLine(t, 52_000, "wc", 30).length <= 30);
});

test.run();

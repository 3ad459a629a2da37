// timeout: 300
// The subprocesses of tasks never outlive their topology: a child started
// with `group` leads a process group of its own (a Ctrl-C at the terminal
// does not reach it; kill() reaches its own children), is killed when the
// process that started it exits, and in a cluster dies with its container
// when the container is stopped (SIGTERM) or the topology killed; a
// container killed with SIGKILL leaves its subprocesses the end of their
// stdin, on which Storm's multilang clients exit.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import process from "node:process";
import { connect, type NatsConnection } from "nats";
import {
  ardeaRoot,
  type ChildHandle,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
  toFileUrl,
  writeTextFile,
} from "../runtime/mod.ts";
import { Records } from "../cluster/records.ts";
import { ardeaCmd, asText, collect, runArdea, show } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { until } from "../testing/wait.ts";

let dir: string;
let nats: NatsHandle;
let nc: NatsConnection;
/** Processes a failing test may leave: killed in `after`. */
const strays = new Set<number>();

test.before(async () => {
  dir = await makeTempDir("ardea-task-processes-");
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
});

test.after(async () => {
  for (const pid of strays) if (running(pid)) process.kill(pid, "SIGKILL");
  await nc?.close();
  await nats?.stop();
  await removePath(dir);
});

/** Whether process `pid` runs (a zombie, ended but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const gone = (what: string, pid: number, ms = 10_000) => until(`${what} (pid ${pid}) to end`, () => !running(pid), ms);

const runtimeUrl = toFileUrl(resolvePath(ardeaRoot(), "runtime", "mod.ts"));

/** Runs a script of `code` (with runtime/mod.ts's exports it names) and returns it, its stdout lines read on demand. */
async function script(name: string, imports: string, code: string, group = false): Promise<ChildHandle> {
  const path = resolvePath(dir, name);
  await writeTextFile(path, `import { ${imports} } from ${JSON.stringify(runtimeUrl)};\n${code}`);
  const { cmd, args } = scriptCommand(path);
  return spawnProcess(cmd, args, { stdio: "pipe", group });
}

test("group: kill() reaches the child's own children", async () => {
  const child = spawnProcess("sh", ["-c", "sleep 60 & echo $!; wait"], { stdio: "pipe", group: true });
  const grandchild = Number((await child.lines("stdout").next()).value);
  strays.add(grandchild);
  assert.ok(running(grandchild));
  assert.ok(child.kill("SIGTERM"));
  await child.exited;
  await gone("the grandchild", grandchild);
  assert.not.ok(child.kill("SIGTERM"), "an ended child is not signalled");
});

test("group: the child is killed when the process that started it exits", async () => {
  const parent = await script(
    "exits.ts",
    "exit, spawnProcess, writeStdout",
    `const c = spawnProcess("sleep", ["60"], { stdio: "pipe", group: true });
writeStdout(c.pid + "\\n");
setTimeout(() => exit(0), 200);
`,
  );
  const [out, exit] = await Promise.all([collect(parent.lines("stdout")), parent.exited]);
  const pid = Number(out[0]);
  strays.add(pid);
  assert.equal(exit, { code: 0, signal: null });
  await gone("the child of a process that exited", pid);
});

test("group: a Ctrl-C at the terminal (SIGINT to the foreground group) does not reach it", async () => {
  // The script leads a group of its own here, so that SIGINT to that group stands for the terminal's.
  const parent = await script(
    "ctrl_c.ts",
    "exit, onSignal, spawnProcess, writeStdout",
    `const own = spawnProcess("sleep", ["60"], { stdio: "pipe", group: true });
const plain = spawnProcess("sleep", ["61"], { stdio: "pipe" });
onSignal("SIGINT", () => {
  setTimeout(() => {
    const alive = (c: { kill(s: "SIGCONT"): boolean }) => c.kill("SIGCONT");
    writeStdout("own " + alive(own) + ", plain " + alive(plain) + "\\n");
    exit(0);
  }, 500);
});
writeStdout(own.pid + " " + plain.pid + "\\n");
setInterval(() => {}, 1000);
`,
    true,
  );
  const lines = parent.lines("stdout");
  const pids = String((await lines.next()).value).split(" ").map(Number);
  for (const pid of pids) strays.add(pid);
  process.kill(-parent.pid!, "SIGINT");
  assert.is((await lines.next()).value, "own true, plain false");
  await parent.exited;
  await gone("the group child, once its parent exited", pids[0]!);
});

/**
 * A topology whose "leaky" bolt (2 tasks, one per container) starts two
 * subprocesses in prepare and never stops them: `sleep 300` (reads no
 * stdin) and `cat` (ends at the end of its stdin). Each task writes
 * `<out>/<container>-<container pid>.json` with the pids.
 */
async function leakyTopology(): Promise<string> {
  const path = resolvePath(dir, "leaky", "topo.ts");
  await writeTextFile(
    path,
    `import { bolt, BaseRichSpout, submit, TopologyBuilder } from ${JSON.stringify(resolvePath(ardeaRoot(), "mod.ts"))};
import { pid, spawnProcess, writeTextFile } from ${JSON.stringify(resolvePath(ardeaRoot(), "runtime", "mod.ts"))};
import process from "node:process";
const out = process.argv[2]!;
class Idle extends BaseRichSpout {
  nextTuple() {}
  declareOutputFields(d: { declare(f: string[]): void }) { d.declare(["n"]); }
}
const b = new TopologyBuilder();
b.setSpout("idle", () => new Idle(), 1);
b.setBolt("leaky", bolt(() => {}, {
  prepare: async (_conf, ctx) => {
    const sleeper = spawnProcess("sleep", ["300"], { stdio: "pipe", group: true });
    const reader = spawnProcess("cat", [], { stdio: "pipe", group: true });
    await writeTextFile(out + "/" + ctx.getThisContainer() + "-" + pid() + ".json",
      JSON.stringify({ container: ctx.getThisContainer(), process: pid(), sleep: sleeper.pid, cat: reader.pid }));
  },
}), 2).shuffleGrouping("idle");
await (await submit("task-procs", { "topology.containers": 2 }, b.createTopology())).done;
`,
  );
  return path;
}

interface Leak {
  container: number;
  process: number;
  sleep: number;
  cat: number;
}

async function leaks(out: string): Promise<Leak[]> {
  const { listDir } = await import("../runtime/mod.ts");
  const names = (await listDir(out)).filter((n) => n.endsWith(".json"));
  const all = await Promise.all(names.map(async (n) => JSON.parse(await readTextFile(resolvePath(out, n))) as Leak));
  for (const l of all) for (const p of [l.sleep, l.cat]) strays.add(p);
  return all;
}

test("a cluster: subprocesses die with a stopped container, a SIGKILLed one (its spawner reaps them) and the killed topology", async () => {
  const topo = await leakyTopology();
  const out = resolvePath(dir, "leaky-out");
  await (await import("node:fs/promises")).mkdir(out, { recursive: true });
  const [cmd, argv] = ardeaCmd(["submit", topo, "--containers", "2", "--runtime", runtimeName(), "--wait", "--", out]);
  const submitter = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]! },
  });
  const said = collect(submitter.lines("stderr")).then((l) => l.join("\n"));
  void collect(submitter.lines("stdout"));
  try {
    const first = await until("a task in each container", async () => {
      const l = await leaks(out);
      return l.length === 2 ? l.sort((a, b) => a.container - b.container) : undefined;
    });
    const [a, b] = first as [Leak, Leak];
    for (const l of first) assert.ok(running(l.sleep) && running(l.cat), JSON.stringify(l));

    // Stopped by its scheduler: SIGTERM.
    process.kill(a.process, "SIGTERM");
    await gone("container 0's sleep after SIGTERM", a.sleep);
    await gone("container 0's cat after SIGTERM", a.cat);

    // SIGKILL: nothing runs in the container; its spawner kills the groups it recorded (sleep reads no stdin).
    process.kill(b.process, "SIGKILL");
    await gone("container 1's cat after SIGKILL", b.cat);
    await gone("container 1's sleep (reads no stdin) after SIGKILL", b.sleep);

    // The master restarts both; then the topology is killed.
    const again = await until("both containers restarted", async () => {
      const l = (await leaks(out)).filter((x) => x.process !== a.process && x.process !== b.process);
      return new Set(l.map((x) => x.container)).size === 2 ? l : undefined;
    }, 60_000);
    const k = asText(await runArdea(["kill", "task-procs"], { ARDEA_NATS_URL: nats.urls[0]! }));
    assert.is(k.code, 0, show(k));
    for (const l of again) {
      await gone(`container ${l.container}'s sleep after kill`, l.sleep);
      await gone(`container ${l.container}'s cat after kill`, l.cat);
    }
    await submitter.exited;
    const rec = await (await Records.bind(nc))!.getTopology("task-procs");
    assert.is(rec?.state, "KILLED", await said);
  } finally {
    submitter.kill("SIGKILL");
    await leaks(out); // what a failure left behind, for `after`
  }
});

test("ardea run: Ctrl-C drains a topology with a ShellBolt; the Ctrl-C does not reach its subprocesses", async () => {
  const folder = resolvePath(dir, "drain");
  const fixtures = resolvePath(ardeaRoot(), "tests", "fixtures", "multilang", "node");
  const { copyFile, mkdir, symlink } = await import("node:fs/promises");
  await mkdir(resolvePath(folder, "resources"), { recursive: true });
  for (const f of ["split_bolt.mjs", "multilang.mjs"]) {
    await copyFile(resolvePath(fixtures, f), resolvePath(folder, "resources", f));
  }
  // The fixtures import msgpackr: let Node find it from the temporary folder.
  await symlink(resolvePath(ardeaRoot(), "node_modules"), resolvePath(folder, "node_modules"));
  const topo = resolvePath(folder, "topo.ts");
  await writeTextFile(
    topo,
    `import { BaseRichSpout, bolt, ShellBolt, submit, TopologyBuilder, type SpoutOutputCollector } from ${
      JSON.stringify(resolvePath(ardeaRoot(), "mod.ts"))
    };
import { writeTextFile } from ${JSON.stringify(resolvePath(ardeaRoot(), "runtime", "mod.ts"))};
class Sentences extends BaseRichSpout {
  n = 0;
  c!: SpoutOutputCollector;
  override open(_a: unknown, _b: unknown, c: SpoutOutputCollector) { this.c = c; }
  nextTuple() { if (this.c.getPendingCount() < 20) this.c.emit(["a b c d", this.n], this.n++); }
  declareOutputFields(d: { declare(f: string[]): void }) { d.declare(["sentence", "n"]); }
}
let words = 0;
const b = new TopologyBuilder();
b.setSpout("sentences", () => new Sentences(), 1);
b.setBolt("split", new ShellBolt(["node", "split_bolt.mjs"], ["word"]), 2).shuffleGrouping("sentences");
b.setBolt("count", bolt(() => {
  if (++words === 400) void writeTextFile(${JSON.stringify(resolvePath(folder, "running"))}, "");
}), 1).shuffleGrouping("split");
await submit("drain-shell", { "topology.reliability.mode": "ATLEAST_ONCE" }, b.createTopology());
`,
  );
  // Its own group, standing for the terminal's foreground group.
  const [cmd, argv] = ardeaCmd(["run", "--json", topo]);
  const run = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", group: true });
  const stdout = collect(run.lines("stdout"));
  const stderr = collect(run.lines("stderr"));
  try {
    await until(
      "words counted",
      async () => (await readTextFile(resolvePath(folder, "running")).catch(() => "x")) === "",
    );
    process.kill(-run.pid!, "SIGINT");
    const exit = await run.exited;
    const out = (await stdout).join("\n");
    assert.equal(exit, { code: 0, signal: null }, out + (await stderr).join("\n"));
    const [t] = (JSON.parse(out) as { topologies: { state: string; stats: { failed: number; restarts: number } }[] })
      .topologies;
    assert.is(t!.state, "KILLED", "drained, then stopped");
    assert.is(t!.stats.failed, 0, "no tuple failed: the Ctrl-C did not reach the subprocesses");
    assert.is(t!.stats.restarts, 0);
  } finally {
    run.kill("SIGKILL");
  }
});

test.run();

// timeout: 400
// Event-time windows under EFFECTIVELY_ONCE across real kills: the rows of
// examples/event_windows.ts (per key and tumbling event-time window: count
// and sum, on events that arrive out of order by less than the lag) equal a
// plain computation over the same events, each row exactly once, after the
// process is killed with SIGKILL (at a random moment and at named fault
// points, the resume included) and started again on the same state folder;
// and over NATS with a container killed with SIGKILL mid-run.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { connect } from "nats";
import {
  ardeaRoot,
  type ChildHandle,
  fileExists,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  scriptCommand,
  spawnProcess,
} from "../runtime/mod.ts";
import { eventAt } from "../examples/event_windows_data.ts";
import { ardea, livePid, Watcher } from "../testing/eo_faults.ts";
import { startNats } from "../testing/nats_server.ts";
import { sleep } from "../testing/wait.ts";

const EVENTS = 400_000;
const KEYS = 12;
const DISORDER = 400;
const LAG = 800;
const WINDOW = 1000;

/** The rows a plain computation gives: per key and window, count and sum. */
function truth(seed: number): string[] {
  const rows = new Map<string, [string, number, number, number]>();
  for (let i = 0; i < EVENTS; i++) {
    const e = eventAt(seed, i, KEYS, DISORDER);
    const start = Math.floor(e.ts / WINDOW) * WINDOW;
    const id = `${e.key}|${start}`;
    const r = rows.get(id) ?? [e.key, start, 0, 0];
    r[2]++;
    r[3] += e.value;
    rows.set(id, r);
  }
  return [...rows.values()].map(([k, start, count, sum]) => JSON.stringify([k, start, start + WINDOW, count, sum]))
    .sort();
}

function compare(got: string[], want: string[]): string {
  const w = new Set(want);
  const g = new Set(got);
  const missing = want.filter((r) => !g.has(r));
  const extra = got.filter((r) => !w.has(r));
  if (missing.length === 0 && extra.length === 0 && got.length === want.length) return "";
  return `${got.length} rows for ${want.length}; missing ${missing.length} (${
    missing.slice(0, 3).join(" ")
  }), unexpected ${extra.length} (${extra.slice(0, 3).join(" ")})`;
}

const flags = (seed: number, out: string) => [
  "--events",
  String(EVENTS),
  "--seed",
  String(seed),
  "--keys",
  String(KEYS),
  "--disorder",
  String(DISORDER),
  "--lag",
  String(LAG),
  "--window",
  String(WINDOW),
  "--out",
  out,
  "--mode",
  "effectively-once",
  "--checkpoint-secs",
  "0.05",
];

function launch(args: string[], env: Record<string, string>, logs: string[]): ChildHandle {
  const { cmd, args: argv } = scriptCommand(resolvePath(ardeaRoot(), "examples", "event_windows.ts"), args);
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env, onLine: (l) => logs.push(l) });
  return child;
}

test("embedded: event-time windows killed with SIGKILL (at a random moment, after a commit, during the resume) and resumed: every row exactly once", async () => {
  const dir = await makeTempDir("ardea-ewin-");
  const logs: string[] = [];
  try {
    const seed = 11;
    const out = resolvePath(dir, "rows.jsonl");
    const args = [...flags(seed, out), "--state-dir", resolvePath(dir, "state")];
    const faultLog = resolvePath(dir, "faults.log");
    // 1: killed at a moment of its own.
    const first = launch(args, {}, logs);
    await sleep(900);
    assert.ok(first.kill("SIGKILL"), "the first run was still running when killed");
    await first.exited;
    // 2 and 3: killed right after its first commit, then during the resume.
    for (const at of ["committed:1", "restore:1"]) {
      const run = launch(args, { ARDEA_FAULT_AT: at, ARDEA_FAULT_LOG: faultLog }, logs);
      const exit = await run.exited;
      assert.is(exit.signal, "SIGKILL", `killed at ${at}: ${logs.slice(-10).join("\n")}`);
      assert.ok((await readTextFile(faultLog)).includes(`${at} `), `fault point ${at} reached`);
    }
    // 4: to the end.
    const last = launch(args, {}, logs);
    const exit = await last.exited;
    assert.is(exit.code, 0, logs.slice(-20).join("\n"));
    const got = (await readTextFile(out)).split("\n").filter(Boolean);
    assert.is(compare(got, truth(seed)), "", logs.slice(-20).join("\n"));
  } finally {
    await removePath(dir);
  }
});

test("over NATS: event-time windows on 2 containers, a container killed with SIGKILL after a commit: every row exactly once", async () => {
  const nats = await startNats({ jetstream: true });
  const dir = await makeTempDir("ardea-ewin-nats-");
  const logs: string[] = [];
  const nc = await connect({ servers: nats.urls });
  let run: ReturnType<typeof ardea> | undefined;
  const w = new Watcher(nc, "event-windows");
  try {
    const seed = 12;
    const out = resolvePath(dir, "rows.jsonl");
    run = ardea(nats.urls, [
      "submit",
      "examples/event_windows.ts",
      "--containers",
      "2",
      "--runtime",
      runtimeName(),
      "--wait",
      "--",
      ...flags(seed, out),
    ], logs);
    let ended = false;
    const exited = run.child.exited.then((e) => {
      ended = true;
      return e;
    });
    assert.ok(await w.until(() => w.commits.length > 0 || ended, 90_000), "a checkpoint was committed");
    assert.not.ok(ended, `the run ended before a kill: ${logs.slice(-20).join("\n")}`);
    // The container holding the windows of most keys (1 of 2), after its first commit.
    const pid = await livePid(nc, 1, new Set(), () => ended, "event-windows");
    assert.ok(pid > 0, "container 1 runs");
    process.kill(pid, "SIGKILL");
    const exit = await exited;
    await run.reading;
    assert.is(exit.code, 0, logs.slice(-30).join("\n"));
    assert.ok(await fileExists(out), "the rows were written");
    const got = (await readTextFile(out)).split("\n").filter(Boolean);
    assert.is(compare(got, truth(seed)), "", logs.slice(-30).join("\n"));
  } finally {
    w.close();
    run?.child.kill("SIGKILL");
    await nc.close().catch(() => {});
    await nats.stop();
    await removePath(dir);
  }
});

test.run();

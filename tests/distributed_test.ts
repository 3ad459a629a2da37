// timeout: 400
// Distributed mode end to end: `ardea submit` against a real nats-server,
// container processes on this machine, exact word counts across containers,
// status/kill, garbage on the topology's subjects, a failing topology.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import {
  ardeaRoot,
  makeTempDir,
  readTextFile,
  removePath,
  resolvePath,
  runtimeName,
  spawnProcess,
  writeTextFile,
} from "../runtime/mod.ts";
import { subjects } from "../transport/wire/mod.ts";
import { ardeaCmd, asText, collect, runArdea, show } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { until } from "../testing/wait.ts";

let nats: NatsHandle;
let nc: NatsConnection;
let dir: string;

const ardea = async (args: string[]) => asText(await runArdea(args, { ARDEA_NATS_URL: nats.urls[0]! }));

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
  dir = await makeTempDir("ardea-dist-");
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
  await removePath(dir);
});

function corpus(): { text: string; truth: Map<string, number> } {
  const vocab = ["alpha", "beta", "gamma", "naïve", "日本語", "🦩", "constructor", "__proto__", "toString"];
  const lines: string[] = [];
  let seed = 7;
  for (let i = 0; i < 6000; i++) {
    const words: string[] = [];
    for (let k = 0; k < 8; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      words.push(seed % 5 === 0 ? `w${seed % 301}` : vocab[seed % vocab.length]!);
    }
    lines.push(words.join(" "));
  }
  const truth = new Map<string, number>();
  for (const l of lines) for (const w of l.split(/\s+/)) if (w) truth.set(w, (truth.get(w) ?? 0) + 1);
  return { text: lines.join("\n") + "\n", truth };
}

test("word count across containers is exact (submit --wait)", async () => {
  const { text, truth } = corpus();
  const input = resolvePath(dir, "in.txt");
  const out = resolvePath(dir, "out.json");
  await writeTextFile(input, text);
  const runtime = runtimeName();
  const r = await ardea([
    "submit",
    "examples/word_count.ts",
    "--containers",
    "2",
    "--runtime",
    runtime,
    "--wait",
    "--",
    "--input",
    input,
    "--out",
    out,
    "--splitters",
    "3",
    "--counters",
    "3",
  ]);
  assert.is(r.code, 0, show(r));
  assert.match(r.stderr, /FINISHED/);
  const got = JSON.parse(await readTextFile(out)) as Record<string, number>;
  assert.is(Object.keys(got).length, truth.size, "distinct words");
  for (const [w, n] of truth) assert.is(got[w], n, `count of ${w}`);
  const rec = await (await Records.bind(nc))!.getTopology("word-count");
  assert.is(rec?.state, "FINISHED");
});

test("status --json shows both containers with pids; kill ends the run KILLED; garbage is dropped", async () => {
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_endless.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  const submitter = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]! },
  });
  const submitterOut = collect(submitter.lines("stderr")).then((lines) => lines.join("\n"));
  const records = await until("records", async () => await Records.bind(nc));
  await until(
    "RUNNING",
    async () => ((await records.getTopology("dist-endless"))?.state === "RUNNING" ? true : undefined),
  );
  const status = await until("both containers in status", async () => {
    const r = await ardea(["status", "dist-endless", "--json"]);
    const s = JSON.parse(r.stdout);
    return s.containers?.length === 2 && s.containers.every((c: { pid?: number }) => (c.pid ?? 0) > 0) ? s : undefined;
  });
  assert.is(status.topology, "dist-endless");
  assert.is(status.state, "RUNNING");
  assert.not.ok("pid" in status, "pid appears only on containers");

  // Garbage on every subject of the topology: the containers survive and count it.
  const s = subjects("dist-endless");
  const junk = [new Uint8Array([1, 2, 3]), new TextEncoder().encode("not msgpack at all"), new Uint8Array(0)];
  for (const j of junk) {
    for (const subject of [s.data(0), s.data(1), s.acks(0), s.acks(1), s.ctl, s.events]) nc.publish(subject, j);
  }
  await nc.flush();
  const dropped = await until("drop counters", async () => {
    const cs = await records.listContainers("dist-endless");
    const total = cs.reduce((n, c) => n + Number((c.stats as { dropped?: number } | undefined)?.dropped ?? 0), 0);
    return total >= 8 ? total : undefined;
  });
  assert.ok(dropped >= 8);
  const still = await records.getTopology("dist-endless");
  assert.is(still?.state, "RUNNING", "containers survived the garbage");

  const k = await ardea(["kill", "dist-endless", "--wait-secs", "1"]);
  assert.is(k.code, 0, show(k));
  const exit = await submitter.exited;
  assert.is(exit.code, 1, `submit --wait exits non-zero when the topology was killed\n${await submitterOut}`);
  assert.is((await records.getTopology("dist-endless"))?.state, "KILLED");
});

test("a bolt that always throws ends the topology FAILED and submit --wait exits non-zero", async () => {
  const r = await ardea([
    "submit",
    "tests/fixtures/dist_failing.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /FAILED/);
  assert.match(r.stderr, /boom always throws/);
  const rec = await (await Records.bind(nc))!.getTopology("dist-failing");
  assert.is(rec?.state, "FAILED");
  assert.match(rec?.error ?? "", /boom/);
});

test("submitting a topology that is already running is refused", async () => {
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_endless.ts",
    "--containers",
    "1",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  const first = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: nats.urls[0]! } });
  void collect(first.lines("stdout"));
  void collect(first.lines("stderr"));
  const records = (await Records.bind(nc))!;
  await until(
    "RUNNING",
    async () => ((await records.getTopology("dist-endless"))?.state === "RUNNING" ? true : undefined),
  );
  const again = await ardea(["submit", "tests/fixtures/dist_endless.ts"]);
  assert.is(again.code, 1, show(again));
  assert.match(again.stderr, /already RUNNING/);
  const k = await ardea(["kill", "dist-endless", "--wait-secs", "0"]);
  assert.is(k.code, 0, show(k));
  await first.exited;
});

test("containers stop when their master is killed with SIGKILL (no orphans)", async () => {
  const [cmd, argv] = ardeaCmd([
    "submit",
    "tests/fixtures/dist_endless.ts",
    "--containers",
    "2",
    "--runtime",
    runtimeName(),
    "--wait",
  ]);
  const submitter = spawnProcess(cmd, argv, {
    cwd: ardeaRoot(),
    stdio: "pipe",
    env: { ARDEA_NATS_URL: nats.urls[0]! },
  });
  const said: string[] = [];
  void collect(submitter.lines("stderr"), said);
  void collect(submitter.lines("stdout"));
  const records = await until("records", async () => await Records.bind(nc));
  let seen = "";
  const pids = await until("two running containers", async () => {
    const rec = await records.getTopology("dist-endless");
    const cs = (await records.listContainers("dist-endless")).filter((c) =>
      c.pid > 0 && c.startedAt >= (rec?.submittedAt ?? 0)
    );
    seen = `record ${rec?.state} (submitted ${rec?.submittedAt}), containers ${
      JSON.stringify(cs.map((c) => [c.container, c.pid, c.startedAt]))
    }`;
    if (rec?.state !== "RUNNING") return undefined;
    return cs.length === 2 ? cs.map((c) => c.pid) : undefined;
  }, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}: ${seen}\n--- ardea submit\n${said.join("\n")}`);
  });
  submitter.kill("SIGKILL");
  await submitter.exited;
  const alive = (p: number) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  await until("containers to stop", async () => (pids.every((p) => !alive(p)) ? true : undefined), 20_000);
  await records.updateTopology("dist-endless", (r) => ({ ...r, state: "KILLED" }));
});

test.run();

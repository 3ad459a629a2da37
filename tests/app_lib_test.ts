// examples/apps/lib: what every application shares. Flags fail with a line
// naming the flag, the generator's random numbers are the same for the same
// seed, a source iterates again (EFFECTIVELY_ONCE rewinds that way), paced
// keeps to its rate, and --out writes JSON lines that a streamlet run fills.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { z } from "zod";
import { Builder, StreamletConfig as Config } from "../mod.ts";
import { Runner } from "../streamlet/runner.ts";
import { AckPolicy, nanos } from "nats";
import { startNats } from "../testing/nats_server.ts";
import { makeTempDir, readTextFile, removePath, resolvePath } from "../runtime/mod.ts";
import {
  appSource,
  EPOCH_MS,
  FlagError,
  formatDuration,
  formatTime,
  openOutput,
  outputSink,
  paced,
  parseDuration,
  parseFlags,
  Random,
  reliabilityMode,
  replayable,
} from "../examples/apps/lib/mod.ts";

test("flags: standard and extra flags, defaults, and errors that name the flag", () => {
  const extra = { topN: z.coerce.number().int().min(1).default(10) };
  const f = parseFlags(["--seed=7", "--duration", "1h30m", "--top-n", "3", "--mode", "effectively"], extra, {
    events: 500,
  });
  assert.equal(
    [f.seed, f.rate, f.events, f.duration, f.topN, f.mode, reliabilityMode(f.mode)],
    [7, 0, 500, 5_400_000, 3, "effectively", "EFFECTIVELY_ONCE"],
  );
  assert.is(parseFlags([], extra).topN, 10);
  const cases: [string[], RegExp][] = [
    [["--bogus", "1"], /unknown flag --bogus \(known: --seed, .*--top-n\)/],
    [["--seed", "x"], /^--seed: .*\(got "x"\)/],
    [["--events", "0"], /^--events: /],
    [["--duration", "5 min"], /^--duration: "5 min" is not a duration/],
    [["--mode", "once"], /^--mode: .*\(got "once"\)/],
    [["--top-n"], /^--top-n needs a value/],
    [["--top-n", "0"], /^--top-n: /],
    [["--seed", "1", "--seed", "2"], /--seed is given twice/],
    [["--from-stream", "a.b"], /^--from-stream: /],
  ];
  for (const [argv, message] of cases) {
    try {
      parseFlags(argv, extra);
      assert.unreachable(argv.join(" "));
    } catch (e) {
      assert.instance(e, FlagError, argv.join(" "));
      assert.match((e as Error).message, message);
    }
  }
});

test("time: durations, UTC times", () => {
  assert.equal([parseDuration("90s"), parseDuration("5m"), parseDuration("2h"), parseDuration("250")], [
    90_000,
    300_000,
    7_200_000,
    250,
  ]);
  assert.throws(() => parseDuration("5x"), /not a duration/);
  assert.throws(() => parseDuration("m5"), /not a duration/);
  assert.is(formatTime(EPOCH_MS + 310_000), "00:05:10");
  assert.is(formatTime(EPOCH_MS, true), "2026-01-01 00:00:00");
  assert.is(formatDuration(250_000), "4 min 10 s");
});

test("random: same seed, same numbers; distributions have their means", () => {
  const a = new Random(42), b = new Random(42);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.equal(xs, Array.from({ length: 100 }, () => b.next()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const r = new Random(1);
  const mean = (f: () => number) => {
    let s = 0;
    for (let i = 0; i < 20_000; i++) s += f();
    return s / 20_000;
  };
  assert.ok(Math.abs(mean(() => r.normal(5, 2)) - 5) < 0.1);
  assert.ok(Math.abs(mean(() => r.exponential(0.5)) - 2) < 0.1);
  assert.ok(Math.abs(mean(() => r.poisson(4)) - 4) < 0.1);
  assert.ok(Math.abs(mean(() => r.poisson(50)) - 50) < 0.5);
  const picks = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const x = r.weighted(["a", "b"], [3, 1]);
    picks.set(x, (picks.get(x) ?? 0) + 1);
  }
  assert.ok(Math.abs(picks.get("a")! / 10_000 - 0.75) < 0.03);
  assert.is.not(new Random(42).fork("text").next(), new Random(42).fork("time").next());
  assert.is(new Random(42).fork("text").next(), new Random(42).fork("text").next());
});

test("sources: replayable iterates again; paced keeps to its rate", async () => {
  function* count(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }
  const events = replayable(() => count(5));
  assert.equal([...events], [0, 1, 2, 3, 4]);
  assert.equal([...events], [0, 1, 2, 3, 4]);
  assert.is(paced(events, 0), events);
  const t0 = Date.now();
  const got: number[] = [];
  for await (const x of paced(replayable(() => count(64)), 400) as AsyncIterable<number>) got.push(x);
  const ms = Date.now() - t0;
  assert.equal(got.length, 64);
  assert.ok(ms >= 100, `64 events at 400/s took ${ms} ms`); // 160 ms less the first step's 40 ms
});

function* numbers(): Generator<{ n: number }> {
  for (let i = 0; i < 1000; i++) yield { n: i };
}

test("an app's source and --out: a streamlet run writes one JSON line per result", async () => {
  const dir = await makeTempDir("ardea-app-lib-");
  try {
    const out = resolvePath(dir, "out.jsonl");
    const b = Builder.newBuilder();
    let ended = 0;
    appSource(b, { rate: 0 }, "numbers", numbers, (j) => j as { n: number }).setNumPartitions(2)
      .filter((e) => e.n % 3 === 0)
      .toSink(outputSink({ out }, (e) => ({ tripled: e.n }), undefined, (o) => void (ended = o?.count ?? -1)))
      .setNumPartitions(1);
    const config = Config.newBuilder().setDeliverySemantics(Config.DeliverySemantics.ATLEAST_ONCE).build();
    const handle = await new Runner().run("app-lib", config, b, { handleSignals: false });
    assert.is((await handle.done).state, "FINISHED");
    const lines = (await readTextFile(out)).trim().split("\n").map((l) => JSON.parse(l).tripled as number);
    assert.equal(lines.sort((x, y) => x - y), Array.from({ length: 334 }, (_, i) => i * 3));
    assert.is(ended, 334);
  } finally {
    await removePath(dir);
  }
});

test("--from-stream reads JSON events from JetStream (garbage dropped), --out nats: publishes results, --idle-ms ends", async () => {
  const nats = await startNats({ servers: 1, jetstream: true });
  const { connect } = await import("nats");
  const nc = await connect({ servers: nats.urls[0]! });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "APP_IN", subjects: ["app.in"] });
    await jsm.streams.add({ name: "APP_OUT", subjects: ["app.out"] });
    const js = nc.jetstream();
    const enc = new TextEncoder();
    for (let i = 0; i < 200; i++) await js.publish("app.in", enc.encode(JSON.stringify({ n: i })));
    await js.publish("app.in", enc.encode("{not json"));
    await js.publish("app.in", enc.encode(JSON.stringify({ m: 1 })));
    const flags = { rate: 0, fromStream: "APP_IN", idleMs: 300, nats: nats.urls[0]!, out: "nats:app.out" };
    const b = Builder.newBuilder();
    const decode = (j: unknown) => {
      const n = (j as { n?: unknown }).n;
      if (typeof n !== "number") throw new Error(`no number n in ${JSON.stringify(j)}`);
      return { n };
    };
    appSource(b, flags, "numbers", numbers, decode).setNumPartitions(2)
      .map((e) => e.n * 2)
      .toSink(outputSink(flags, (n) => ({ doubled: n }))).setNumPartitions(1);
    const config = Config.newBuilder().setDeliverySemantics(Config.DeliverySemantics.ATLEAST_ONCE).build();
    const handle = await new Runner().run("app-lib-js", config, b, { handleSignals: false });
    assert.is((await handle.done).state, "FINISHED");
    const { name } = await jsm.consumers.add("APP_OUT", {
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(10_000),
    });
    const consumer = await js.consumers.get("APP_OUT", name);
    const got: number[] = [];
    const dec = new TextDecoder();
    while (got.length < 200) {
      const batch = await consumer.fetch({ max_messages: 200 - got.length, expires: 2000 });
      let any = false;
      for await (const m of batch) {
        got.push((JSON.parse(dec.decode(m.data)) as { doubled: number }).doubled);
        any = true;
      }
      if (!any) break;
    }
    assert.equal(got.sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i * 2));
    assert.is((await jsm.streams.info("APP_OUT")).state.messages, 200, "each result once (no failures, no replays)");
  } finally {
    await nc.close();
    await nats.stop();
  }
});

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`no error matching ${message}`);
}

test("--out nats: without a server or a stream says what is missing", async () => {
  await rejects(openOutput({ out: "nats:x.y" }), /needs a NATS server: pass --nats/);
  const nats = await startNats({ servers: 1, jetstream: true });
  try {
    await rejects(openOutput({ out: "nats:nobody.reads", nats: nats.urls[0]! }), /no JetStream stream captures/);
  } finally {
    await nats.stop();
  }
});

test.run();

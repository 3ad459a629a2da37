/**
 * `recovery`: what a `kill -9` costs.
 *
 * ATLEAST_ONCE over NATS (2 containers): `ardea submit
 * tests/fixtures/dist_durable.ts --containers 2 --wait` (numbers → pass×2 →
 * durable sink×2 that appends every number to a file of its task before
 * acking). Once container 1 has a pid and the sink holds
 * {@link KILL_AT_FRACTION} of the numbers, container 1 gets SIGKILL; the
 * master restarts it. Measured: kill → the sink grows again by
 * {@link RESUMED_TUPLES} (`resumed-ms`), kill → the first new line in a file
 * of a sink task of the killed container (`victim-resumed-ms`: the restarted
 * container itself processes again), the master's "rejoined N ms after it was
 * lost" (`rejoin-ms`), and afterwards the numbers missing from the sink
 * (`lost`, must be 0) and those written more than once (`duplicates`).
 *
 * EFFECTIVELY_ONCE, embedded: `examples/word_count.ts --mode
 * effectively-once --state-dir D --checkpoint-secs 0.1` uninterrupted
 * (`eo-clean`), and killed with SIGKILL half-way through its processing
 * (the clean runs' median wall − half their median "FINISHED in N ms";
 * `checkpoint-at-kill` says which checkpoint was committed then, 0: none) then started again on the same state dir (`eo-kill9`). Measured: restart → exit (`restart-to-finished-ms`),
 * restart → the first checkpoint committed after the restart
 * (`resumed-ms`), kill point + restart-to-finished − the clean runs' median
 * (`lost-time-ms`), lines the restarted run emitted / lines of the input
 * (`replayed-share`, < 1 shows it resumed from a checkpoint). Both runs'
 * `--out` counts must equal a plain count exactly, or the variant FAILs.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { connect, type NatsConnection } from "nats";
import { Records } from "../cluster/records.ts";
import { ardeaRoot, makeTempDir, removePath, scriptCommand, spawnProcess } from "../runtime/mod.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { KV_BUCKET } from "../transport/wire/mod.ts";
import { outputLines } from "../testing/child.ts";
import { sleep, within } from "../testing/wait.ts";
import { submitRun } from "./dist.ts";
import { type Benchmark, type BenchOptions, measure, median, type Variant } from "./harness.ts";
import { readInputFile, writeInputFile } from "./input.ts";
import { assertSameCounts, countPlain } from "./wordcount_embedded.ts";

/** Numbers the durable topology carries per run. */
export const DURABLE_COUNT = 5000;
/** The victim is killed once the sink holds this share of the numbers. */
const KILL_AT_FRACTION = 0.3;
/** "Resumed": the sink has grown by this many lines past its size at the kill. */
const RESUMED_TUPLES = 50;
/** Words of the EFFECTIVELY_ONCE input: 3 × `--words`, at most this (~1 s of processing on 2 cores). */
const EO_MAX_WORDS = 3_000_000;
const RUN_TIMEOUT_MS = 180_000;
const POLL_MS = 20;

// ------------------------------------------------------------ at least once

/** Lines of every sink file: all numbers seen, and per file the line count. */
function readSink(dir: string): { numbers: number[]; perFile: Map<string, number> } {
  const numbers: number[] = [];
  const perFile = new Map<string, number>();
  for (const f of readdirSync(dir)) {
    if (!f.startsWith("sink-")) continue;
    let n = 0;
    for (const l of readFileSync(join(dir, f), "utf8").split("\n")) {
      if (l === "") continue;
      numbers.push(Number(l));
      n++;
    }
    perFile.set(f, n);
  }
  return { numbers, perFile };
}

interface KillRun {
  killed: boolean;
  resumedMs?: number;
  victimResumedMs?: number;
  /** Task ids of the killed container. */
  victimTasks: number[];
  sinkAtKill: number;
}

interface DurableRun {
  code: number | null;
  lines: string[];
  wallMs: number;
  processingMs?: number;
  kill?: KillRun;
  lost: number;
  duplicates: number;
  rejoinMs?: number;
}

async function runDurable(
  nc: NatsConnection,
  kv: Parameters<typeof submitRun>[0]["kv"],
  url: string,
  kill: boolean,
): Promise<DurableRun> {
  const dir = await makeTempDir("ardea-bench-recovery-");
  try {
    const r = await submitRun<KillRun | undefined>({
      nc,
      kv,
      url,
      script: "tests/fixtures/dist_durable.ts",
      topology: "dist-durable",
      containers: 2,
      scriptArgs: ["--dir", dir, "--count", String(DURABLE_COUNT)],
      timeoutMs: RUN_TIMEOUT_MS,
      during: !kill ? undefined : async (ctx) => {
        const records = await Records.bind(nc);
        if (records === undefined) throw new Error("no records bucket");
        const deadline = performance.now() + 60_000;
        let victim = 0;
        let victimTasks: number[] = [];
        let ended = false;
        ctx.ended.then(() => (ended = true));
        while (performance.now() < deadline && !ended) {
          const c1 = (await records.listContainers("dist-durable")).find((c) => c.container === 1);
          if (c1 && c1.pid > 0 && readSink(dir).numbers.length >= DURABLE_COUNT * KILL_AT_FRACTION) {
            victim = c1.pid;
            victimTasks = c1.tasks;
            break;
          }
          await sleep(POLL_MS);
        }
        if (victim === 0) return { killed: false, victimTasks, sinkAtKill: 0 };
        const killedAt = performance.now();
        process.kill(victim, "SIGKILL");
        const atKill = readSink(dir);
        const victimFiles = victimTasks.map((t) => `sink-${t}.txt`);
        const out: KillRun = { killed: true, victimTasks, sinkAtKill: atKill.numbers.length };
        while (performance.now() - killedAt < 60_000) {
          const now = readSink(dir);
          const t = performance.now() - killedAt;
          if (out.resumedMs === undefined && now.numbers.length >= atKill.numbers.length + RESUMED_TUPLES) {
            out.resumedMs = t;
          }
          if (
            out.victimResumedMs === undefined &&
            victimFiles.some((f) => (now.perFile.get(f) ?? 0) > (atKill.perFile.get(f) ?? 0))
          ) {
            out.victimResumedMs = t;
          }
          if (out.resumedMs !== undefined && out.victimResumedMs !== undefined) break;
          if (ended) break;
          await sleep(POLL_MS);
        }
        return out;
      },
    });
    const { numbers } = readSink(dir);
    const got = new Set(numbers);
    let lost = 0;
    for (let i = 0; i < DURABLE_COUNT; i++) if (!got.has(i)) lost++;
    const m = r.lines.map((l) => /rejoined ([0-9]+) ms after/.exec(l)).find((x) => x !== null);
    return {
      code: r.code,
      lines: r.lines,
      wallMs: r.tExit - r.t0,
      processingMs: r.seen.RUNNING !== undefined && r.seen.FINISHED !== undefined
        ? r.seen.FINISHED - r.seen.RUNNING
        : undefined,
      kill: r.during,
      lost,
      duplicates: numbers.length - got.size,
      rejoinMs: m ? Number(m[1]) : undefined,
    };
  } finally {
    await removePath(dir).catch(() => {});
  }
}

// ------------------------------------------------------------ effectively once

/** Numeric checkpoint ids with a commit record under `stateDir` (any topology). */
function committedCheckpoints(stateDir: string): number[] {
  const ids: number[] = [];
  if (!existsSync(stateDir)) return ids;
  for (const topo of readdirSync(stateDir)) {
    const td = join(stateDir, topo);
    let entries: string[];
    try {
      entries = readdirSync(td);
    } catch {
      continue;
    }
    for (const id of entries) {
      if (/^[0-9]+$/.test(id) && existsSync(join(td, id, "commit.json"))) ids.push(Number(id));
    }
  }
  return ids;
}

interface WcRun {
  code: number | null;
  signal: string | null;
  lines: string[];
  ms: number;
  /** Lines emitted, from the summary line. */
  emitted?: number;
  /** ms the engine reported ("FINISHED in N ms"). */
  engineMs?: number;
}

/** One embedded word count; when `killWhen(t0, exited)` resolves true the process gets SIGKILL (it must give up once `exited()`). */
async function runWordCount(
  args: string[],
  killWhen?: (t0: number, exited: () => boolean) => Promise<boolean>,
): Promise<WcRun & { killed: boolean; killedAtMs?: number }> {
  const { cmd, args: argv } = scriptCommand(join(ardeaRoot(), "examples", "word_count.ts"), args);
  const t0 = performance.now();
  const child = spawnProcess(cmd, argv, { cwd: ardeaRoot(), stdio: "pipe" });
  const out = outputLines(child, 5000);
  let killed = false;
  let killedAtMs: number | undefined;
  let gone = false;
  child.exited.finally(() => (gone = true)).catch(() => {});
  const killer = killWhen?.(t0, () => gone).then((k) => {
    if (k && child.kill("SIGKILL")) {
      killed = true;
      killedAtMs = performance.now() - t0;
    }
  });
  try {
    const exit = await within(child.exited, RUN_TIMEOUT_MS, "word_count");
    const ms = performance.now() - t0;
    await out.done;
    await killer;
    const s = out.lines.map((l) => /FINISHED in ([0-9]+) ms; ([0-9]+) lines emitted/.exec(l)).find((x) => x !== null);
    return {
      code: exit.code,
      signal: exit.signal,
      lines: out.lines,
      ms,
      killed,
      killedAtMs,
      engineMs: s ? Number(s[1]) : undefined,
      emitted: s ? Number(s[2]) : undefined,
    };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

interface EoRun {
  first: WcRun & { killed: boolean; killedAtMs?: number };
  second?: WcRun;
  /** restart → first checkpoint committed after it (ms). */
  resumedMs?: number;
  /** Highest committed checkpoint id when the first process was killed. */
  checkpointsAtKill: number;
  out: string;
}

const benchmark: Benchmark = {
  name: "recovery",
  description:
    "kill -9 mid-run: ATLEAST_ONCE over NATS (2 containers, durable sink) and EFFECTIVELY_ONCE embedded word count (restart from the state dir)",
  async run(opts: BenchOptions) {
    const dir = await makeTempDir("ardea-bench-recovery-");
    let nats: NatsHandle | undefined;
    let nc: NatsConnection | undefined;
    try {
      // EFFECTIVELY_ONCE input and its plain count.
      const input = opts.input ?? join(dir, "input.txt");
      const eoWords = Math.min(3 * opts.words, EO_MAX_WORDS);
      if (opts.input === undefined) writeInputFile(input, { words: eoWords, seed: opts.seed });
      const lines = readInputFile(input);
      const reference = countPlain(lines);
      let words = 0;
      for (const n of reference.values()) words += n;

      nats = await startNats({ servers: 1, jetstream: true });
      const url = nats.urls[0]!;
      nc = await connect({ servers: url, name: "bench recovery" });
      await Records.open(nc);
      const kv = await nc.jetstream().views.kv(KV_BUCKET);
      const conn = nc;

      const durable = (name: string, kill: boolean): Variant<DurableRun> => ({
        name,
        description: `ardea submit tests/fixtures/dist_durable.ts --containers 2 --wait, ${DURABLE_COUNT} numbers${
          kill ? `, container 1 SIGKILLed at ${KILL_AT_FRACTION * 100}% in the sink` : ", no kill"
        }`,
        run: () => runDurable(conn, kv, url, kill),
        verify: (r) => {
          if (r.code !== 0) throw new Error(`submit exited ${r.code}: ${r.lines.slice(-8).join(" | ")}`);
          if (kill && !r.kill?.killed) throw new Error("the run ended before container 1 could be killed");
          if (kill && r.rejoinMs === undefined) throw new Error(`no "rejoined" line: ${r.lines.slice(-8).join(" | ")}`);
          if (r.lost > 0) throw new Error(`${r.lost} of ${DURABLE_COUNT} numbers never reached the sink`);
        },
        metrics: (r) => ({
          lost: r.lost,
          duplicates: r.duplicates,
          ...(r.processingMs !== undefined ? { "processing-ms": r.processingMs } : {}),
          ...(r.kill?.resumedMs !== undefined ? { "resumed-ms": r.kill.resumedMs } : {}),
          ...(r.kill?.victimResumedMs !== undefined ? { "victim-resumed-ms": r.kill.victimResumedMs } : {}),
          ...(r.rejoinMs !== undefined ? { "rejoin-ms": r.rejoinMs } : {}),
        }),
      });

      const cleanMs: number[] = [];
      /** The clean runs' own "FINISHED in N ms" (processing without process start-up). */
      const cleanEngineMs: number[] = [];
      let runNo = 0;
      const eoArgs = (stateDir: string, out: string) => [
        "--input",
        input,
        "--out",
        out,
        "--mode",
        "effectively-once",
        "--state-dir",
        stateDir,
        "--checkpoint-secs",
        "0.1",
      ];
      const checkOut = (out: string) => {
        const got = new Map(Object.entries(JSON.parse(readFileSync(out, "utf8")) as Record<string, number>));
        assertSameCounts(reference, got);
      };

      const eoClean: Variant<WcRun & { out: string }> = {
        name: "eo-clean",
        description:
          "examples/word_count.ts --mode effectively-once --checkpoint-secs 0.1, fresh state dir, uninterrupted",
        run: async () => {
          const n = runNo++;
          const out = join(dir, `eo-out-${n}.json`);
          const r = await runWordCount(eoArgs(join(dir, `eo-state-${n}`), out));
          cleanMs.push(r.ms);
          if (r.engineMs !== undefined) cleanEngineMs.push(r.engineMs);
          return { ...r, out };
        },
        verify: (r) => {
          if (r.code !== 0) {
            throw new Error(`word_count exited ${r.code ?? r.signal}: ${r.lines.slice(-6).join(" | ")}`);
          }
          checkOut(r.out);
        },
        metrics: (r) => ({
          "run-ms": r.ms,
          ...(r.engineMs !== undefined ? { "engine-ms": r.engineMs } : {}),
        }),
      };

      const eoKill: Variant<EoRun> = {
        name: "eo-kill9",
        description: "the same, SIGKILLed half-way through its processing and started again on the same state dir",
        run: async () => {
          const n = runNo++;
          const out = join(dir, `eo-out-${n}.json`);
          const stateDir = join(dir, `eo-state-${n}`);
          // Half-way through the processing (the fastest clean run's wall minus half the clean runs'
          // median processing time) once a checkpoint is committed. A run that ends first is retried
          // with an earlier kill, at most 3 times; only the killed attempt is reported.
          let half = cleanMs.length
            ? Math.min(...cleanMs) - (cleanEngineMs.length ? median(cleanEngineMs) / 2 : Math.min(...cleanMs) / 2)
            : 1000;
          let checkpointsAtKill = 0;
          let first!: Awaited<ReturnType<typeof runWordCount>>;
          for (let attempt = 0; attempt < 4; attempt++, half *= 0.7) {
            await removePath(stateDir).catch(() => {});
            first = await runWordCount(eoArgs(stateDir, out), async (t0, exited) => {
              while (!exited() && performance.now() - t0 < RUN_TIMEOUT_MS) {
                checkpointsAtKill = Math.max(0, ...committedCheckpoints(stateDir));
                if (performance.now() - t0 >= half && checkpointsAtKill > 0) return true;
                await sleep(10);
              }
              return false;
            });
            if (first.killed) break;
          }
          if (!first.killed) return { first, checkpointsAtKill, out };
          const before = Math.max(-1, ...committedCheckpoints(stateDir));
          const t0 = performance.now();
          let resumedMs: number | undefined;
          let done = false;
          const watcher = (async () => {
            while (!done && performance.now() - t0 < RUN_TIMEOUT_MS) {
              if (committedCheckpoints(stateDir).some((id) => id > before)) {
                resumedMs = performance.now() - t0;
                return;
              }
              await sleep(5);
            }
          })();
          const second = await runWordCount(eoArgs(stateDir, out)).finally(() => (done = true));
          await watcher;
          return { first, second, resumedMs, checkpointsAtKill, out };
        },
        verify: (r) => {
          if (!r.first.killed) throw new Error(`the first run ended (${r.first.code}) before it could be killed`);
          const s = r.second!;
          if (s.code !== 0) {
            throw new Error(`the restarted word_count exited ${s.code ?? s.signal}: ${s.lines.slice(-6).join(" | ")}`);
          }
          checkOut(r.out);
        },
        metrics: (r) => {
          const s = r.second!;
          const m: Record<string, number> = {
            "restart-to-finished-ms": s.ms,
            "killed-at-ms": r.first.killedAtMs!,
            "checkpoint-at-kill": r.checkpointsAtKill,
          };
          if (r.resumedMs !== undefined) m["resumed-ms"] = r.resumedMs;
          if (s.engineMs !== undefined) m["engine-ms"] = s.engineMs;
          if (s.emitted !== undefined) m["replayed-share"] = s.emitted / lines.length;
          if (cleanMs.length) m["lost-time-ms"] = r.first.killedAtMs! + s.ms - median(cleanMs);
          return m;
        },
      };

      return await measure({
        unit: "ms",
        primary: "ms",
        unitsPerRun: 1,
        baseline: "atleast-clean",
        variants: [durable("atleast-clean", false), durable("atleast-kill9", true), eoClean, eoKill],
        metrics: [
          { name: "resumed-ms", unit: "ms", lowerIsBetter: true },
          { name: "victim-resumed-ms", unit: "ms", lowerIsBetter: true },
          { name: "rejoin-ms", unit: "ms", lowerIsBetter: true },
          { name: "lost", unit: "tuples", lowerIsBetter: true },
          { name: "duplicates", unit: "tuples", lowerIsBetter: true },
          { name: "processing-ms", unit: "ms", lowerIsBetter: true },
          { name: "run-ms", unit: "ms", lowerIsBetter: true },
          { name: "restart-to-finished-ms", unit: "ms", lowerIsBetter: true },
          { name: "lost-time-ms", unit: "ms", lowerIsBetter: true },
          { name: "engine-ms", unit: "ms", lowerIsBetter: true },
          { name: "killed-at-ms", unit: "ms", lowerIsBetter: true },
          { name: "checkpoint-at-kill", unit: "id" },
          { name: "replayed-share", unit: "of input", lowerIsBetter: true },
        ],
        goals: [
          { variant: "atleast-kill9", metric: "resumed-ms", atMost: 3000, label: "resumed ≤3 s" },
          { variant: "atleast-kill9", metric: "victim-resumed-ms", atMost: 3000, label: "victim resumed ≤3 s" },
          { variant: "atleast-kill9", metric: "rejoin-ms", atMost: 3000, label: "rejoined ≤3 s" },
          { variant: "atleast-kill9", metric: "lost", atMost: 0, label: "0 lost" },
          { variant: "eo-kill9", metric: "resumed-ms", atMost: 3000, label: "restart → checkpoint ≤3 s" },
          { variant: "eo-kill9", metric: "lost-time-ms", atMost: 3000, label: "time lost ≤3 s" },
        ],
        input: {
          "durable numbers": DURABLE_COUNT,
          "kill at": `${KILL_AT_FRACTION * 100}% in the sink`,
          "eo source": opts.input ?? `generated (seed ${opts.seed})`,
          "eo words": words,
          "eo lines": lines.length,
          "eo checkpoint": "0.1 s",
        },
      }, opts);
    } finally {
      await nc?.close().catch(() => {});
      await nats?.stop();
      await removePath(dir).catch(() => {});
    }
  },
};

export default benchmark;

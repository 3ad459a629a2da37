/**
 * Shared by the distributed benchmarks `recovery` and `scale`: one
 * `ardea submit <script> --containers N --wait -- …` on a local
 * nats-server, with the topology record watched in KV (when each state was
 * first seen) and every output line of submit kept (the master's lines, e.g.
 * "rejoined after N ms", come out on submit's stderr).
 */
import { join } from "node:path";
import { connect, type KV, KvWatchInclude, type NatsConnection } from "nats";
import {
  ardeaRoot,
  type ChildHandle,
  commandFor,
  makeTempDir,
  removePath,
  runtimeName,
  spawnProcess,
} from "../runtime/mod.ts";
import { outputLines } from "../testing/child.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";
import { within } from "../testing/wait.ts";
import { KV_BUCKET, topologyKey } from "../transport/wire/mod.ts";
import type { BenchOptions } from "./harness.ts";
import { readInputFile, writeInputFile } from "./input.ts";
import { countPlain } from "./wordcount_embedded.ts";
import { Records } from "../cluster/records.ts";

const dec = new TextDecoder();

/** What {@link submitRun} hands to its `during` callback. */
export interface RunContext {
  child: ChildHandle;
  /** Output lines so far (grows while the run goes on). */
  lines: string[];
  /** performance.now() when each topology state was first seen in KV. */
  seen: Record<string, number>;
  /** Resolves once the record is FINISHED, FAILED or KILLED. */
  ended: Promise<void>;
  t0: number;
}

/** The outcome of one submit. */
export interface SubmitResult<D> {
  code: number | null;
  lines: string[];
  seen: Record<string, number>;
  /** Seconds of the "ended FINISHED after X s" line of submit, if any. */
  masterSec?: number;
  t0: number;
  tExit: number;
  /** What `during` returned. */
  during: D;
}

/** Options of {@link submitRun}. */
export interface SubmitOptions<D> {
  nc: NatsConnection;
  kv: KV;
  url: string;
  /** Topology script, relative to the repository root. */
  script: string;
  /** Topology name the script submits. */
  topology: string;
  containers: number;
  /** Arguments after `--` (the script's own). */
  scriptArgs: string[];
  timeoutMs: number;
  /** Runs alongside the submit (e.g. kills a container); awaited before returning. */
  during?: (ctx: RunContext) => Promise<D>;
  /** Called in the KV watcher the moment each topology state is first seen (e.g. to sample CPU right then). */
  onState?: (state: string) => void;
}

/**
 * One `ardea submit <script> --containers N --runtime <this> --wait -- …`
 * with `ARDEA_NATS_URL` set; bounded by `timeoutMs` (the child is killed
 * and the promise rejects past it).
 */
export async function submitRun<D = undefined>(o: SubmitOptions<D>): Promise<SubmitResult<D>> {
  const seen: Record<string, number> = {};
  const watch = await o.kv.watch({ key: topologyKey(o.topology), include: KvWatchInclude.UpdatesOnly });
  let terminal!: () => void;
  const ended = new Promise<void>((r) => (terminal = r));
  const watching = (async () => {
    for await (const e of watch) {
      if (e.operation !== "PUT") continue;
      const rec = JSON.parse(dec.decode(e.value)) as { state: string };
      if (!(rec.state in seen)) {
        seen[rec.state] = performance.now();
        o.onState?.(rec.state);
      }
      if (rec.state === "FINISHED" || rec.state === "FAILED" || rec.state === "KILLED") terminal();
    }
  })();
  const { cmd, args } = commandFor(runtimeName(), join(ardeaRoot(), "bin", "ardea.mjs"), [
    "submit",
    o.script,
    "--containers",
    String(o.containers),
    "--runtime",
    runtimeName(),
    "--wait",
    "--",
    ...o.scriptArgs,
  ]);
  const t0 = performance.now();
  const child = spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe", env: { ARDEA_NATS_URL: o.url } });
  const out = outputLines(child, 5000);
  try {
    const during = o.during?.({ child, lines: out.lines, seen, ended, t0 }) ?? Promise.resolve(undefined as D);
    const exit = await within(child.exited, o.timeoutMs, `ardea submit ${o.script}`);
    const tExit = performance.now();
    await out.done;
    const d = await within(during, 75_000, "the benchmark's watcher");
    if (exit.code === 0) await within(ended, 5000, "FINISHED in KV").catch(() => {});
    const m = out.lines.map((l) => /ended FINISHED after ([0-9.]+) s/.exec(l)).find((x) => x !== null);
    return { code: exit.code, lines: out.lines, seen, masterSec: m ? Number(m[1]) : undefined, t0, tExit, during: d };
  } catch (e) {
    child.kill("SIGKILL");
    // Its containers stop with it (they watch their parent); its records go too,
    // so the next run of the same topology name starts clean.
    await child.exited.catch(() => {});
    await Records.bind(o.nc).then((r) => r?.deleteTopology(o.topology)).catch(() => {});
    throw e;
  } finally {
    watch.stop();
    terminal();
    await watching.catch(() => {});
  }
}

/** What a word-count benchmark over NATS starts from ({@link withNatsWordCount}). */
export interface NatsWordCount {
  /** Temporary folder (removed afterwards). */
  dir: string;
  /** The input file and its lines. */
  input: string;
  lines: string[];
  /** The true counts, and how many words. */
  reference: Map<string, number>;
  words: number;
  /** A fresh nats-server with JetStream, a connection to it and the Ardea KV bucket. */
  url: string;
  /** The nats-server's process id. */
  natsPid: number;
  nc: NatsConnection;
  kv: KV;
}

/**
 * Runs `fn` with the input (`--input`, or generated into a temporary folder)
 * and its true counts, a fresh nats-server and the Ardea KV bucket; stops
 * and removes them afterwards.
 *
 * @example
 * ```ts
 * import { type BenchOptions, measure, type MeasureSpec } from "./harness.ts";
 * declare const opts: BenchOptions, specFor: (url: string, input: string) => MeasureSpec;
 * const report = await withNatsWordCount("scale", opts, ({ input, url }) => measure(specFor(url, input), opts));
 * ```
 */
export async function withNatsWordCount<T>(
  name: string,
  opts: BenchOptions,
  fn: (s: NatsWordCount) => Promise<T>,
): Promise<T> {
  const dir = await makeTempDir(`ardea-bench-${name}-`);
  let nats: NatsHandle | undefined;
  let nc: NatsConnection | undefined;
  try {
    const input = opts.input ?? join(dir, "input.txt");
    if (opts.input === undefined) writeInputFile(input, { words: opts.words, seed: opts.seed });
    const lines = readInputFile(input);
    const reference = countPlain(lines);
    let words = 0;
    for (const n of reference.values()) words += n;
    nats = await startNats({ servers: 1, jetstream: true });
    const url = nats.urls[0]!;
    const natsPid = nats.servers[0]!.process.pid;
    if (natsPid === undefined) throw new Error("nats-server has no pid");
    nc = await connect({ servers: url, name: `bench ${name}` });
    await Records.open(nc); // creates the bucket, so a watch can bind to it
    const kv = await nc.jetstream().views.kv(KV_BUCKET);
    return await fn({ dir, input, lines, reference, words, url, natsPid, nc, kv });
  } finally {
    await nc?.close().catch(() => {});
    await nats?.stop();
    await removePath(dir).catch(() => {});
  }
}

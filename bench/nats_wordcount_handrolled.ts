/**
 * The hand-rolled baseline of `wordcount-nats`: the word count a user would
 * write directly with nats.js and msgpackr, no framework, no acking. One
 * process per role, started by bench/wordcount_nats.ts:
 *
 *   source ──"<p>.lines" (queue group "split", msgpack batches of 100 lines)──▶ split ×2
 *   split  ──"<p>.words.<k>" (msgpack word batches, k = hash(word) mod counters)──▶ count ×counters
 *   count  ──"<p>.result" (msgpack {counter, total, counts: [[word, n], …]})──▶ bench
 *
 * Ending: every split worker publishes exactly one word batch per partition
 * for every line batch it takes (empty if no word hashed there), so counter
 * k is done once it has seen as many word batches as the source sent line
 * batches; the source tells the counters that number in its end marker on
 * "<p>.end". Each worker announces itself on "<p>.ready" once subscribed;
 * the source starts reading the file when "<p>.go" arrives.
 *
 *   node --import ./runtime/node_loader.mjs bench/nats_wordcount_handrolled.ts \
 *     ROLE(source|split|count) --nats URL --prefix P [--file F] [--index K] [--counters N]
 *
 * @module
 */
import { createReadStream } from "node:fs";
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { pack, unpack } from "msgpackr";
import { connect, type NatsConnection } from "nats";

/** Lines per message from the source. */
export const LINES_PER_BATCH = 100;
/** Source flushes (waits for the server's PONG) every this many batches, so it never runs far ahead of the socket. */
const FLUSH_EVERY = 64;

/** FNV-1a over UTF-16 code units: the partition of a word. */
export function partitionOf(word: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

async function ready(nc: NatsConnection, prefix: string, role: string): Promise<void> {
  await nc.flush();
  nc.publish(`${prefix}.ready`, pack(role));
}

async function source(nc: NatsConnection, prefix: string, file: string): Promise<void> {
  const go = nc.subscribe(`${prefix}.go`, { max: 1 });
  await ready(nc, prefix, "source");
  for await (const _ of go) break;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let batch: string[] = [];
  let batches = 0;
  let sentLines = 0;
  const send = async () => {
    nc.publish(`${prefix}.lines`, pack(batch));
    sentLines += batch.length;
    batch = [];
    if (++batches % FLUSH_EVERY === 0) await nc.flush();
  };
  for await (const line of lines) {
    if (line.length === 0) continue;
    batch.push(line);
    if (batch.length === LINES_PER_BATCH) await send();
  }
  if (batch.length > 0) await send();
  nc.publish(`${prefix}.end`, pack({ batches, lines: sentLines }));
  await nc.flush();
}

async function split(nc: NatsConnection, prefix: string, counters: number): Promise<void> {
  const ws = /\s+/;
  const sub = nc.subscribe(`${prefix}.lines`, {
    queue: "split",
    callback: (_err, m) => {
      const lines = unpack(m.data) as string[];
      const out: string[][] = [];
      for (let k = 0; k < counters; k++) out.push([]);
      for (const line of lines) {
        for (const w of line.split(ws)) if (w !== "") out[partitionOf(w, counters)]!.push(w);
      }
      for (let k = 0; k < counters; k++) nc.publish(`${prefix}.words.${k}`, pack(out[k]));
    },
  });
  const stop = nc.subscribe(`${prefix}.stop`, { max: 1 });
  await ready(nc, prefix, "split");
  for await (const _ of stop) break;
  sub.unsubscribe();
}

async function count(nc: NatsConnection, prefix: string, index: number): Promise<void> {
  const counts = new Map<string, number>();
  let seen = 0;
  let total = 0;
  let expected = -1;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const check = () => {
    if (expected >= 0 && seen === expected) finish();
  };
  const words = nc.subscribe(`${prefix}.words.${index}`, {
    callback: (_err, m) => {
      const ws = unpack(m.data) as string[];
      for (const w of ws) counts.set(w, (counts.get(w) ?? 0) + 1);
      total += ws.length;
      seen++;
      check();
    },
  });
  const end = nc.subscribe(`${prefix}.end`, {
    max: 1,
    callback: (_err, m) => {
      expected = (unpack(m.data) as { batches: number }).batches;
      check();
    },
  });
  await ready(nc, prefix, "count");
  await done;
  words.unsubscribe();
  end.unsubscribe();
  nc.publish(`${prefix}.result`, pack({ counter: index, total, counts: [...counts] }));
  await nc.flush();
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      nats: { type: "string" },
      prefix: { type: "string" },
      file: { type: "string" },
      index: { type: "string", default: "0" },
      counters: { type: "string", default: "2" },
    },
  });
  const role = positionals[0];
  if (!values.nats || !values.prefix || !["source", "split", "count"].includes(role ?? "")) {
    throw new Error(
      "usage: nats_wordcount_handrolled.ts source|split|count --nats URL --prefix P [--file F] [--index K] [--counters N]",
    );
  }
  const nc = await connect({ servers: values.nats, name: `handrolled ${role}` });
  try {
    if (role === "source") await source(nc, values.prefix, values.file!);
    else if (role === "split") await split(nc, values.prefix, Number(values.counters));
    else await count(nc, values.prefix, Number(values.index));
  } finally {
    await nc.drain();
  }
}

if (import.meta.main ?? process.argv[1]?.endsWith("nats_wordcount_handrolled.ts")) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}

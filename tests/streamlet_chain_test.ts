// The fused chain's generated code and what the compiler does for speed: a
// chain feeding a reduceByKey sends the key along (fields grouping on it),
// an array source is read by index (its index is the message id, replayed
// on failure), chains that share no code keep their own functions.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { Builder, StreamletConfig as Config } from "../mod.ts";
import { Runner } from "../streamlet/runner.ts";
import { compile } from "../streamlet/compile.ts";

async function run(b: Builder, mode: "ATMOST_ONCE" | "ATLEAST_ONCE"): Promise<void> {
  const config = Config.newBuilder().setDeliverySemantics(mode).build();
  const handle = await new Runner().run(`chain-${mode}`, config, b, { handleSignals: false });
  assert.is((await handle.done).state, "FINISHED");
}

test("a chain feeding countByKey: object keys equal by structure meet in one task, counts exact (3 partitions)", async () => {
  const input = Array.from({ length: 300 }, (_, i) => i);
  const last = new Map<string, number>();
  const b = Builder.newBuilder();
  b.newSource(input).setNumPartitions(3)
    .map((i) => ({ k: i % 7 === 0 ? "__proto__" : String(i % 5), n: i }))
    .filter((o) => o.n % 2 === 0)
    .countByKey((o) => ({ key: o.k })).setNumPartitions(3)
    .consume((kv) => {
      const k = JSON.stringify(kv.getKey());
      last.set(k, Math.max(last.get(k) ?? 0, kv.getValue()));
    });
  const subs = compile(b).subscribers("map-2+filter-3", "default");
  assert.equal(subs.map((s) => [s.bolt.id, s.input.grouping.type]), [["countByKey-4", "fields"]]);
  await run(b, "ATMOST_ONCE");
  const want = new Map<string, number>();
  for (const i of input) {
    if (i % 2 !== 0) continue;
    const k = JSON.stringify({ key: i % 7 === 0 ? "__proto__" : String(i % 5) });
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  assert.equal([...last].sort(), [...want].sort());
});

test("an array source replays a failed element by its index (ATLEAST_ONCE, 2 partitions)", async () => {
  const input = Array.from({ length: 200 }, (_, i) => i);
  const seen = new Set<number>();
  const done: number[] = [];
  const b = Builder.newBuilder();
  b.newSource(input).setNumPartitions(2).map((x) => x * 2).consume((x) => {
    if (x % 10 === 0 && !seen.has(x)) {
      seen.add(x);
      return Promise.reject(new Error("once"));
    }
    done.push(x);
  });
  await run(b, "ATLEAST_ONCE");
  assert.is(seen.size, 40);
  assert.equal(done.sort((a, c) => a - c), input.map((i) => i * 2));
});

test("two chains of the same shape keep their own functions; a sink returning null is not awaited", async () => {
  const a: number[] = [], c: number[] = [];
  const b = Builder.newBuilder();
  b.newSource([1, 2, 3]).map((x) => x + 1).filter((x) => x > 2).consume((x) => void a.push(x));
  b.newSource([1, 2, 3]).map((x) => x * 10).filter((x) => x < 25).consume((x) => {
    c.push(x);
    return null as unknown as void;
  });
  await run(b, "ATLEAST_ONCE");
  assert.equal(a.sort(), [3, 4]);
  assert.equal(c.sort(), [10, 20]);
});
test.run();

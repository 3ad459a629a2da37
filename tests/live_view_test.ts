// The live view of `ardea run` / `ardea submit --wait`: the table renderer is
// a pure function of stats snapshots; LiveView is driven with a fake clock.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import {
  componentRows,
  formatMs,
  liveTable,
  LiveView,
  measureRates,
  renderTable,
  statusLine,
  sumStats,
} from "../cli/live_view.ts";
import type { ComponentSnapshot, StatsSnapshot } from "../metrics/mod.ts";

function component(kind: "spout" | "bolt", o: Partial<ComponentSnapshot> = {}): ComponentSnapshot {
  return {
    kind,
    tasks: 2,
    emitted: 0,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    pending: 0,
    restarts: 0,
    errors: 0,
    lastError: null,
    completeLatencyMs: 0,
    queued: 0,
    ...o,
  };
}

const latency = (p99Ms: number) => ({ count: 10, meanMs: 1, p50Ms: 1, p99Ms, p999Ms: p99Ms, maxMs: p99Ms });

function snapshot(name: string, emitted: number, o: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    name,
    state: "RUNNING",
    uptimeMs: 10_000,
    emitted: emitted * 4,
    executed: emitted * 3,
    acked: 900,
    failed: 3,
    timedOut: 0,
    pending: 64,
    restarts: 0,
    backpressure: false,
    backpressureEpisodes: 0,
    backpressureMs: 0,
    components: {
      lines: component("spout", { emitted, acked: 900, failed: 3, completeLatency: latency(12.5) }),
      split: component("bolt", {
        tasks: 4,
        executed: emitted,
        emitted: emitted * 3,
        acked: emitted,
        executeLatency: latency(0.0421),
      }),
      count: component("bolt", { executed: emitted * 3, acked: emitted * 3, executeLatency: null }),
    },
    ...o,
  };
}

test("measureRates: counters that stop coming (NATS away) are stale after 5 s: rate 0 and 'no reports for N s', not the last rate", () => {
  const at = (uptimeMs: number, emitted: number) => snapshot("wc", emitted, { uptimeMs });
  const t0 = 1_000_000;
  const a = measureRates([at(10_000, 1000)], undefined, 0, t0);
  const b = measureRates([at(11_000, 3000)], a, 0, t0 + 1000);
  assert.is(b.get("wc/lines")!.ratePerSec, 2000);
  // The same report again and again: the rate stands for a while…
  assert.is(measureRates([at(11_000, 3000)], b, 0, t0 + 4000).get("wc/lines")!.ratePerSec, 2000);
  // …and past 5 s without a newer one it is stale.
  const stale = measureRates([at(11_000, 3000)], b, 0, t0 + 8000);
  assert.is(stale.get("wc/lines")!.ratePerSec, 0);
  assert.is(stale.get("wc")!.staleMs, 7000);
  assert.match(statusLine(sumStats([at(11_000, 3000)]), 0, "wc", 200, stale.get("wc")!.staleMs), "no reports for 7 s");
  assert.not.match(statusLine(sumStats([at(11_000, 3000)]), 0, "wc", 200, stale.get("wc")!.staleMs), "tuples/s");
  // Reports again: a rate again.
  const back = measureRates([at(12_000, 4000)], stale, 0, t0 + 9000);
  assert.is(back.get("wc/lines")!.ratePerSec, 1000 / 1);
  assert.is(back.get("wc")!.staleMs, undefined);
});

test("measureRates and componentRows: rates over the snapshots' uptime, steady between reports; p99 per kind; backpressure", () => {
  const at = (uptimeMs: number, emitted: number, o: Partial<StatsSnapshot> = {}) =>
    snapshot("wc", emitted, { uptimeMs, ...o });
  const first = measureRates([at(10_000, 1000)]);
  assert.is(first.get("wc/lines")!.ratePerSec, 100, "first: 1000 emits over 10 s of uptime");
  assert.is(first.get("wc")!.ratePerSec, 400, "the topology: all its emits");
  const next = measureRates([at(10_500, 2000)], first, 0);
  assert.is(next.get("wc/lines")!.ratePerSec, 2000, "1000 more emits in 0.5 s");
  assert.is(next.get("wc/count")!.ratePerSec, 6000, "bolts: executes per second");
  // No newer report, or a count that went down: the rate and its base stay.
  const same = measureRates([at(10_500, 2000)], next, 0);
  assert.equal(same.get("wc/lines"), next.get("wc/lines"));
  assert.equal(measureRates([at(11_000, 1500)], same, 0).get("wc/lines"), next.get("wc/lines"));
  assert.is(measureRates([at(11_500, 2500)], same, 0).get("wc/lines")!.ratePerSec, 500);
  // Over a span of 3 s: reports that come in steps (every second, at uneven uptimes) give a steady rate.
  let r = measureRates([at(0.001, 0)]);
  const seen: number[] = [];
  for (let i = 1; i <= 20; i++) {
    r = measureRates([at(i * 1000 + (i % 2 ? 10 : 0), i * 1000)], r); // 1000 emits a second
    if (i >= 4) seen.push(r.get("wc/lines")!.ratePerSec);
  }
  assert.ok(seen.every((x) => Math.abs(x - 1000) < 10), seen.join(" "));
  const rows = componentRows([at(10_500, 2000, { backpressure: true, backpressureBy: "count" })], next);
  const by = new Map(rows.map((r) => [r.name, r]));
  assert.equal(rows.map((r) => r.name), ["lines", "split", "count"]);
  assert.is(by.get("lines")!.ratePerSec, 2000);
  assert.is(by.get("lines")!.p99Ms, 12.5, "spouts show the complete latency");
  assert.is(by.get("split")!.p99Ms, 0.0421, "bolts show the execute latency");
  assert.is(by.get("count")!.p99Ms, null);
  assert.equal(rows.map((r) => r.backpressure), ["held", "", "ON"]);
  assert.is(componentRows([at(1, 1)])[0]!.ratePerSec, 0, "no rates given: 0");
  const two = [snapshot("a", 1), snapshot("b", 1)];
  assert.equal(componentRows(two, measureRates(two)).map((r) => r.name), [
    "a/lines",
    "a/split",
    "a/count",
    "b/lines",
    "b/split",
    "b/count",
  ]);
  // Spouts come first whatever the snapshot's order.
  const s = snapshot("wc", 1);
  const reordered = { ...s, components: { count: s.components.count!, lines: s.components.lines! } };
  assert.equal(componentRows([reordered]).map((r) => r.name), ["lines", "count"]);
});

test("renderTable: a header and a row per component within the width; kind and tasks go first", () => {
  const big = [snapshot("wc", 1_234_567, { backpressure: true, backpressureBy: "split" })];
  const rows = componentRows(big, measureRates(big));
  const wide = renderTable(rows, 120);
  assert.is(wide.length, 4);
  assert.match(wide[0]!, /^component +kind +tasks +rate\/s +acked +failed +p99 ms +bp$/);
  assert.match(wide[1]!, /^lines +spout +2 +123k +900 +3 +12\.5 +held$/);
  assert.match(wide[2]!, /^split +bolt +4 +123k +1\.23M +0 +0\.04 +ON$/);
  assert.match(wide[3]!, /^count +bolt +2 +370k +3\.7M +0 +-$/);
  const narrow = renderTable(rows, 50);
  assert.ok(narrow.every((l) => l.length <= 50), narrow.join("\n"));
  assert.not.match(narrow[0]!, /kind/);
  assert.match(narrow[0]!, /rate\/s.*acked.*failed.*p99 ms/);
  for (const w of [30, 12]) assert.ok(renderTable(rows, w).every((l) => l.length <= w), `width ${w}`);
  const many = renderTable(rows, 120, 2);
  assert.is(many.length, 4);
  assert.is(many[3], "… 1 more component(s)");
  const long = renderTable(
    componentRows([snapshot("wc", 1, { components: { ["x".repeat(60)]: component("bolt") } })]),
    120,
  );
  assert.match(long[1]!, /^x{27}… /);
});

test("liveTable: the status line of the totals, then the table", () => {
  const s = snapshot("wc", 1000, { backpressure: true });
  const lines = liveTable([s], { ratePerSec: 52_000, rows: componentRows([s], measureRates([s])), width: 200 });
  assert.match(lines[0]!, /^wc {2}0:10 {2}52k tuples\/s {2}acked 900 {2}failed 3 {2}in flight 64 {2}backpressure ON/);
  assert.is(lines.length, 5);
  assert.equal([formatMs(0.1234), formatMs(45.67), formatMs(1234.4), formatMs(12_345)], [
    "0.12",
    "45.7",
    "1234",
    "12.3s",
  ]);
});

test("LiveView: redraws the table in place, erases it on stop; plain lines without a terminal", () => {
  let stats = [snapshot("wc", 1000)];
  const out: string[] = [];
  const view = new LiveView({ stats: () => stats, write: (x) => out.push(x), columns: () => 100 });
  view.draw();
  assert.ok(out[0]!.startsWith("\r\x1b[2K"), JSON.stringify(out[0]));
  assert.is(out[0]!.split("\n").length, 5);
  stats = [snapshot("wc", 7000, { uptimeMs: 13_000 })];
  view.draw();
  assert.ok(out[1]!.startsWith("\r\x1b[4A\x1b[J"), "moves up over the 5 lines drawn and erases them");
  assert.match(out[1]!, /lines +spout +2 +2k /, "6000 emits in the last 3 s");
  // deno-lint-ignore no-control-regex
  assert.match(out[1]!, /\x1b\[Jwc {2}0:13 {2}8k tuples\/s/, "the status line's rate too");
  view.clear();
  assert.is(out[2], "\r\x1b[4A\x1b[J");
  view.clear();
  assert.is(out.length, 3, "nothing drawn, nothing erased");
  view.stop();

  const plain: string[] = [];
  const log = new LiveView({
    stats: () => [snapshot("wc", 1000), snapshot("other", 10)],
    write: (x) => plain.push(x),
    columns: () => 200,
    mode: "plain",
  });
  log.draw();
  const lines = plain.join("").split("\n");
  assert.is(lines.length, 3);
  assert.match(lines[0]!, /^ardea: wc {2}0:10 {2}400 tuples\/s/);
  assert.match(lines[1]!, /^ardea: other /);
  assert.is(lines[2], "");
  // deno-lint-ignore no-control-regex
  assert.not.match(plain.join(""), /\x1b/, "no escape codes in a log");
  log.clear();
  assert.is(plain.length, 1);
});

test.run();

// The metrics a container publishes (transport/wire/metrics.ts) and the
// engine's stats snapshot (metrics/snapshot.ts) name the same fields: at
// compile time both ways (a field added to one only fails `tsc`, naming its
// path), and at run time against a real snapshot with every optional part
// filled but Storm 1 metrics, which need a run of a bucket's length (a field the engine emits that the schema does not declare fails
// here, naming its path). The same compile-time check keeps the logical
// plan a topology record carries (transport/wire/records.ts) and
// metrics/plan.ts `LogicalPlan` alike.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import type { z } from "zod";
import {
  BaseBasicBolt,
  type BasicOutputCollector,
  Fields,
  iterableSpout,
  type OutputFieldsDeclarer,
  TopologyBuilder,
  type TopologyConfig,
  type TopologyContext,
  type Tuple,
} from "../mod.ts";
import { Container } from "../engine/container.ts";
import { parseConfig } from "../topology/config.ts";
import { yieldNow } from "../runtime/mod.ts";
import { ErrorLog, metricsReport } from "../cluster/metrics_report.ts";
import type { ComponentSnapshot, TaskSnapshot } from "../metrics/snapshot.ts";
import type { LogicalPlan } from "../metrics/plan.ts";
import { type ContainerMetrics, decodeMetrics, encodeMetrics, type TopologyRecord } from "../transport/wire/mod.ts";
import { containerMetricsSchema } from "../transport/wire/metrics.ts";

// ---- compile time: the same fields, at every depth ----

/** The declared keys of `T` (not those of an index signature: the schemas pass unknown fields through). */
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: 0 };
type Obj<T> = Extract<NonNullable<T>, object>;
/**
 * The paths where `A` and `B` differ in their fields, recursively through
 * objects, records (`[*]`) and arrays (`[]`); never when they agree.
 */
type FieldDiff<A, B, P extends string> = [Obj<A>] extends [never] ? never
  : [Obj<B>] extends [never] ? never
  : Obj<A> extends readonly (infer EA)[] ? (Obj<B> extends readonly (infer EB)[] ? FieldDiff<EA, EB, `${P}[]`> : P)
  : [KnownKeys<Obj<A>> | KnownKeys<Obj<B>>] extends [never]
    ? (string extends keyof Obj<A>
      ? (string extends keyof Obj<B>
        ? FieldDiff<Obj<A>[string & keyof Obj<A>], Obj<B>[string & keyof Obj<B>], `${P}[*]`>
        : P)
      : never)
  : {
    [K in KnownKeys<Obj<A>> | KnownKeys<Obj<B>>]: K extends KnownKeys<Obj<A>>
      ? K extends KnownKeys<Obj<B>> ? FieldDiff<Obj<A>[K], Obj<B>[K], `${P}.${K & string}`>
      : `${P}.${K & string} (only in ${"the wire"})`
      : `${P}.${K & string} (only in ${"the snapshot"})`;
  }[KnownKeys<Obj<A>> | KnownKeys<Obj<B>>];
/** `true` when nothing differs; else the differing paths (the compile error names them). */
type Agree<D> = [D] extends [never] ? true : D;

type WireTask = ContainerMetrics["tasks"][string];
type WireComponent = ContainerMetrics["components"][string];
/** `lastErrorStack` is the one field the report adds (cluster/metrics_report.ts), from the container's error log. */
type ReportedComponent = ComponentSnapshot & { lastErrorStack?: string | null };

const taskFieldsAgree: Agree<FieldDiff<WireTask, TaskSnapshot, "task">> = true;
const componentFieldsAgree: Agree<FieldDiff<WireComponent, ReportedComponent, "component">> = true;
const planFieldsAgree: Agree<FieldDiff<TopologyRecord["plan"], LogicalPlan, "plan">> = true;

test("the field check itself sees a field added to one side only, at any depth", () => {
  type Added = ComponentSnapshot & { allTime?: { executeLatency?: { extraMs: number } | null } };
  const differs: Agree<FieldDiff<WireComponent, Added & { lastErrorStack?: string | null }, "component">> =
    "component.allTime.executeLatency.extraMs (only in the snapshot)";
  const wireOnly: Agree<FieldDiff<WireTask & { extra: number }, TaskSnapshot, "task">> =
    "task.extra (only in the wire)";
  assert.is(differs, "component.allTime.executeLatency.extraMs (only in the snapshot)");
  assert.is(wireOnly, "task.extra (only in the wire)");
  assert.ok(taskFieldsAgree && componentFieldsAgree && planFieldsAgree);
});

// ---- run time: what the engine really emits is declared by the schema ----

/** Unwraps optional, nullable and default wrappers. */
function inner(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { unwrap?: () => z.ZodType; def: { type: string; innerType?: z.ZodType } };
  while (s.def.type === "optional" || s.def.type === "nullable" || s.def.type === "default") {
    s = (s.def.innerType ?? s.unwrap!()) as typeof s;
  }
  return s;
}

/** Paths of `value` the schema does not declare (passed through unchecked). */
function undeclared(schema: z.ZodType, value: unknown, path: string, out: string[] = []): string[] {
  if (value === null || value === undefined) return out;
  const s = inner(schema) as z.ZodType & {
    def: {
      type: string;
      shape?: Record<string, z.ZodType>;
      valueType?: z.ZodType;
      element?: z.ZodType;
      options?: z.ZodType[];
    };
  };
  const def = s.def;
  if (def.type === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const field = def.shape![k];
      if (field === undefined) out.push(`${path}.${k}`);
      else undeclared(field, v, `${path}.${k}`, out);
    }
  } else if (def.type === "record") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      undeclared(def.valueType!, v, `${path}[${k}]`, out);
    }
  } else if (def.type === "array") {
    (value as unknown[]).forEach((v, i) => undeclared(def.element!, v, `${path}[${i}]`, out));
  } else if (def.type === "union") {
    const fits = def.options!.find((o) => inner(o).def.type === (typeof value === "object" ? "record" : typeof value));
    if (fits !== undefined) undeclared(fits, value, path, out);
  }
  return out;
}

let thrown = false;

/** Registers a user metric of each kind but histograms, and throws once. */
class Words extends BaseBasicBolt {
  override prepare(_conf: TopologyConfig, ctx: TopologyContext) {
    ctx.registerCounter("words");
    ctx.registerGauge("one", () => 1);
    ctx.registerMeter("marks");
  }
  execute(t: Tuple, c: BasicOutputCollector) {
    if (!thrown) {
      thrown = true;
      throw new Error("once");
    }
    for (const w of t.getString(0).split(" ")) c.emit([w]);
  }
  declareOutputFields(d: OutputFieldsDeclarer) {
    d.declare(new Fields("word"));
  }
}

/** A user histogram. */
class Lengths extends BaseBasicBolt {
  lengths!: ReturnType<TopologyContext["registerHistogram"]>;
  override prepare(_conf: TopologyConfig, ctx: TopologyContext) {
    this.lengths = ctx.registerHistogram("length");
  }
  execute(t: Tuple) {
    this.lengths.update(t.getString(0).length);
  }
  declareOutputFields() {}
}

test("a container's metrics report declares every field of the engine's snapshot", async () => {
  const b = new TopologyBuilder();
  b.setSpout(
    "lines",
    iterableSpout(() => Array.from({ length: 300 }, (_, i) => `a${i % 7} b${i % 3}`), { fields: ["line"] }),
  );
  b.setBolt("split", new Words(), 2).shuffleGrouping("lines");
  b.setBolt("length", new Lengths()).shuffleGrouping("split");
  const errors = new ErrorLog();
  const container = new Container({
    name: "wire-fields",
    topology: b.createTopology(),
    config: parseConfig({
      "topology.reliability.mode": "ATLEAST_ONCE",
      "topology.testing.always.try.serialize": false,
    }),
    yielder: yieldNow,
    log: () => {},
    onError: errors.record,
  });
  container.start();
  const summary = await container.done;
  assert.is(summary.state, "FINISHED");
  const stats = container.stats({ buckets: true });
  // Every optional part is there, so that the walk below sees it.
  const split = stats.components.split!;
  assert.ok(
    split.executeLatency && split.latencyBuckets?.executeLatency && split.allTime?.processLatency,
    JSON.stringify(split),
  );
  assert.ok(
    split.userMetrics?.counters && split.userMetrics.gauges && split.userMetrics.meters,
    JSON.stringify(split.userMetrics),
  );
  assert.ok(
    stats.components.length!.userMetrics?.histograms?.length?.buckets,
    JSON.stringify(stats.components.length!.userMetrics),
  );
  const spoutTask = Object.values(stats.tasks!).find((t) => t.component === "lines");
  assert.ok(
    stats.components.lines!.completeLatency && spoutTask?.allTime?.completeLatency,
    JSON.stringify(stats.tasks),
  );
  assert.ok(split.lastError !== null && split.errors === 1, JSON.stringify(split));

  const report = metricsReport(
    { topology: "wire-fields", container: 0, epoch: 1, pid: 1, host: "h" },
    stats,
    { dropped: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 },
    "",
    errors,
  );
  assert.equal(undeclared(containerMetricsSchema, report, "metrics"), []);
  // And the report survives the wire as it is.
  assert.equal(decodeMetrics(encodeMetrics(report)), report);
});

test("a field the schema does not declare is found by the walk", () => {
  const base = {
    component: "x",
    kind: "bolt",
    emitted: 0,
    executed: 0,
    acked: 0,
    failed: 0,
    timedOut: 0,
    queued: 0,
    restarts: 0,
    errors: 0,
    capacity: 0,
  };
  const taskSchema = containerMetricsSchema.shape.tasks;
  assert.equal(
    undeclared(taskSchema, {
      "1": { ...base, allTime: { executeLatency: { count: 1, sumMs: 1, meanMs: 1, maxMs: 1 } }, newCounter: 3 },
    }, "tasks"),
    ["tasks[1].newCounter"],
  );
  assert.equal(
    undeclared(taskSchema, {
      "1": { ...base, userMetrics: { histograms: { h: { count: 0, sum: 0, window: null, extra: 1 } } } },
    }, "tasks"),
    [
      "tasks[1].userMetrics.histograms[h].extra",
    ],
  );
});

test.run();

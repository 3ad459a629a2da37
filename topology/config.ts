/**
 * Topology configuration: Storm's keys and Ardea's own, parsed with zod once,
 * at submit, into a typed record. Unknown keys are kept for user components;
 * a known key with a wrong type or value is a `ConfigError` naming it.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError } from "./errors.ts";

/** Delivery guarantees, as in Heron. */
export const ReliabilityMode = {
  ATMOST_ONCE: "ATMOST_ONCE",
  ATLEAST_ONCE: "ATLEAST_ONCE",
  EFFECTIVELY_ONCE: "EFFECTIVELY_ONCE",
} as const;
/** One of {@link ReliabilityMode}. */
export type ReliabilityMode = typeof ReliabilityMode[keyof typeof ReliabilityMode];

const posInt = z.number().int().positive();

/**
 * The longest duration a key may ask for: 2^31-1 ms (about 24.8 days), the
 * most `setTimeout`/`setInterval` can wait. Longer delays are not refused by
 * them but become 1 ms: a tick or a checkpoint every millisecond.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;
/** {@link MAX_DURATION_MS} in whole seconds (2147483 s). */
export const MAX_DURATION_SECS = Math.floor(MAX_DURATION_MS / 1000);

const DURATION_LIMIT = "about 24.8 days, the longest timer Ardea can set";
/** A duration in seconds: positive (or ≥ 0) and at most {@link MAX_DURATION_SECS}. */
const secs = (min: "positive" | "nonnegative" = "positive") =>
  (min === "positive" ? z.number().positive() : z.number().nonnegative())
    .max(MAX_DURATION_SECS, `must be at most ${MAX_DURATION_SECS} seconds (${DURATION_LIMIT})`);
/** A duration in milliseconds: positive (or ≥ 0) and at most {@link MAX_DURATION_MS}. */
const ms = (min: "positive" | "nonnegative" = "positive") =>
  (min === "positive" ? z.number().positive() : z.number().nonnegative())
    .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (${DURATION_LIMIT})`);

/** The known keys, their types and defaults. */
const schema = z.object({
  "topology.name": z.string().min(1).optional(),
  "topology.reliability.mode": z.enum(["ATMOST_ONCE", "ATLEAST_ONCE", "EFFECTIVELY_ONCE"]).default("ATLEAST_ONCE"),
  "topology.message.timeout.secs": secs().default(30),
  "topology.max.spout.pending": posInt.default(1024),
  "topology.containers": posInt.default(1),
  "topology.debug": z.boolean().default(false),
  "topology.mailbox.high.watermark": posInt.default(2048),
  "topology.mailbox.low.watermark": posInt.optional(),
  "topology.tick.tuple.freq.secs": secs().optional(),
  "topology.tick.tuple.freq.ms": ms().optional(),
  "topology.supervisor.max.consecutive.failures": posInt.default(20),
  "topology.supervisor.max.restarts": posInt.default(1000),
  "topology.supervisor.restart.window.secs": secs().default(60),
  "topology.supervisor.max.failure.ratio": z.number().gt(0).lte(1).default(0.5),
  "topology.supervisor.backoff.initial.ms": ms("nonnegative").default(1),
  "topology.supervisor.backoff.max.ms": ms("nonnegative").default(200),
  "topology.testing.always.try.serialize": z.boolean().default(false),
  "topology.sleep.spout.wait.strategy.time.ms": ms("nonnegative").default(1),
  "topology.drain.timeout.secs": secs().default(30),
  "topology.stateful.checkpoint.interval.seconds": secs().default(1),
  "topology.stateful.start.clean": z.boolean().default(false),
  /** Ardea: where embedded EFFECTIVELY_ONCE runs keep their checkpoints. */
  "topology.state.dir": z.string().min(1).default(".ardea/state"),
  /** Ardea: committed checkpoints kept (older ones are pruned). */
  "topology.stateful.checkpoints.kept": posInt.default(2),
  /** Ardea: an awaited execute/prepare/open/… pending this long is logged as stuck (0: never). */
  "topology.task.stuck.warn.secs": secs("nonnegative").default(10),
  /** Ardea: … and past this long its instance is restarted as if it had crashed (0: never). */
  "topology.task.stuck.restart.secs": secs("nonnegative").default(60),
  /** Storm: a multilang subprocess silent this long (no reply to a heartbeat or a handshake) is killed. */
  "topology.subprocess.timeout.secs": secs().default(30),
  /** Ardea: wire format of multilang subprocesses ("json": Storm's; "msgpack": consecutive msgpack maps). */
  "topology.multilang.serializer": z.enum(["json", "msgpack"]).default("json"),
  /** Ardea: a multilang subprocess writing more stderr than this within a second is stopped (and restarted). */
  "topology.multilang.stderr.max.bytes.per.sec": posInt.default(1024 * 1024),
  /** Storm: tuples a `ShellBolt` sends its subprocess before it waits for acks. */
  "topology.shellbolt.max.pending": posInt.default(100),
}).passthrough();

/** Storm key → Ardea key, accepted as aliases. */
const ALIASES: Readonly<Record<string, string>> = {
  "topology.workers": "topology.containers",
  "topology.executor.receive.buffer.size": "topology.mailbox.high.watermark",
};

/** A parsed configuration: known keys typed, unknown keys kept as given. */
export type TopologyConfig = z.infer<typeof schema> & Record<string, unknown>;

/** A configuration as users write it: any key, any value. */
export type ConfigInput = Record<string, unknown>;

/** The keys every component may override for itself with `addConfiguration`. */
export const COMPONENT_KEYS: readonly string[] = [
  "topology.max.spout.pending",
  "topology.tick.tuple.freq.secs",
  "topology.tick.tuple.freq.ms",
  "topology.debug",
  "topology.task.stuck.warn.secs",
  "topology.task.stuck.restart.secs",
  "topology.subprocess.timeout.secs",
  "topology.multilang.serializer",
  "topology.multilang.stderr.max.bytes.per.sec",
  "topology.shellbolt.max.pending",
];

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? "an array" : "an object";
}

/**
 * Parses a configuration. Throws a {@link ConfigError} naming the first bad key.
 *
 * @example
 * ```ts
 * const conf = parseConfig({ "topology.max.spout.pending": 500, "my.key": "x" });
 * conf["topology.message.timeout.secs"]; // 30
 * conf["my.key"]; // "x"
 * ```
 */
export function parseConfig(input: ConfigInput = {}): TopologyConfig {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ConfigError("(root)", `expected an object of key → value, got ${describe(input)}`);
  }
  const raw: Record<string, unknown> = { ...input };
  for (const [alias, key] of Object.entries(ALIASES)) {
    if (alias in raw) {
      if (key in raw && raw[key] !== raw[alias]) {
        throw new ConfigError(alias, `is an alias of "${key}", and both are set to different values`);
      }
      raw[key] = raw[alias];
      delete raw[alias];
    }
  }
  for (const [k, v] of Object.entries(raw)) if (v === undefined) delete raw[k];
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0] ?? "(root)");
    throw new ConfigError(key, `${issue.message} (got ${describe(raw[key])})`);
  }
  const conf = r.data as TopologyConfig;
  const hwm = conf["topology.mailbox.high.watermark"];
  const lwm = conf["topology.mailbox.low.watermark"];
  if (lwm !== undefined && lwm >= hwm) {
    throw new ConfigError("topology.mailbox.low.watermark", `must be below the high watermark (${hwm}), got ${lwm}`);
  }
  return conf;
}

/** Edit distance between `a` and `b` (insertions, deletions, substitutions), given up past `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(d);
      if (d < best) best = d;
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** How far (in edits) a mistyped key may be from a known one to be suggested. */
const SUGGEST_DISTANCE = 3;

/**
 * Warnings for a configuration as given: one per key in the `topology.`
 * namespace that Ardea does not know (a known key or a Storm alias), with
 * the nearest known key when one is within a few edits. Such keys still
 * pass through to components, as in Storm; keys outside `topology.` are the
 * user's own and never warned about.
 *
 * @example
 * ```ts
 * configWarnings({ "topology.relability.mode": "ATMOST_ONCE", "my.key": 1 });
 * // ['config key "topology.relability.mode" is not one Ardea knows; it is passed to components as given (did you mean "topology.reliability.mode"?)']
 * ```
 */
export function configWarnings(input: ConfigInput | undefined): string[] {
  if (input === null || typeof input !== "object") return [];
  const known = [...Object.keys(schema.shape), ...Object.keys(ALIASES)];
  const out: string[] = [];
  for (const key of Object.keys(input)) {
    if (!key.startsWith("topology.") || known.includes(key)) continue;
    let nearest: string | undefined;
    let distance = SUGGEST_DISTANCE + 1;
    for (const k of known) {
      const d = editDistance(key, k, SUGGEST_DISTANCE);
      if (d < distance) [nearest, distance] = [k, d];
    }
    out.push(
      `config key "${key}" is not one Ardea knows; it is passed to components as given` +
        (nearest === undefined ? "" : ` (did you mean "${nearest}"?)`),
    );
  }
  return out;
}

/**
 * Checks a component's own configuration (`addConfiguration`,
 * `getComponentConfiguration`): keys of {@link COMPONENT_KEYS} must have the
 * type and range of the topology-wide key; other `topology.*` keys cannot be
 * set per component. Throws a `ConfigError` naming the component and key.
 *
 * @example
 * ```ts
 * checkComponentConfig("spout", { "topology.max.spout.pending": 0 }); // throws
 * ```
 */
export function checkComponentConfig(component: string, conf: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(conf)) {
    if (value === undefined || !key.startsWith("topology.")) continue;
    if (!COMPONENT_KEYS.includes(key)) {
      throw new ConfigError(
        key,
        `cannot be set per component (component "${component}"); allowed: ${COMPONENT_KEYS.join(", ")}`,
      );
    }
    const field = schema.shape[key as keyof typeof schema.shape];
    const r = field.safeParse(value);
    if (!r.success) {
      throw new ConfigError(key, `of component "${component}": ${r.error.issues[0]!.message} (got ${describe(value)})`);
    }
  }
}

/**
 * The tick interval in milliseconds a configuration asks for, if any.
 *
 * @example
 * ```ts
 * tickIntervalMs({ "topology.tick.tuple.freq.secs": 2 }); // 2000
 * ```
 */
export function tickIntervalMs(conf: Record<string, unknown>): number | undefined {
  const ms = conf["topology.tick.tuple.freq.ms"];
  if (typeof ms === "number" && ms > 0) return ms;
  const s = conf["topology.tick.tuple.freq.secs"];
  if (typeof s === "number" && s > 0) return s * 1000;
  return undefined;
}

/**
 * Storm's `Config`: a key → value record with typed setters. A plain object
 * works everywhere a `Config` does.
 *
 * @example
 * ```ts
 * import { submit, TopologyBuilder } from "ardea";
 * declare const builder: TopologyBuilder;
 * const conf = new Config().setDebug(false).setMaxSpoutPending(500).setNumWorkers(2);
 * await submit("wc", conf, builder.createTopology());
 * ```
 */
export class Config {
  [key: string]: unknown;
  static readonly TOPOLOGY_RELIABILITY_MODE = "topology.reliability.mode";
  static readonly TOPOLOGY_MESSAGE_TIMEOUT_SECS = "topology.message.timeout.secs";
  static readonly TOPOLOGY_MAX_SPOUT_PENDING = "topology.max.spout.pending";
  static readonly TOPOLOGY_WORKERS = "topology.workers";
  static readonly TOPOLOGY_CONTAINERS = "topology.containers";
  static readonly TOPOLOGY_DEBUG = "topology.debug";
  static readonly TOPOLOGY_TICK_TUPLE_FREQ_SECS = "topology.tick.tuple.freq.secs";
  static readonly TOPOLOGY_TESTING_ALWAYS_TRY_SERIALIZE = "topology.testing.always.try.serialize";
  static readonly TOPOLOGY_TASK_STUCK_WARN_SECS = "topology.task.stuck.warn.secs";
  static readonly TOPOLOGY_TASK_STUCK_RESTART_SECS = "topology.task.stuck.restart.secs";
  static readonly TOPOLOGY_SUBPROCESS_TIMEOUT_SECS = "topology.subprocess.timeout.secs";
  static readonly TOPOLOGY_MULTILANG_SERIALIZER = "topology.multilang.serializer";
  static readonly TOPOLOGY_SHELLBOLT_MAX_PENDING = "topology.shellbolt.max.pending";
  static readonly TOPOLOGY_MULTILANG_STDERR_MAX_BYTES_PER_SEC = "topology.multilang.stderr.max.bytes.per.sec";

  /** Sets `topology.debug`. */
  setDebug(on: boolean): this {
    this["topology.debug"] = on;
    return this;
  }
  /** Sets `topology.containers` (Storm's workers). */
  setNumWorkers(n: number): this {
    this["topology.containers"] = n;
    return this;
  }
  /** Sets `topology.max.spout.pending`. */
  setMaxSpoutPending(n: number): this {
    this["topology.max.spout.pending"] = n;
    return this;
  }
  /** Sets `topology.message.timeout.secs`. */
  setMessageTimeoutSecs(s: number): this {
    this["topology.message.timeout.secs"] = s;
    return this;
  }
  /** Sets `topology.reliability.mode`. */
  setTopologyReliabilityMode(mode: ReliabilityMode): this {
    this["topology.reliability.mode"] = mode;
    return this;
  }
}

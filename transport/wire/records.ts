/**
 * The control-plane records in the KV bucket `KV_BUCKET` (names.ts): one
 * {@link TopologyRecord} per topology (key `topologyKey`), one
 * {@link ContainerRecord} per container (`containerKey`), and the master's
 * {@link LeaseRecord} (`leaseKey`). Values are JSON; cluster/records.ts reads
 * and writes them.
 *
 * @module
 */
import { z } from "zod";
import { NAME, WIRE_VERSION } from "./names.ts";
import { kindSchema, parseWith, statsSchema } from "./_shared.ts";
import { topologyStateSchema } from "./states.ts";

const groupingJsonSchema = z.object({
  type: z.string(),
  fields: z.array(z.string()).optional(),
  name: z.string().optional(),
});
const logicalPlanSchema = z.object({
  spouts: z.array(z.string()),
  bolts: z.array(z.string()),
  components: z.array(z.object({
    id: z.string(),
    kind: kindSchema,
    parallelism: z.number().int(),
    tasks: z.array(z.number().int()),
    config: z.record(z.string(), z.unknown()),
    streams: z.array(z.object({ id: z.string(), fields: z.array(z.string()), direct: z.boolean() })),
    inputs: z.array(z.object({ component: z.string(), stream: z.string(), grouping: groupingJsonSchema })),
  })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), stream: z.string(), grouping: groupingJsonSchema })),
  taskCount: z.number().int(),
});

/** Task id → container index (a packing plan). */
const packingSchema = z.record(z.string(), z.number().int().nonnegative());
/** Component id → task ids. */
const componentTasksSchema = z.record(z.string(), z.array(z.number().int().positive()));
/** Component id → parallelism. */
const parallelismSchema = z.record(z.string(), z.number().int().positive());

const topologyRecordSchema = z.object({
  version: z.literal(WIRE_VERSION),
  name: z.string().regex(NAME),
  state: topologyStateSchema,
  /**
   * Parsed topology configuration (plain JSON-able values). Submission may
   * add `ardea.jetstream.start.sequences` (component → first stream
   * sequence): spout starts resolved once, at submit, for every container
   * and every rollback (transport/start_sequences.ts `resolveStartSequences`).
   */
  config: z.record(z.string(), z.unknown()),
  /** sha256 (hex) of the bundle in the code object store. */
  bundle: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * sha256 (hex) of the topology's resources folder in the code object
   * store (cluster/resources.ts): what each container extracts and runs its
   * shell components in. Absent: none was shipped.
   */
  resources: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Script arguments the containers pass to the script. */
  args: z.array(z.string()),
  /** Working directory of the submitter (local scheduler: the containers'). */
  cwd: z.string(),
  containers: z.number().int().positive(),
  /** Task id → container index (the packing plan). */
  packing: packingSchema,
  /** Component id → task ids (the logical plan's tasks). */
  components: componentTasksSchema,
  scheduler: z.enum(["local", "pool"]),
  /** Parallelism set by \`ardea update\` (component → tasks), over the script's. */
  parallelism: parallelismSchema.optional(),
  runtime: z.enum(["node", "deno"]),
  /**
   * The logical plan as the tracker shows it (metrics/plan.ts `LogicalPlan`:
   * components with kind, streams, inputs; edges with groupings), written at
   * submission. Tasks follow `components` after an update.
   */
  plan: logicalPlanSchema.optional(),
  ardeaVersion: z.string(),
  submittedAt: z.number(),
  /** Relaunches of every container so far (rollbacks, updates); part of the epoch ({@link runEpoch}). */
  generation: z.number().int().nonnegative().optional(),
  /**
   * EFFECTIVELY_ONCE: the committed checkpoint every container of this
   * generation restores (0: none), chosen by the master once no commit is in
   * flight; absent, each container takes the last committed one.
   */
  restoreFrom: z.number().int().nonnegative().optional(),
  /**
   * A plan `ardea update` asked for, not yet running: the master takes it up
   * when it next relaunches every container, in the same write as the new
   * generation, so that all containers of a generation run one plan (a
   * container starting while the plan changed under it would not).
   */
  nextPlan: z.object({ packing: packingSchema, components: componentTasksSchema, parallelism: parallelismSchema })
    .optional(),
  updatedAt: z.number(),
  error: z.string().optional(),
});

/** The KV record of one topology. */
export type TopologyRecord = z.infer<typeof topologyRecordSchema>;

const containerRecordSchema = z.object({
  version: z.literal(WIRE_VERSION),
  topology: z.string(),
  container: z.number().int().nonnegative(),
  pid: z.number().int(),
  host: z.string(),
  tasks: z.array(z.number().int().positive()),
  startedAt: z.number(),
  heartbeatAt: z.number(),
  restarts: z.number().int().nonnegative(),
  /** Whether the container's queues were above their high-water mark at the last heartbeat. */
  backpressure: z.boolean().optional(),
  /** Counters of the last heartbeat. */
  stats: statsSchema.optional(),
});

/** The KV record of one container of a topology. */
export type ContainerRecord = z.infer<typeof containerRecordSchema>;

/**
 * Parses a topology record read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * import type { KvEntry } from "nats";
 * declare const entry: KvEntry;
 * const rec = parseTopologyRecord(JSON.parse(new TextDecoder().decode(entry.value)));
 * ```
 */
export function parseTopologyRecord(v: unknown): TopologyRecord {
  return parseWith(topologyRecordSchema, v, "topology record");
}

/**
 * Parses a container record read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * declare const text: string;
 * const c = parseContainerRecord(JSON.parse(text));
 * ```
 */
export function parseContainerRecord(v: unknown): ContainerRecord {
  return parseWith(containerRecordSchema, v, "container record");
}

const leaseRecordSchema = z.object({
  /** Who holds the master lease (e.g. `host:pid`). */
  holder: z.string().min(1),
  /** Wall-clock ms after which anyone may take the lease over. */
  expiresAt: z.number(),
});

/**
 * The KV record of a topology's master lease (key {@link leaseKey}). The
 * holder renews it before `expiresAt`; every write is a revision
 * compare-and-set, since nats-server 2.9 has no per-key TTL.
 */
export type LeaseRecord = z.infer<typeof leaseRecordSchema>;

/**
 * Parses a master lease read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * const lease = parseLeaseRecord({ holder: "host:42", expiresAt: Date.now() + 5000 });
 * ```
 */
export function parseLeaseRecord(v: unknown): LeaseRecord {
  return parseWith(leaseRecordSchema, v, "lease record");
}

/**
 * Start positions resolved once per submission: a spout whose first read
 * depends on when it starts (a JetStream spout with `deliverPolicy` `"new"`,
 * `"last"` or `"by_start_time"`) resolves it to a stream sequence before any
 * task runs, so that all its tasks and every rollback agree on it. Used by
 * the embedded `submit` and by `ardea submit`.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import type { TopologyConfig } from "../topology/config.ts";
import type { StormTopology } from "../topology/topology.ts";

/**
 * The configuration key that carries the start sequences resolved at
 * submission (component → first stream sequence) to every task; on a
 * cluster it is stored in the topology record's `config`.
 *
 * @example
 * ```ts
 * import type { TopologyConfig } from "ardea";
 * declare const conf: TopologyConfig;
 * const first = (conf[START_SEQUENCES_KEY] as Record<string, number> | undefined)?.["events"];
 * ```
 */
export const START_SEQUENCES_KEY = "ardea.jetstream.start.sequences";

/**
 * A spout whose start position is resolved once per submission, before any
 * task runs, so that all its tasks and every rollback agree on it.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { TopologyConfig } from "ardea";
 * declare const spout: unknown;
 * declare const id: string;
 * declare const conf: TopologyConfig;
 * declare const nc: NatsConnection;
 * const starts: Record<string, number | undefined> = {};
 * if (isResolvingStart(spout)) starts[id] = await spout.resolveStart(id, conf, nc);
 * ```
 */
export interface ResolvesStart {
  /** The first stream sequence to read on a clean start, or undefined when the start needs no resolving. */
  resolveStart(component: string, conf: TopologyConfig, nc?: NatsConnection): Promise<number | undefined>;
}

/**
 * Whether a component resolves its start at submission ({@link ResolvesStart}).
 *
 * @example
 * ```ts
 * import { JetStreamSpout } from "ardea";
 * isResolvingStart(new JetStreamSpout({ stream: "S", durable: "d" })); // true
 * ```
 */
export function isResolvingStart(c: unknown): c is ResolvesStart {
  return typeof (c as { resolveStart?: unknown } | null)?.resolveStart === "function";
}

/**
 * EFFECTIVELY_ONCE: resolves the start of every spout that needs it
 * (`JetStreamSpout` with `deliverPolicy` `"new"`, `"last"` or
 * `"by_start_time"`) to a stream sequence, once: `ardea submit` stores the
 * result in the topology record's config under {@link START_SEQUENCES_KEY},
 * an embedded run keeps it in its configuration for every rollback. A task
 * with no saved position starts there; from the first checkpoint on, each
 * task's position is in the checkpoint. `nc` serves spouts without a `nats`
 * option (default: their `ARDEA_NATS_*` environment).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { StormTopology, TopologyConfig } from "ardea";
 * declare const topology: StormTopology;
 * declare const conf: TopologyConfig;
 * declare const nc: NatsConnection;
 * const starts = await resolveStartSequences(topology, conf, nc);
 * if (Object.keys(starts).length > 0) conf[START_SEQUENCES_KEY] = starts;
 * ```
 */
export async function resolveStartSequences(
  topology: StormTopology,
  conf: TopologyConfig,
  nc?: NatsConnection,
): Promise<Record<string, number>> {
  const starts: Record<string, number> = {};
  if (conf["topology.reliability.mode"] !== "EFFECTIVELY_ONCE") return starts;
  for (const def of topology.components.values()) {
    if (def.kind !== "spout") continue;
    const spout = def.create();
    if (!isResolvingStart(spout)) continue;
    const first = await spout.resolveStart(def.id, conf, nc);
    if (first !== undefined) starts[def.id] = first;
  }
  return starts;
}

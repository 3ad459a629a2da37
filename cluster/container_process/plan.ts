/**
 * What one generation of a container process runs: the record it starts
 * from, the plan (packing, parallelism) for the topology the script built,
 * and (EFFECTIVELY_ONCE) its tasks' states in the checkpoint the
 * generation restores.
 *
 * @module
 */
import { parseConfig, type TopologyConfig } from "../../topology/config.ts";
import type { StormTopology } from "../../topology/topology.ts";
import { ArdeaError } from "../../topology/errors.ts";
import type { TopologyRecord } from "../../transport/wire/mod.ts";
import type { CheckpointSetup } from "../../engine/container.ts";
import type { SubmitRequest } from "../../engine/submit.ts";
import { restoreStates } from "../../engine/restore.ts";
import { NatsStateBackend } from "../../state/nats_state_backend.ts";
import type { CommittedCheckpoint } from "../../state/state_backend.ts";
import { rescale } from "../packing.ts";
import { patiently } from "./startup.ts";
import type { NatsConnection } from "nats";

/** What one generation of this container runs: the record it started from and its plan. */
export interface Generation {
  rec: TopologyRecord;
  /** Task id → container index. */
  packing: Map<number, number>;
  topology: StormTopology;
  config: TopologyConfig;
}

/**
 * The generation `rec` describes for the topology `req` the script built;
 * throws `PLAN_MISMATCH` when the script's tasks differ from the record's.
 *
 * @example
 * ```ts
 * import type { TopologyRecord } from "../../transport/wire/mod.ts";
 * import type { SubmitRequest } from "../../engine/submit.ts";
 * declare const rec: TopologyRecord;
 * declare const request: SubmitRequest;
 * const g = generationOf(rec, request); // g.packing.get(3) === 1
 * ```
 */
export function generationOf(rec: TopologyRecord, req: SubmitRequest): Generation {
  const packing = new Map<number, number>(Object.entries(rec.packing).map(([t, c]) => [Number(t), c]));
  const topology = rec.parallelism ? rescale(req.topology, rec.parallelism) : req.topology;
  for (const [id, tasks] of topology.componentTasks) {
    if (JSON.stringify(rec.components[id] ?? []) !== JSON.stringify(tasks)) {
      throw new ArdeaError(
        "PLAN_MISMATCH",
        `component "${id}" has tasks [${tasks}] here but [${rec.components[id] ?? []}] in the submitted plan`,
      );
    }
  }
  return { rec, packing, topology, config: parseConfig({ ...req.config, ...rec.config }) };
}

/**
 * EFFECTIVELY_ONCE: container `index`'s tasks' states in the checkpoint
 * generation `g` restores (the one the master named in the record; absent,
 * the last committed one). Throws `CHECKPOINT_GONE` when the named one is
 * not committed.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * declare const g: Generation;
 * const checkpoints = await restoreFor(nc, g, 1, console.error);
 * ```
 */
export async function restoreFor(
  nc: NatsConnection,
  g: Generation,
  index: number,
  log: (line: string) => void,
): Promise<CheckpointSetup> {
  const { rec, packing, topology } = g;
  const backend = new NatsStateBackend(nc);
  // After a relaunch the master names the checkpoint every container restores.
  const last = await patiently("reading the last checkpoint", log, async () => {
    if (rec.restoreFrom === undefined) return await backend.lastCommitted(rec.name);
    if (rec.restoreFrom === 0) return undefined;
    let pinned: CommittedCheckpoint | undefined;
    // A listing right after a server restart may still miss it: look again a few times.
    for (let attempt = 0; attempt < 6 && pinned === undefined; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      pinned = (await backend.committed(rec.name)).find((c) => c.checkpointId === rec.restoreFrom);
    }
    if (pinned === undefined) {
      throw new ArdeaError(
        "CHECKPOINT_GONE",
        `topology "${rec.name}": checkpoint ${rec.restoreFrom}, which this generation restores, is not committed in the state store`,
      );
    }
    return pinned;
  });
  const mine = [...packing].filter(([, where]) => where === index).map(([task]) => task);
  const restore = last
    ? await patiently("restoring the checkpoint", log, () => restoreStates(backend, rec.name, last, topology, mine))
    : new Map<string, Uint8Array>();
  return { backend, lastId: last?.checkpointId ?? 0, restore, coordinated: true };
}

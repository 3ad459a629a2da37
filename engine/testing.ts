/**
 * Storm's `Testing.completeTopology`: run a topology on fixed spout inputs to
 * its end and get back every tuple each component emitted.
 *
 * @module
 */
import type { ISpout } from "../topology/components.ts";
import type { ConfigInput } from "../topology/config.ts";
import { ArdeaError } from "../topology/errors.ts";
import { iterableSpout } from "../topology/functional.ts";
import { type ComponentDef, StormTopology } from "../topology/topology.ts";
import { DEFAULT_STREAM } from "../topology/tuple.ts";
import type { RunSummary } from "./container.ts";
import { submit } from "./submit.ts";

/** Options of {@link completeTopology}. */
export interface CompleteTopologyOptions {
  /** Spout id → the tuples its first task emits (each an array of values), replacing the spout. */
  mockedSources?: Record<string, readonly unknown[][]>;
  /** Topology configuration. */
  config?: ConfigInput;
  /** Give up (and kill the run) after this long; default 30 s. */
  timeoutMs?: number;
  /** Topology name (default "test"). */
  name?: string;
}

/** What a completed run emitted. */
export interface CompletedTopology {
  /** The values each emit of `component` on `stream` carried, in emit order. */
  emitted(component: string, stream?: string): unknown[][];
  readonly summary: RunSummary;
}

/**
 * Runs `topology` to its end (every spout finishes) and records every emit.
 *
 * @example
 * ```ts
 * import type { StormTopology } from "ardea";
 * declare const topology: StormTopology;
 * const r = await completeTopology(topology, { mockedSources: { lines: [["a b"], ["b"]] } });
 * r.emitted("split"); // [["a"], ["b"], ["b"]]
 * ```
 */
export async function completeTopology(
  topology: StormTopology,
  options: CompleteTopologyOptions = {},
): Promise<CompletedTopology> {
  const mocked = options.mockedSources ?? {};
  const defs = new Map<string, ComponentDef>();
  for (const [id, def] of topology.components) {
    const tuples = mocked[id];
    if (tuples === undefined) {
      defs.set(id, def);
      continue;
    }
    if (def.kind !== "spout") throw new ArdeaError("BAD_MOCK", `mocked source "${id}" is a bolt, not a spout`);
    const streams: Record<string, string[]> = {};
    for (const [s, decl] of def.streams) if (s !== DEFAULT_STREAM) streams[s] = decl.fields.toList();
    const fields = def.streams.get(DEFAULT_STREAM)?.fields.toList();
    const make = iterableSpout((ctx) => (ctx.getThisTaskIndex() === 0 ? tuples : []), { fields, streams });
    defs.set(id, { ...def, create: make as () => ISpout });
  }
  for (const id of Object.keys(mocked)) {
    if (!topology.components.has(id)) {
      throw new ArdeaError("BAD_MOCK", `mocked source "${id}" is not a component of the topology`);
    }
  }
  const emits = new Map<string, unknown[][]>();
  const handle = await submit(options.name ?? "test", options.config, new StormTopology(defs), {
    handleSignals: false,
    tap: (component, stream, _task, values) => {
      const key = `${component}\u0000${stream}`;
      let list = emits.get(key);
      if (list === undefined) emits.set(key, list = []);
      list.push([...values]);
    },
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void handle.kill();
      reject(new ArdeaError("TIMEOUT", `topology did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const summary = await Promise.race([handle.done, timedOut]);
    return {
      summary,
      emitted: (component, stream = DEFAULT_STREAM) => emits.get(`${component}\u0000${stream}`) ?? [],
    };
  } finally {
    clearTimeout(timer);
  }
}

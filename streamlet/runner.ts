/**
 * Heron's `Config` and `Runner` for streamlet graphs: `new
 * Runner().run(name, config, builder)` compiles the graph and submits it
 * with Ardea's `submit`, so a streamlet script runs embedded (`deno run`,
 * `ardea run`) and on a cluster (`ardea submit`) like any topology script.
 *
 * @module
 */
import { submit, type SubmitOptions, type TopologyHandle } from "../engine/submit.ts";
import { ConfigError } from "../topology/errors.ts";
import type { ReliabilityMode } from "../topology/config.ts";
import type { Builder } from "./graph.ts";
import { compile } from "./compile.ts";

/** Heron's `Config.DeliverySemantics`: Ardea's reliability modes. */
export const DeliverySemantics = {
  ATMOST_ONCE: "ATMOST_ONCE",
  ATLEAST_ONCE: "ATLEAST_ONCE",
  EFFECTIVELY_ONCE: "EFFECTIVELY_ONCE",
} as const satisfies Record<string, ReliabilityMode>;
/** One of {@link DeliverySemantics}. */
export type DeliverySemantics = ReliabilityMode;

/**
 * A streamlet run's configuration (Heron's `Config`): delivery semantics,
 * number of containers, and (Heron's user config, here any Ardea key, e.g.
 * `"topology.max.spout.pending"`) the rest. Heron's per-container CPU,
 * RAM and serializer settings do not exist in Ardea.
 *
 * @example
 * ```ts
 * const config = Config.newBuilder()
 *   .setDeliverySemantics(Config.DeliverySemantics.ATMOST_ONCE)
 *   .setNumContainers(2)
 *   .setUserConfig("topology.max.spout.pending", 500)
 *   .build();
 * config.getDeliverySemantics(); // "ATMOST_ONCE"
 * ```
 */
export class Config {
  static readonly DeliverySemantics = DeliverySemantics;

  /** Ardea configuration keys and values (see {@link ConfigBuilder}). */
  constructor(readonly values: Readonly<Record<string, unknown>> = {}) {}

  /** ATLEAST_ONCE (Ardea's default; Heron's is ATMOST_ONCE), one container. */
  static defaultConfig(): Config {
    return new Config({});
  }

  /** A {@link ConfigBuilder}. */
  static newBuilder(): ConfigBuilder {
    return new ConfigBuilder();
  }

  getDeliverySemantics(): DeliverySemantics {
    return (this.values["topology.reliability.mode"] as DeliverySemantics | undefined) ?? "ATLEAST_ONCE";
  }

  getNumContainers(): number {
    return (this.values["topology.containers"] as number | undefined) ?? 1;
  }

  /** The Ardea configuration (`submit`'s second argument). */
  toArdeaConfig(): Record<string, unknown> {
    return { ...this.values };
  }
}

/**
 * Builds a {@link Config} (Heron's `Config.Builder`).
 *
 * @example
 * ```ts
 * const config = new ConfigBuilder().setNumContainers(3).build();
 * ```
 */
export class ConfigBuilder {
  readonly #values: Record<string, unknown> = {};

  setDeliverySemantics(semantics: DeliverySemantics): this {
    if (!Object.values(DeliverySemantics).includes(semantics)) {
      throw new ConfigError(
        "topology.reliability.mode",
        `setDeliverySemantics: expected ATMOST_ONCE, ATLEAST_ONCE or EFFECTIVELY_ONCE, got ${
          JSON.stringify(semantics)
        }`,
      );
    }
    this.#values["topology.reliability.mode"] = semantics;
    return this;
  }

  setNumContainers(n: number): this {
    if (!Number.isInteger(n) || n < 1) {
      throw new ConfigError("topology.containers", `setNumContainers: expected a whole number ≥ 1, got ${String(n)}`);
    }
    this.#values["topology.containers"] = n;
    return this;
  }

  /** Any Ardea configuration key (checked when the run is submitted). */
  setUserConfig(key: string, value: unknown): this {
    this.#values[key] = value;
    return this;
  }

  build(): Config {
    return new Config({ ...this.#values });
  }
}

/**
 * Runs a streamlet graph (Heron's `Runner`).
 *
 * @example
 * ```ts
 * import { Builder } from "./graph.ts";
 * const builder = Builder.newBuilder();
 * builder.newSource(["a", "b"]).log();
 * const handle = await new Runner().run("letters", Config.defaultConfig(), builder);
 * await handle.done;
 * ```
 */
export class Runner {
  /**
   * Compiles `builder` (errors in the graph throw here) and submits it
   * under `name`; resolves to the run's handle (`await handle.done` for
   * the end). Heron's `run` returns nothing.
   */
  run(name: string, config: Config, builder: Builder, options?: SubmitOptions): Promise<TopologyHandle> {
    try {
      return submit(name, config.toArdeaConfig(), compile(builder), options);
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

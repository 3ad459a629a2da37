/**
 * Errors of the topology layer. Every error has a stable `code` and a message
 * that names the component, stream or key at fault.
 *
 * @module
 */

/**
 * Base class of every error Ardea raises on purpose.
 *
 * @example
 * ```ts
 * import { TopologyBuilder } from "ardea";
 * const builder = new TopologyBuilder();
 * try { builder.createTopology(); } catch (e) {
 *   if (e instanceof ArdeaError) console.error(e.code, e.message);
 * }
 * ```
 */
export class ArdeaError extends Error {
  /** Stable machine-readable code, e.g. `UNKNOWN_STREAM`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A topology that cannot run as declared: duplicate ids, unknown components
 * or streams, groupings on undeclared fields, bad parallelism.
 *
 * @example
 * ```ts
 * throw new InvalidTopologyError("UNKNOWN_COMPONENT", 'bolt "count" subscribes to "splitter", which does not exist');
 * ```
 */
export class InvalidTopologyError extends ArdeaError {}

/**
 * A configuration value of the wrong type or out of range; names the key.
 *
 * @example
 * ```ts
 * throw new ConfigError("topology.max.spout.pending", "expected a positive integer, got -1");
 * ```
 */
export class ConfigError extends ArdeaError {
  /** The configuration key at fault. */
  readonly key: string;
  constructor(key: string, problem: string) {
    super("INVALID_CONFIG", `config "${key}": ${problem}`);
    this.key = key;
  }
}

/**
 * An emit that breaks the declared output: undeclared stream, wrong arity,
 * a direct stream emitted without a task, a value that cannot be serialised.
 *
 * @example
 * ```ts
 * throw new EmitError("UNDECLARED_STREAM", 'bolt "split" emitted on stream "words", which it does not declare');
 * ```
 */
export class EmitError extends ArdeaError {}

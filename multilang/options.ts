/**
 * Options of shell components and the multilang error type.
 *
 * @module
 */
import { ArdeaError } from "../topology/errors.ts";

/** Wire format between the engine and a multilang subprocess. */
export type MultilangSerializer = "json" | "msgpack";

/**
 * Options of a `ShellBolt` or `ShellSpout`.
 *
 * @example
 * ```ts
 * const options: ShellComponentOptions = { stateless: true, serializer: "msgpack", env: { LANG: "C" }, cwd: "resources" };
 * ```
 */
export interface ShellComponentOptions {
  /**
   * The subprocess keeps no state between tuples, so a rollback needs no
   * rewind of it: a `ShellBolt` may then run under EFFECTIVELY_ONCE.
   */
  stateless?: boolean;
  /**
   * Default: the config's `topology.multilang.serializer`, else "json". The
   * subprocess finds it in its environment, `ARDEA_MULTILANG_SERIALIZER`.
   */
  serializer?: MultilangSerializer;
  /** Added to the engine's environment for the subprocess. */
  env?: Record<string, string>;
  /** Working directory; default: the topology's code dir (`TopologyContext.getCodeDir()`), else the current one. */
  cwd?: string;
}

/**
 * A multilang subprocess failed: it exited, crashed, wrote something that is
 * not a message, timed out, or could not start. The message names the
 * command, the component, the task and the last lines of its stderr.
 *
 * @example
 * ```ts
 * const e = new MultilangError("SUBPROCESS_EXITED", "split task 3: `python3 split.py` exited with code 1");
 * e.code; // "SUBPROCESS_EXITED"
 * ```
 */
export class MultilangError extends ArdeaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    // What went wrong happened in the subprocess: the engine's stack says nothing about it.
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * The error of a Flux file that cannot be read, parsed or built.
 *
 * @module
 */
import { ArdeaError } from "../topology/errors.ts";

/**
 * A Flux file that is wrong: its message names the file and line, the key
 * path and what was expected
 * (`topo.yaml:14: bolts[0].parallelism: expected an integer ≥ 1, got "two"`).
 * `code` is `FLUX_INVALID` (the file's content), `FLUX_UNREADABLE` (a file
 * that cannot be read) or `FLUX_CLASS` (a className that cannot be loaded).
 *
 * @example
 * ```ts
 * throw new FluxError("FLUX_INVALID", "topo.yaml:3: name: expected a string, got 12");
 * ```
 */
export class FluxError extends ArdeaError {
  constructor(code: "FLUX_INVALID" | "FLUX_UNREADABLE" | "FLUX_CLASS", message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Output declarations of shell components (Flux's `FluxShellBolt` shape).
 *
 * @module
 */
import type { OutputFieldsDeclarer } from "../topology/declarer.ts";
import { Fields, type FieldsLike } from "../topology/fields.ts";

/** Fields of the default stream, or stream id → fields. */
export type ShellOutputs = FieldsLike | Record<string, FieldsLike>;

/**
 * Declares `outputs` on `declarer`: an array or `Fields` is the default
 * stream; a record declares one stream per key.
 *
 * @example
 * ```ts
 * import type { OutputFieldsDeclarer } from "ardea";
 * declare const d: OutputFieldsDeclarer;
 * declareShellOutputs(d, { default: ["word"], lengths: ["word", "n"] });
 * ```
 */
export function declareShellOutputs(declarer: OutputFieldsDeclarer, outputs: ShellOutputs | undefined): void {
  if (outputs === undefined) return;
  if (outputs instanceof Fields || Array.isArray(outputs)) {
    declarer.declare(outputs as FieldsLike);
    return;
  }
  for (const [stream, fields] of Object.entries(outputs as Record<string, FieldsLike>)) {
    declarer.declareStream(stream, fields);
  }
}

/**
 * The constructor arguments of shell components (Flux's `FluxShellBolt`
 * shape): the command and the output declarations.
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

/**
 * `outputs` as plain arrays (a component is copied per task by its own
 * properties, and `Fields` keeps its names private).
 *
 * @example
 * ```ts
 * import { Fields } from "ardea";
 * normalizeOutputs(new Fields("word")); // ["word"]
 * ```
 */
export function normalizeOutputs(
  outputs: ShellOutputs | undefined,
): string[] | Record<string, string[]> | undefined {
  if (outputs === undefined) return undefined;
  const list = (f: FieldsLike): string[] => (f instanceof Fields ? f.toList() : [...f]);
  if (outputs instanceof Fields || Array.isArray(outputs)) return list(outputs as FieldsLike);
  const out: Record<string, string[]> = {};
  for (const [stream, fields] of Object.entries(outputs as Record<string, FieldsLike>)) out[stream] = list(fields);
  return out;
}

/**
 * A copy of `command`, checked: a non-empty array of strings.
 *
 * @example
 * ```ts
 * checkCommand("ShellBolt", ["python3", "split.py"]); // ["python3", "split.py"]
 * ```
 */
export function checkCommand(kind: string, command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== "string" || a === "")) {
    throw new TypeError(
      `${kind}: the command must be a non-empty array of non-empty strings (program, then arguments), got ${
        JSON.stringify(command)
      }`,
    );
  }
  return [...command];
}

/**
 * The command line, parsed once into a {@link Command} with the tables of
 * commands.ts, so everything past this file works with typed values. A
 * mistake is a {@link UsageError} whose message is one line that names the
 * word at fault.
 *
 * @module
 */
import { type HelpRequest, parseCommand, UsageError } from "./command_table.ts";
import { COMMAND_SPECS, type CommandName, COMMANDS, commandSpec, GLOBAL_FLAGS } from "./commands.ts";

export { type CommandName, COMMANDS, UsageError };

/** Keys whose value may be undefined become optional (the parser leaves them out). */
type Optional<T> =
  & { [K in keyof T as undefined extends T[K] ? never : K]: T[K] }
  & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };
type Flat<T> = { [K in keyof T]: T[K] };
type Built<N extends CommandName> = Flat<{ type: N } & Optional<ReturnType<typeof COMMAND_SPECS[N]["build"]>>>;

/** A parsed command line. */
export type Command = { [N in Exclude<CommandName, "help">]: Built<N> }[Exclude<CommandName, "help">] | HelpRequest | {
  type: "version";
};

/** Options of `ardea run`. */
export type RunCommand = Built<"run">;
/** Options of `ardea submit`. */
export type SubmitCommand = Built<"submit">;
/** Options of `ardea list`. */
export type ListCommand = Built<"list">;
/** `ardea init <dir> [--ardea SPEC]`. */
export type InitCommand = Built<"init">;
/** Options of `ardea status`. */
export type StatusCommand = Built<"status">;
/** Options of `ardea activate` and `ardea deactivate`. */
export type SteerCommand = Built<"activate"> | Built<"deactivate">;
/** Options of `ardea kill`. */
export type KillCommand = Built<"kill">;
/** Options of `ardea tap`. */
export type TapCommand = Built<"tap">;
/** Options of `ardea logs`. */
export type LogsCommand = Built<"logs">;
/** Options of `ardea ui`. */
export type UiCommand = Built<"ui">;

function isCommand(word: string): word is CommandName {
  return Object.hasOwn(COMMAND_SPECS, word);
}

const isGlobal = (word: string, flag: keyof typeof GLOBAL_FLAGS) =>
  word === `--${flag}` || word === `-${GLOBAL_FLAGS[flag].short}`;

/**
 * Parses `argv` (the words after `ardea`). Throws {@link UsageError}.
 *
 * `ardea run` takes its own flags before the script path; every word after
 * the path belongs to the script, except one `--` right after the path,
 * which is dropped (`ardea run x.ts -- --json` passes `--json` to x.ts).
 *
 * @example
 * ```ts
 * parseArgs(["run", "--quiet", "wc.ts", "--input", "a.txt"]);
 * // { type: "run", script: "wc.ts", scriptArgs: ["--input", "a.txt"], quiet: true, json: false }
 * ```
 */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || isGlobal(first, "help")) return { type: "help" };
  if (isGlobal(first, "version")) {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" after ${first}`);
    return { type: "version" };
  }
  if (first.startsWith("-")) throw new UsageError(`unknown flag "${first}"`);
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"`);
  return parseCommand(commandSpec(first), rest) as Command;
}

/**
 * The command line, parsed once into a {@link Command}: a discriminated
 * union checked with zod, so everything past this file works with typed
 * values. A mistake is a {@link UsageError} whose message is one line that
 * names the word at fault.
 *
 * @module
 */
import { z } from "zod";
import { ArdeaError } from "../topology/errors.ts";

/** The commands this build implements (the help lists exactly these). */
export const COMMANDS = ["run", "help"] as const;

/** One of {@link COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

const runSchema = z.object({
  type: z.literal("run"),
  script: z.string().min(1, "the script path is empty"),
  scriptArgs: z.array(z.string()),
  quiet: z.boolean(),
  json: z.boolean(),
});

const commandSchema = z.discriminatedUnion("type", [
  runSchema,
  z.object({ type: z.literal("help"), topic: z.enum(COMMANDS).optional() }),
  z.object({ type: z.literal("version") }),
]);

/** A parsed command line. */
export type Command = z.infer<typeof commandSchema>;

/** Options of `ardea run`. */
export type RunCommand = z.infer<typeof runSchema>;

/**
 * A command line that cannot be understood. `command` says whose usage line
 * to print with it.
 *
 * @example
 * ```ts
 * throw new UsageError('unknown flag "--fast" for "ardea run"', "run");
 * ```
 */
export class UsageError extends ArdeaError {
  /** The command whose usage applies, if one was recognised. */
  readonly command: CommandName | undefined;
  constructor(message: string, command?: CommandName) {
    super("USAGE", message);
    this.command = command;
  }
}

function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}

/** Flags of `ardea run` → the option they set. */
const RUN_FLAGS: Readonly<Record<string, "quiet" | "json">> = {
  "--quiet": "quiet",
  "-q": "quiet",
  "--json": "json",
};

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
  if (first === undefined || first === "--help" || first === "-h") return { type: "help" };
  if (first === "--version" || first === "-V") {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" after ${first}`);
    return { type: "version" };
  }
  if (first.startsWith("-")) throw new UsageError(`unknown flag "${first}"`);
  if (!isCommand(first)) throw new UsageError(`unknown command "${first}"`);
  const command = first === "help" ? parseHelp(rest) : parseRun(rest);
  const parsed = commandSchema.safeParse(command);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(issue?.message ?? "invalid arguments", first);
  }
  return parsed.data;
}

function parseHelp(rest: readonly string[]): unknown {
  if (rest.length > 1) throw new UsageError(`"ardea help" takes one command name, got ${rest.length}`, "help");
  const [topic] = rest;
  if (topic === undefined) return { type: "help" };
  if (!isCommand(topic)) throw new UsageError(`no help for unknown command "${topic}"`, "help");
  return { type: "help", topic };
}

function parseRun(rest: readonly string[]): unknown {
  const options = { quiet: false, json: false };
  let i = 0;
  for (; i < rest.length; i++) {
    const word = rest[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    if (word === "--help" || word === "-h") return { type: "help", topic: "run" };
    const option = RUN_FLAGS[word];
    if (option === undefined) throw new UsageError(`unknown flag "${word}" for "ardea run"`, "run");
    options[option] = true;
  }
  const script = rest[i];
  if (script === undefined) throw new UsageError("missing the topology script to run", "run");
  const scriptArgs = rest.slice(i + 1);
  if (scriptArgs[0] === "--") scriptArgs.shift();
  return { type: "run", script, scriptArgs, ...options };
}

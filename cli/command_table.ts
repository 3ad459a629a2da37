/**
 * The grammar of a command, declared once. A {@link CommandSpec} names the
 * command's flags (kind, short alias, default, help line, zod schema of the
 * value), its positional arguments and the words it hands to a script;
 * {@link parseCommand} reads a command line with it, help.ts prints it, and
 * every usage error comes from the same entries. Words are split by
 * `node:util`'s `parseArgs` (through `runtime/`); what is allowed is
 * decided here.
 *
 * The rules, the same for every command: a flag is `--name`, `--name=V` or
 * `--name V` (a value may not start with `--` unless given with `=`); a
 * short alias is one letter (`-q`), never grouped; `-h`/`--help` among
 * otherwise valid flags asks for the command's help; `--` ends the flags; a
 * flag given twice keeps its last value. Checked in this order: the words,
 * required flags, the number of positional arguments, flag values (in table
 * order), positional values.
 *
 * @module
 */
import { z } from "zod";
import { type ArgToken, type ArgTokenOption, argTokens } from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { NATS_FLAGS, type NatsFlagName, type NatsFlags } from "../transport/nats_connect.ts";
import type { CommandName } from "./commands.ts";

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

interface FlagBase {
  /** The help line (wrapped to the terminal's 78 columns when printed). */
  readonly help: string;
  /** A one-letter alias: `-q` for `--quiet`. */
  readonly short?: string;
  /** Only meaningful with this other flag (`--port` of `ardea run` needs `--ui`); shown inside its brackets. */
  readonly under?: string;
  /** Seldom needed: left out of the simplest usage form (still in the full one and the flag list). */
  readonly rare?: true;
}

/** A flag without a value: true when given. */
export interface BooleanFlag extends FlagBase {
  readonly type: "boolean";
  /** Also the command's after the script path (`ardea run x.ts --ui`), and from there on its `under` flags too. */
  readonly afterScript?: true;
  /** Given, the named positional argument is not (`ardea container --standby` reads the topology name from stdin, `why`). */
  readonly insteadOf?: { readonly positional: string; readonly why: string };
}

/** A flag with a value, parsed from its text by a zod schema whose issue message is the usage error. */
export interface ValueFlag<T> extends FlagBase {
  readonly type: "string";
  /** The value's placeholder in usage and help: `N`, `node|deno`. */
  readonly value: string;
  /** The schema of the value, given the flag as written (`--lines`) for its messages. */
  readonly parse: (flag: string) => z.ZodType<T, string>;
  /** The value when the flag is absent. */
  readonly default?: T;
  /** Absent is an error: "missing --flag VALUE". */
  readonly required?: true;
}

/** Any flag of a {@link CommandSpec}. */
// deno-lint-ignore no-explicit-any
export type Flag = BooleanFlag | ValueFlag<any>;

/** A positional argument. `parse`'s issue message is the usage error. */
export interface Positional<T> {
  /** How usage shows it: `<topology>`, `[container]`. */
  readonly label: string;
  /** How the command overview shows it, when not `label`. */
  readonly brief?: string;
  /** What it is, for "missing the topology name" and "takes one topology name". */
  readonly noun: string;
  readonly parse: z.ZodType<T, string>;
  readonly optional?: true;
  /** The message when it is missing, instead of "missing the <noun>". */
  readonly missing?: string;
}

/** The words a command hands to a script: those after its path (`run`) or after `--` (`submit`). */
export interface ScriptArgs {
  readonly after: "script" | "--";
  /** In usage: `script args…` (shown as `[--] [script args…]` or `[-- script args…]`). */
  readonly label: string;
  /** In the command overview. */
  readonly brief: string;
}

// deno-lint-ignore no-explicit-any
type AnyPositional = Positional<any>;

/** The value each flag of `F` has after parsing: booleans are false when absent. */
export type FlagValues<F> = {
  -readonly [K in keyof F]: F[K] extends ValueFlag<infer T>
    ? (F[K] extends { required: true } | { default: unknown } ? T : T | undefined)
    : boolean;
};

/** The value of each positional argument of `P`. */
export type PositionalValues<P> = {
  -readonly [K in keyof P]: P[K] extends Positional<infer T> ? (P[K] extends { optional: true } ? T | undefined : T)
    : never;
};

/** What a command's `build` receives: every value parsed and checked. */
export interface ParsedWords<F, P> {
  readonly flags: FlagValues<F>;
  readonly positionals: PositionalValues<P>;
  /** The NATS connection flags, raw (parsed with the environment when the command runs). */
  readonly nats: NatsFlags;
  readonly scriptArgs: string[];
}

/** One command, declared once: its grammar, its help and how its words become a command object. */
export interface CommandSpec<
  N extends CommandName = CommandName,
  F extends Readonly<Record<string, Flag>> = Readonly<Record<string, Flag>>,
  P extends Readonly<Record<string, AnyPositional>> = Readonly<Record<string, AnyPositional>>,
  R = unknown,
> {
  readonly name: N;
  /** After "ardea <name> — " at the top of its help. */
  readonly title: string;
  /** Its line in the command overview. */
  readonly summary: string;
  /** Started by Ardea, not by hand: one shared line in the overview. */
  readonly internal?: true;
  readonly flags: F;
  /** Takes the NATS connection flags; "ignored": accepts them without a word in its help (as `init` always has). */
  readonly nats?: true | "ignored";
  /** In order. */
  readonly positionals: P;
  readonly scriptArgs?: ScriptArgs;
  /** Paragraphs of its help after the usage (ending in a newline). */
  readonly about?: string | (() => string);
  /** Its help's last paragraph: what each exit status means. */
  readonly exit?: string;
  /** The command object (`type` is added) from the checked values; may throw a {@link UsageError} for combinations. */
  readonly build: (words: ParsedWords<F, P>) => R;
}

/** A command's spec whatever its flags and positionals: what the parser and the help printer read. */
// deno-lint-ignore no-explicit-any
export type AnyCommandSpec = CommandSpec<CommandName, any, any, unknown>;

/**
 * A command's spec, checked and typed (`const` keeps its flags' literal
 * kinds, so {@link FlagValues} knows which flags hold what).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineCommand, integer } from "./command_table.ts";
 * const logs = defineCommand({
 *   name: "logs", title: "print log lines", summary: "print log lines",
 *   flags: { lines: { type: "string", value: "N", help: "lines per container (default 100)", parse: integer({ min: 1 }), default: 100 } },
 *   positionals: { topology: { label: "<topology>", noun: "topology name", parse: z.string() } },
 *   build: ({ flags, positionals }) => ({ topology: positionals.topology, lines: flags.lines }),
 * });
 * ```
 */
export function defineCommand<
  const N extends CommandName,
  const F extends Readonly<Record<string, Flag>>,
  const P extends Readonly<Record<string, AnyPositional>>,
  R,
>(
  spec: CommandSpec<N, F, P, R>,
): CommandSpec<N, F, P, R> {
  return spec;
}

/** The help of a command, asked for with `-h` or `--help`. */
export interface HelpRequest {
  readonly type: "help";
  readonly topic?: CommandName;
}

/**
 * Whether the command reads flags at all. One that does not (`help`) takes
 * every word as an argument, `-h` too.
 *
 * @example
 * ```ts
 * import { takesFlags } from "./command_table.ts";
 * import { commandSpec } from "./commands.ts";
 * takesFlags(commandSpec("help")); // false
 * ```
 */
export function takesFlags(spec: CommandSpec): boolean {
  return Object.keys(spec.flags).length > 0 || spec.nats !== undefined || spec.scriptArgs !== undefined;
}

/** How the tokenizer is to read `names` of the spec's flags, `-h`/`--help` and, with `nats`, the NATS flags. */
function tokenOptions(spec: CommandSpec, names: readonly string[], nats: boolean): Record<string, ArgTokenOption> {
  const options: Record<string, ArgTokenOption> = { help: { type: "boolean", short: "h" } };
  for (const name of names) {
    const flag = spec.flags[name]!;
    options[name] = flag.short === undefined ? { type: flag.type } : { type: flag.type, short: flag.short };
  }
  if (nats) { for (const name of NATS_FLAGS) options[name] = { type: "string" }; }
  return options;
}

/** What the words of a command line hold, before values are checked. */
interface Scan {
  /** Flags given, by name: `true` for a boolean, the raw text (the last one given) for a value. */
  readonly given: Map<string, string | true>;
  readonly positionals: string[];
  readonly scriptArgs: string[];
  readonly nats: NatsFlags;
}

/** The flag a token names, if it is one of `names` written as such (a group like `-qj` or `--help=x` is not). */
function knownFlag(
  spec: CommandSpec,
  token: ArgToken & { kind: "option" },
  word: string,
  names: ReadonlySet<string>,
): string | undefined {
  const exact = token.rawName.startsWith("--")
    ? word === token.rawName || word.startsWith(`${token.rawName}=`)
    : word === token.rawName;
  if (!exact) return undefined;
  if (names.has(token.name)) return token.name;
  if (
    spec.nats !== undefined && token.rawName.startsWith("--") && (NATS_FLAGS as readonly string[]).includes(token.name)
  ) return token.name;
  return undefined;
}

/** Records a flag token in `scan`; a value flag without a value is an error. */
function record(spec: CommandSpec, scan: Scan, name: string, token: ArgToken & { kind: "option" }): void {
  const flag = Object.hasOwn(spec.flags, name) ? spec.flags[name]! : undefined;
  if (flag?.type === "boolean") {
    if (token.inlineValue === true) throw new UsageError(`flag "${token.rawName}" takes no value`, spec.name);
    scan.given.set(name, true);
    return;
  }
  const value = token.value;
  if (value === undefined || (token.inlineValue !== true && value.startsWith("--") && value.length > 2)) {
    throw new UsageError(`flag "${token.rawName}" needs a value`, spec.name);
  }
  if (flag === undefined) scan.nats[name as NatsFlagName] = value;
  else scan.given.set(name, value);
}

/**
 * Splits `words` into flags, positionals and script arguments; "help" when
 * `-h`/`--help` is among the command's flags and they hold no error.
 */
function scan(spec: CommandSpec, words: readonly string[]): Scan | "help" {
  if (!takesFlags(spec)) return { given: new Map(), positionals: [...words], scriptArgs: [], nats: {} };
  const names = Object.keys(spec.flags);
  const cut = spec.scriptArgs?.after === "--" ? words.indexOf("--") : -1;
  const own = cut < 0 ? words : words.slice(0, cut);
  const out: Scan = { given: new Map(), positionals: [], scriptArgs: cut < 0 ? [] : words.slice(cut + 1), nats: {} };
  const known = new Set(names);
  const toScript = spec.scriptArgs?.after === "script";
  let help = false;
  for (const token of argTokens(own, tokenOptions(spec, names, spec.nats !== undefined))) {
    if (token.kind === "option-terminator") {
      const rest = own.slice(token.index + 1);
      if (!toScript) out.positionals.push(...rest);
      else if (rest.length > 0) {
        out.positionals.push(rest[0]!);
        afterScript(spec, rest.slice(1), out);
      }
      break;
    }
    if (token.kind === "positional") {
      out.positionals.push(token.value);
      if (toScript) {
        afterScript(spec, own.slice(token.index + 1), out);
        break;
      }
      continue;
    }
    const word = own[token.index]!;
    if (word === "--help" || word === "-h") {
      help = true;
      continue;
    }
    const name = knownFlag(spec, token, word, known);
    if (name === undefined) {
      const eq = word.indexOf("=");
      throw new UsageError(`unknown flag "${eq < 0 ? word : word.slice(0, eq)}" for "ardea ${spec.name}"`, spec.name);
    }
    record(spec, out, name, token);
  }
  return help ? "help" : out;
}

/**
 * The words after the script path: the script's, except from the first
 * `afterScript` flag on, where it and the flags `under` it are the
 * command's. A `--` before that hands everything after it to the script.
 */
function afterScript(spec: CommandSpec, tail: readonly string[], out: Scan): void {
  const lifts = Object.entries(spec.flags).filter(([, f]) => f.type === "boolean" && f.afterScript === true).map((
    [n],
  ) => n);
  const at = tail.findIndex((w) => w === "--" || lifts.some((n) => w === `--${n}`));
  out.scriptArgs.push(...(at < 0 ? tail : tail.slice(0, at)));
  if (at < 0) return;
  if (tail[at] === "--") {
    out.scriptArgs.push(...tail.slice(at + 1));
    return;
  }
  const rest = tail.slice(at);
  const names = Object.entries(spec.flags).filter(([n, f]) =>
    lifts.includes(n) || (f.under !== undefined && lifts.includes(f.under))
  ).map(([n]) => n);
  const known = new Set(names);
  let passed = -1;
  for (const token of argTokens(rest, tokenOptions(spec, names, false))) {
    if (token.kind === "option-terminator") {
      out.scriptArgs.push(...rest.slice(token.index + 1));
      return;
    }
    const word = rest[token.index]!;
    const name = token.kind === "option" && token.name !== "help" ? knownFlag(spec, token, word, known) : undefined;
    if (
      name === undefined ||
      (token.kind === "option" && spec.flags[name]!.type === "boolean" && token.inlineValue === true)
    ) {
      if (token.index !== passed) out.scriptArgs.push(word);
      passed = token.index;
      continue;
    }
    record(spec, out, name, token as ArgToken & { kind: "option" });
  }
}

/** A required flag missing, too few or too many positional arguments, one given where a flag replaces it, a flag without the flag it belongs `under`. */
function checkCounts(spec: CommandSpec, s: Scan): Array<[string, AnyPositional]> {
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.type === "string" && flag.required === true && !s.given.has(name)) {
      throw new UsageError(`missing --${name} ${flag.value}`, spec.name);
    }
  }
  const declared = Object.entries(spec.positionals);
  const replacing = Object.entries(spec.flags).find(([n, f]) =>
    f.type === "boolean" && f.insteadOf !== undefined && s.given.has(n)
  );
  const instead = replacing === undefined ? undefined : (replacing[1] as BooleanFlag).insteadOf!;
  const expected = declared.filter(([n]) => n !== instead?.positional);
  const given = s.positionals;
  if (given.length > expected.length) {
    const extra = given[expected.length]!;
    if (instead !== undefined) {
      throw new UsageError(`"ardea ${spec.name} --${replacing![0]}" ${instead.why}; got "${extra}"`, spec.name);
    }
    if (spec.scriptArgs?.after === "--") {
      throw new UsageError(`unexpected argument "${extra}"; put the script's own arguments after --`, spec.name);
    }
    if (declared.length === 1) {
      throw new UsageError(`"ardea ${spec.name}" takes one ${declared[0]![1].noun}, got ${given.length}`, spec.name);
    }
    throw new UsageError(`unexpected argument "${extra}" for "ardea ${spec.name}"`, spec.name);
  }
  const missing = expected.slice(given.length).find(([, p]) => p.optional !== true);
  if (missing !== undefined) throw new UsageError(missing[1].missing ?? `missing the ${missing[1].noun}`, spec.name);
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.under !== undefined && s.given.has(name) && !s.given.has(flag.under)) {
      throw new UsageError(`--${name} needs --${flag.under}`, spec.name);
    }
  }
  return expected;
}

/** The first issue of a failed zod parse, as a usage error. */
function checked<T>(spec: CommandSpec, schema: z.ZodType<T, string>, raw: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new UsageError(parsed.error.issues[0]?.message ?? `invalid argument "${raw}"`, spec.name);
}

/**
 * Parses the words after `ardea <command>` with the command's spec: the
 * command object (with its `type`, without the keys whose value is
 * undefined), or a {@link HelpRequest}. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command_table.ts";
 * import { commandSpec } from "./commands.ts";
 * parseCommand(commandSpec("logs"), ["wc", "--lines", "5"]);
 * // { type: "logs", topology: "wc", lines: 5, nats: {} }
 * ```
 */
export function parseCommand(spec: CommandSpec, words: readonly string[]): Record<string, unknown> {
  const s = scan(spec, words);
  if (s === "help") return { type: "help", topic: spec.name };
  const expected = checkCounts(spec, s);
  const flags: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const raw = s.given.get(name);
    if (flag.type === "boolean") flags[name] = raw === true;
    else flags[name] = raw === undefined ? flag.default : checked(spec, flag.parse(`--${name}`), raw as string);
  }
  const positionals: Record<string, unknown> = {};
  for (const [i, [name, p]] of expected.entries()) {
    const raw = s.positionals[i];
    positionals[name] = raw === undefined ? undefined : checked(spec, p.parse, raw);
  }
  const built = spec.build(
    { flags, positionals, nats: s.nats, scriptArgs: s.scriptArgs } as ParsedWords<never, never>,
  ) as Record<string, unknown>;
  const command: Record<string, unknown> = { type: spec.name };
  for (const [key, value] of Object.entries(built)) if (value !== undefined) command[key] = value;
  return command;
}

/**
 * Inside a zod transform: records `message` as the issue (the usage error)
 * and gives up on the value.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { invalid } from "./command_table.ts";
 * z.string().transform((raw, ctx) => raw === "yes" || invalid(ctx, `--sure expects yes, got "${raw}"`));
 * ```
 */
export function invalid(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER;
}

/**
 * An integer value: "--lines expects an integer >= 1, got "x"" (with `max`:
 * "from 1 to 5"; above `atMost`: "must be at most 100000").
 *
 * @example
 * ```ts
 * import { integer } from "./command_table.ts";
 * integer({ min: 1 })("--lines").parse("7"); // 7
 * ```
 */
export function integer(
  o: { min: number; max?: number; atMost?: number },
): (flag: string) => z.ZodType<number, string> {
  const range = o.max === undefined ? `>= ${o.min}` : `from ${o.min} to ${o.max}`;
  return (flag) =>
    z.string().transform((raw, ctx) => {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isInteger(n) || n < o.min || (o.max !== undefined && n > o.max)) {
        return invalid(ctx, `${flag} expects an integer ${range}, got "${raw}"`);
      }
      if (o.atMost !== undefined && n > o.atMost) {
        return invalid(ctx, `${flag} must be at most ${o.atMost}, got "${raw}"`);
      }
      return n;
    });
}

/**
 * One of `choices`: the placeholder (`node|deno`) and the schema ("--runtime
 * expects node or deno, got "bun"").
 *
 * @example
 * ```ts
 * import { oneOf } from "./command_table.ts";
 * const runtime = { type: "string", ...oneOf(["node", "deno"]), default: "node", help: "the containers' runtime" } as const;
 * ```
 */
export function oneOf<const C extends readonly [string, ...string[]]>(
  choices: C,
): { value: string; parse: (flag: string) => z.ZodType<C[number], string> } {
  const list = choices.length === 1 ? choices[0] : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
  return {
    value: choices.join("|"),
    parse: (flag) =>
      z.string().transform((raw, ctx) =>
        (choices as readonly string[]).includes(raw)
          ? raw as C[number]
          : invalid(ctx, `${flag} expects ${list}, got "${raw}"`)
      ),
  };
}

/**
 * Any non-empty text: "--host is empty" (or "--ardea needs a package spec"
 * with `problem`).
 *
 * @example
 * ```ts
 * import { text } from "./command_table.ts";
 * text("needs a package spec")("--ardea").safeParse("").success; // false
 * ```
 */
export function text(problem = "is empty"): (flag: string) => z.ZodType<string, string> {
  return (flag) => z.string().min(1, `${flag} ${problem}`);
}

/**
 * A number parsed leniently from a positional argument or flag value (the
 * words `Number()` accepts), checked by `ok`, else `message(raw)`.
 *
 * @example
 * ```ts
 * import { numberWhere } from "./command_table.ts";
 * numberWhere((n) => n >= 0, (raw) => `the container must be a number >= 0, got "${raw}"`).parse("2"); // 2
 * ```
 */
export function numberWhere(
  ok: (n: number, raw: string) => boolean,
  message: (raw: string) => string,
): z.ZodType<number, string> {
  return z.string().transform((raw, ctx) => {
    const n = Number(raw);
    return ok(n, raw) ? n : invalid(ctx, message(raw));
  });
}

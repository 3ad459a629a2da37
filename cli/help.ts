/**
 * Help and usage text, printed from the command tables of commands.ts: the
 * usage line under an error, each command's help page and the overview.
 * Lists only the commands this build implements.
 *
 * @module
 */
import { type CommandSpec, type Flag, takesFlags } from "./command_table.ts";
import { type CommandName, COMMANDS, commandSpec, GLOBAL_FLAGS, NATS_OPTIONS } from "./commands.ts";

/** Help lines are wrapped to this many columns. */
const WIDTH = 78;

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** Widest left column of {@link columns}: longer cells put their right one on the next line. */
const MAX_COLUMN = 32;

/**
 * Two columns: each left cell indented 2 and padded to `column` (by default
 * 3 spaces past the longest), the right one wrapped after it to `width`.
 */
function columns(
  rows: ReadonlyArray<readonly [string, string]>,
  column = Math.min(Math.max(...rows.map(([left]) => left.length)) + 5, MAX_COLUMN),
  width = WIDTH,
): string {
  return rows.map(([left, right]) => {
    const lines = wrap(right, width - column).map((l) => " ".repeat(column) + l);
    const head = `  ${left}`;
    return (head.length + 2 > column ? [head, ...lines] : [head + lines[0]!.slice(head.length), ...lines.slice(1)])
      .join("\n") + "\n";
  }).join("");
}

const entries = (spec: CommandSpec): Array<[string, Flag]> => Object.entries(spec.flags);

/** `[--port P]`, `--index I` (required), `[--ui [--port P] [--host H]]` (with the flags under it). */
function flagUsage(spec: CommandSpec, name: string, flag: Flag, bare = false): string {
  const under = entries(spec).filter(([, f]) => f.under === name).map(([n, f]) => ` ${flagUsage(spec, n, f)}`).join("");
  const text = `--${name}${flag.type === "string" ? ` ${flag.value}` : ""}${under}`;
  return bare || (flag.type === "string" && flag.required === true) ? text : `[${text}]`;
}

/** One way to write the command, as usage words: `flags`, the positionals (one perhaps replaced by a flag). */
function form(spec: CommandSpec, flags: ReadonlyArray<[string, Flag]>, replaced?: [string, string]): string[] {
  const positionals = Object.entries(spec.positionals).map(([n, p]) => (replaced?.[0] === n ? replaced[1] : p.label));
  const usage = flags.map(([n, f]) => flagUsage(spec, n, f));
  const nats = spec.nats === true ? ["[NATS flags]"] : [];
  const tail = spec.scriptArgs === undefined
    ? []
    : [spec.scriptArgs.after === "script" ? `[--] [${spec.scriptArgs.label}]` : `[-- ${spec.scriptArgs.label}]`];
  const words = spec.scriptArgs?.after === "script"
    ? [...usage, ...nats, ...positionals, ...tail]
    : [...positionals, ...usage, ...nats, ...tail];
  return [`ardea ${spec.name}`, ...words];
}

/** The command's forms: [the full one, those where a flag replaces a positional, the simplest, those with a flag after the script]. */
function forms(spec: CommandSpec): { full: string[]; instead: string[][]; base: string[]; afterScript: string[][] } {
  const top = entries(spec).filter(([, f]) =>
    f.under === undefined && !(f.type === "boolean" && f.insteadOf !== undefined)
  );
  const hasUnder = (name: string) => entries(spec).some(([, f]) => f.under === name);
  const instead = entries(spec).flatMap((
    [n, f],
  ) => (f.type === "boolean" && f.insteadOf !== undefined
    ? [form(spec, top, [f.insteadOf.positional, `--${n}`])]
    : [])
  );
  const afterScript = entries(spec).flatMap(([n, f]) => {
    if (f.type !== "boolean" || f.afterScript !== true) return [];
    const positionals = Object.values(spec.positionals).map((p) => p.label);
    return [[`ardea ${spec.name}`, ...positionals, `[${spec.scriptArgs?.label}]`, flagUsage(spec, n, f, true)]];
  });
  const base = top.filter(([n, f]) => !hasUnder(n) && f.rare !== true);
  return { full: form(spec, top), instead, base: form(spec, base), afterScript };
}

/**
 * The one-line usage a command's table gives, printed under a usage error.
 *
 * @example
 * ```ts
 * import { commandSpec } from "./commands.ts";
 * specUsage(commandSpec("kill")); // "usage: ardea kill <topology> [--wait-secs N] [NATS flags]"
 * ```
 */
export function specUsage(spec: CommandSpec): string {
  const f = forms(spec);
  return `usage: ${[f.full, ...f.instead].map((words) => words.join(" ")).join(" | ")}`;
}

/**
 * The one-line usage of a command (of `ardea` itself without one).
 *
 * @example
 * ```ts
 * usageLine("kill"); // "usage: ardea kill <topology> [--wait-secs N] [NATS flags]"
 * ```
 */
export function usageLine(command?: CommandName): string {
  return command === undefined ? "usage: ardea <command> [flags] (see ardea --help)" : specUsage(commandSpec(command));
}

const NATS_HELP = (() => {
  const rows = Object.entries(NATS_OPTIONS).map(([n, o]) => [`      --${n} ${o.value}`, o.help, o.env] as const);
  const [left, middle] = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)) + (i === 0 ? 3 : 2));
  return `NATS flags (each also from the environment variable shown):
${
    rows.map(([flag, help, env]) => `${flag.padEnd(left!)}${help.padEnd(middle!)}${env}\n`).join("")
  }  Flags win over the environment; a credential flag hides every credential
  variable.
`;
})();

/** A usage form on the help page: words wrapped to the width, continued under the first one after the command. */
function usageLines(words: readonly string[]): string {
  const indent = " ".repeat(3 + words[0]!.length);
  let out = `  ${words[0]}`;
  let line = out.length;
  for (const word of words.slice(1)) {
    if (line + 1 + word.length > WIDTH) {
      out += `\n${indent}${word}`;
      line = indent.length + word.length;
    } else {
      out += ` ${word}`;
      line += 1 + word.length;
    }
  }
  return `${out}\n`;
}

/**
 * The help page a command's table gives: title, usage forms, its prose,
 * a line per flag, the NATS flags and the exit statuses.
 *
 * @example
 * ```ts
 * import { commandSpec } from "./commands.ts";
 * specHelp(commandSpec("kill")).includes("--wait-secs N"); // true
 * ```
 */
export function specHelp(spec: CommandSpec): string {
  const f = forms(spec);
  const usage = new Map([f.base, f.full, ...f.afterScript, ...f.instead].map((words) => [words.join(" "), words]));
  const about = typeof spec.about === "function" ? spec.about() : spec.about;
  const rows: Array<[string, string]> = entries(spec).map(([n, flag]) => [
    `${flag.short === undefined ? "    " : `-${flag.short}, `}--${n}${flag.type === "string" ? ` ${flag.value}` : ""}`,
    flag.help,
  ]);
  if (takesFlags(spec)) rows.push([`-${GLOBAL_FLAGS.help.short}, --help`, "show this help"]);
  return `ardea ${spec.name} — ${spec.title}\n\nUsage:\n${[...usage.values()].map(usageLines).join("")}` +
    (about === undefined ? "" : `\n${about}`) +
    (rows.length === 0
      ? ""
      : `\nFlags${spec.scriptArgs?.after === "script" ? " (before the script path)" : ""}:\n${columns(rows)}`) +
    (spec.nats === true ? `\n${NATS_HELP}` : "") +
    (spec.exit === undefined ? "" : `\n${spec.exit}`);
}

/** The overview: every command with its summary (the internal ones on one line). */
function overview(): string {
  const specs = COMMANDS.map((c) => commandSpec(c));
  const synopsis = (s: CommandSpec) =>
    [s.name, ...Object.values(s.positionals).map((p) => p.brief ?? p.label), s.scriptArgs?.brief ?? ""].filter((w) =>
      w !== ""
    ).join(" ");
  const internal = specs.filter((s) => s.internal === true).map((s) => s.name).join(", ");
  const commands = [
    ...specs.filter((s) => s.internal !== true).map((s): [string, string] => [synopsis(s), s.summary]),
    [internal, "internal: started by submit's scheduler"] as const,
  ];
  const flags = Object.entries(GLOBAL_FLAGS).map(([n, f]): [string, string] => [`-${f.short}, --${n}`, f.help]);
  return `ardea — a stream-processing engine for TypeScript, with Apache Storm's API

Usage:
  ardea <command> [flags]

Commands:
${columns(commands, 30, Infinity)}
Flags:
${columns(flags, 30)}
Environment:
${columns([["ARDEA_DEBUG=1", "print stack traces of errors"]], 30)}`;
}

/**
 * Full help of `topic`, or the overview.
 *
 * @example
 * ```ts
 * helpText("kill").startsWith("ardea kill — drain and stop a topology"); // true
 * ```
 */
export function helpText(topic?: CommandName): string {
  return topic === undefined ? overview() : specHelp(commandSpec(topic));
}

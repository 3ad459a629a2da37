/**
 * The command line, parsed once into a {@link Command}: a discriminated
 * union checked with zod, so everything past this file works with typed
 * values. A mistake is a {@link UsageError} whose message is one line that
 * names the word at fault.
 *
 * @module
 */
import { z } from "zod";
import { DEFAULT_UI_PORT } from "../tracker/server.ts";
import { taskCountProblem } from "../topology/builder.ts";
import { MAX_DURATION_SECS } from "../topology/config.ts";
import { ArdeaError } from "../topology/errors.ts";
import { NATS_FLAGS, type NatsFlags } from "../transport/nats_connect.ts";

/** The commands this build implements (the help lists exactly these). */
export const COMMANDS = ["run", "init", "submit", "worker", "list", "status", "activate", "deactivate", "kill", "restart", "update", "tap", "logs", "ui", "master", "container", "help"] as const;

/** One of {@link COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

const runSchema = z.object({
  type: z.literal("run"),
  script: z.string().min(1, "the script path is empty"),
  scriptArgs: z.array(z.string()),
  quiet: z.boolean(),
  json: z.boolean(),
  /** `--ui`: serve the tracker's API and web page while the script runs. */
  ui: z.object({ host: z.string().min(1, "--host is empty"), port: z.number().int().min(0).max(65535) }).optional(),
});

/** Raw NATS connection flags; parsed with the environment by `parseNatsFlags` when the command runs. */
const natsFlagsSchema = z.object(Object.fromEntries(NATS_FLAGS.map((f) => [f, z.string().optional()]))) as z.ZodType<NatsFlags>;

const topologyName = z.string().min(1, "the topology name is empty");

const listSchema = z.object({ type: z.literal("list"), nats: natsFlagsSchema });
const initSchema = z.object({
  type: z.literal("init"),
  dir: z.string().min(1, { error: "ardea init needs a folder name" }),
  ardea: z.string().min(1, { error: "--ardea needs a package spec" }).optional(),
});
const statusSchema = z.object({ type: z.literal("status"), topology: topologyName, json: z.boolean(), nats: natsFlagsSchema });
const steerSchema = z.object({ type: z.enum(["activate", "deactivate"]), topology: topologyName, nats: natsFlagsSchema });
const killSchema = z.object({
  type: z.literal("kill"),
  topology: topologyName,
  /** Seconds to let in-flight tuples drain; undefined: the topology's `topology.message.timeout.secs`. */
  waitSecs: z.number().nonnegative().optional(),
  nats: natsFlagsSchema,
});

const tapSchema = z.object({
  type: z.literal("tap"),
  topology: topologyName,
  component: z.string().min(1, "the component name is empty"),
  stream: z.string().min(1, "the stream name is empty"),
  /** One emit in `sample` is shown. */
  sample: z.number().int().positive(),
  /** Stop after this many tuples (0: until interrupted). */
  limit: z.number().int().nonnegative(),
  json: z.boolean(),
  nats: natsFlagsSchema,
});
const logsSchema = z.object({
  type: z.literal("logs"),
  topology: topologyName,
  /** One container, or every one. */
  container: z.number().int().nonnegative().optional(),
  lines: z.number().int().positive().max(100_000),
  nats: natsFlagsSchema,
});

const uiSchema = z.object({
  type: z.literal("ui"),
  /** Interface to listen on (default 127.0.0.1; anything else is an explicit choice). */
  host: z.string().min(1, "--host is empty"),
  port: z.number().int().min(0).max(65535),
  nats: natsFlagsSchema,
});

const submitSchema = z.object({
  type: z.literal("submit"),
  script: z.string().min(1, "the script path is empty"),
  scriptArgs: z.array(z.string()),
  containers: z.number().int().positive().optional(),
  replicas: z.number().int().min(1).max(5),
  runtime: z.enum(["node", "deno"]),
  scheduler: z.enum(["local", "pool"]),
  wait: z.boolean(),
  nats: natsFlagsSchema,
});
const workerSchema = z.object({
  type: z.literal("worker"),
  slots: z.number().int().positive(),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "the worker id must be letters, digits, _ or -").optional(),
  nats: natsFlagsSchema,
});
const restartSchema = z.object({
  type: z.literal("restart"),
  topology: topologyName,
  container: z.number().int().nonnegative().optional(),
  nats: natsFlagsSchema,
});
const updateSchema = z.object({
  type: z.literal("update"),
  topology: topologyName,
  parallelism: z.record(z.string(), z.number().int().positive()),
  nats: natsFlagsSchema,
});
const masterSchema = z.object({ type: z.literal("master"), topology: topologyName, nats: natsFlagsSchema });
const containerSchema = z.object({
  type: z.literal("container"),
  /** Null with `--standby`: the process starts, then reads the name from its stdin. */
  topology: topologyName.nullable(),
  index: z.number().int().nonnegative(),
  nats: natsFlagsSchema,
});

const commandSchema = z.discriminatedUnion("type", [
  runSchema,
  initSchema,
  submitSchema,
  workerSchema,
  restartSchema,
  updateSchema,
  masterSchema,
  containerSchema,
  listSchema,
  statusSchema,
  steerSchema,
  killSchema,
  tapSchema,
  logsSchema,
  uiSchema,
  z.object({ type: z.literal("help"), topic: z.enum(COMMANDS).optional() }),
  z.object({ type: z.literal("version") }),
]);

/** A parsed command line. */
export type Command = z.infer<typeof commandSchema>;

/** Options of `ardea run`. */
export type RunCommand = z.infer<typeof runSchema>;
/** Options of `ardea submit`. */
export type SubmitCommand = z.infer<typeof submitSchema>;
/** Options of `ardea list`. */
export type ListCommand = z.infer<typeof listSchema>;
/** `ardea init <dir> [--ardea SPEC]`. */
export type InitCommand = z.infer<typeof initSchema>;
/** Options of `ardea status`. */
export type StatusCommand = z.infer<typeof statusSchema>;
/** Options of `ardea activate` and `ardea deactivate`. */
export type SteerCommand = z.infer<typeof steerSchema>;
/** Options of `ardea kill`. */
export type KillCommand = z.infer<typeof killSchema>;
/** Options of `ardea tap`. */
export type TapCommand = z.infer<typeof tapSchema>;
/** Options of `ardea logs`. */
export type LogsCommand = z.infer<typeof logsSchema>;
/** Options of `ardea ui`. */
export type UiCommand = z.infer<typeof uiSchema>;

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
  const command = PARSERS[first](rest);
  const parsed = commandSchema.safeParse(command);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(issue?.message ?? "invalid arguments", first);
  }
  return parsed.data;
}

/** Each command's parser: the words after the command name → a command object for the schema. */
const PARSERS: Readonly<Record<CommandName, (rest: readonly string[]) => unknown>> = {
  run: parseRun,
  help: parseHelp,
  init: (rest) => {
    const f = parseFlags("init", rest, { "--ardea": "string" });
    if (f.help) return { type: "help", topic: "init" };
    if (f.positionals.length !== 1) throw new UsageError(`"ardea init" takes one folder name, got ${f.positionals.length}`, "init");
    const ardea = f.values["--ardea"];
    return { type: "init", dir: f.positionals[0], ...(typeof ardea === "string" ? { ardea } : {}) };
  },
  list: (rest) => {
    const f = parseFlags("list", rest, {});
    if (f.help) return { type: "help", topic: "list" };
    if (f.positionals.length > 0) throw new UsageError(`unexpected argument "${f.positionals[0]}" for "ardea list"`, "list");
    return { type: "list", nats: f.nats };
  },
  status: (rest) => {
    const f = parseFlags("status", rest, { "--json": "bool" });
    if (f.help) return { type: "help", topic: "status" };
    return { type: "status", topology: oneTopology("status", f.positionals), json: f.values["--json"] === true, nats: f.nats };
  },
  submit: parseSubmit,
  restart: (rest) => {
    const f = parseFlags("restart", rest, {});
    if (f.help) return { type: "help", topic: "restart" };
    if (f.positionals.length === 0) throw new UsageError("missing the topology name", "restart");
    if (f.positionals.length > 2) throw new UsageError(`unexpected argument "${f.positionals[2]}" for "ardea restart"`, "restart");
    const raw = f.positionals[1];
    const container = raw === undefined ? undefined : Number(raw);
    if (container !== undefined && (!Number.isInteger(container) || container < 0)) {
      throw new UsageError(`the container must be a number >= 0, got "${raw}"`, "restart");
    }
    return { type: "restart", topology: f.positionals[0], container, nats: f.nats };
  },
  update: (rest) => {
    const f = parseFlags("update", rest, { "--component-parallelism": "string" });
    if (f.help) return { type: "help", topic: "update" };
    const raw = f.values["--component-parallelism"];
    if (typeof raw !== "string") throw new UsageError("missing --component-parallelism name:N[,name:N…]", "update");
    const parallelism: Record<string, number> = {};
    for (const part of raw.split(",")) {
      const m = /^([^:]+):(\d+)$/.exec(part.trim());
      if (!m || Number(m[2]) < 1) throw new UsageError(`--component-parallelism expects name:N with N >= 1, got "${part}"`, "update");
      const id = m[1]!;
      if (Object.hasOwn(parallelism, id)) {
        throw new UsageError(`--component-parallelism names component "${id}" twice (${id}:${parallelism[id]} and ${id}:${m[2]}); give it once`, "update");
      }
      const problem = taskCountProblem(id, Number(m[2]));
      if (problem !== null) throw new UsageError(`--component-parallelism: ${problem}`, "update");
      parallelism[id] = Number(m[2]);
    }
    return { type: "update", topology: oneTopology("update", f.positionals), parallelism, nats: f.nats };
  },
  worker: (rest) => {
    const f = parseFlags("worker", rest, { "--slots": "string", "--id": "string" });
    if (f.help) return { type: "help", topic: "worker" };
    if (f.positionals.length > 0) throw new UsageError(`unexpected argument "${f.positionals[0]}" for "ardea worker"`, "worker");
    const slots = Number(f.values["--slots"] ?? 4);
    if (!Number.isInteger(slots) || slots < 1) throw new UsageError(`--slots expects an integer >= 1, got "${String(f.values["--slots"])}"`, "worker");
    return { type: "worker", slots, id: f.values["--id"], nats: f.nats };
  },
  master: (rest) => {
    const f = parseFlags("master", rest, {});
    if (f.help) return { type: "help", topic: "master" };
    return { type: "master", topology: oneTopology("master", f.positionals), nats: f.nats };
  },
  container: (rest) => {
    const f = parseFlags("container", rest, { "--index": "string", "--standby": "bool" });
    if (f.help) return { type: "help", topic: "container" };
    const raw = f.values["--index"];
    const index = Number(raw);
    if (typeof raw !== "string" || raw.trim() === "" || !Number.isInteger(index) || index < 0) {
      throw new UsageError(`--index expects a container number >= 0, got ${raw === undefined ? "nothing" : `"${raw}"`}`, "container");
    }
    if (f.values["--standby"] === true) {
      if (f.positionals.length > 0) throw new UsageError(`"ardea container --standby" reads the topology name from stdin; got "${f.positionals[0]}"`, "container");
      return { type: "container", topology: null, index, nats: f.nats };
    }
    return { type: "container", topology: oneTopology("container", f.positionals), index, nats: f.nats };
  },
  tap: (rest) => {
    const f = parseFlags("tap", rest, { "--sample": "string", "--limit": "string", "--json": "bool" });
    if (f.help) return { type: "help", topic: "tap" };
    if (f.positionals.length < 2) throw new UsageError(`missing the ${f.positionals.length === 0 ? "topology name" : "component to tap"}`, "tap");
    if (f.positionals.length > 2) throw new UsageError(`unexpected argument "${f.positionals[2]}" for "ardea tap"`, "tap");
    const spec = f.positionals[1]!;
    const colon = spec.indexOf(":");
    const component = colon < 0 ? spec : spec.slice(0, colon);
    const stream = colon < 0 ? "default" : spec.slice(colon + 1);
    const sample = countFlag("tap", "--sample", f.values["--sample"], 1, 1);
    const limit = countFlag("tap", "--limit", f.values["--limit"], 0, 0);
    return { type: "tap", topology: f.positionals[0], component, stream, sample, limit, json: f.values["--json"] === true, nats: f.nats };
  },
  logs: (rest) => {
    const f = parseFlags("logs", rest, { "--lines": "string" });
    if (f.help) return { type: "help", topic: "logs" };
    if (f.positionals.length === 0) throw new UsageError("missing the topology name", "logs");
    if (f.positionals.length > 2) throw new UsageError(`unexpected argument "${f.positionals[2]}" for "ardea logs"`, "logs");
    const raw = f.positionals[1];
    const container = raw === undefined ? undefined : Number(raw);
    if (container !== undefined && (raw!.trim() === "" || !Number.isInteger(container) || container < 0)) {
      throw new UsageError(`the container must be a number >= 0, got "${raw}"`, "logs");
    }
    const lines = countFlag("logs", "--lines", f.values["--lines"], 100, 1);
    return { type: "logs", topology: f.positionals[0], ...(container === undefined ? {} : { container }), lines, nats: f.nats };
  },
  ui: (rest) => {
    const f = parseFlags("ui", rest, { "--port": "string", "--host": "string" });
    if (f.help) return { type: "help", topic: "ui" };
    if (f.positionals.length > 0) throw new UsageError(`unexpected argument "${f.positionals[0]}" for "ardea ui"`, "ui");
    const rawPort = f.values["--port"];
    const port = rawPort === undefined ? DEFAULT_UI_PORT : portFlag(String(rawPort), "ui");
    const host = f.values["--host"] ?? "127.0.0.1";
    return { type: "ui", host, port, nats: f.nats };
  },
  activate: (rest) => parseSteer("activate", rest),
  deactivate: (rest) => parseSteer("deactivate", rest),
  kill: (rest) => {
    const f = parseFlags("kill", rest, { "--wait-secs": "string" });
    if (f.help) return { type: "help", topic: "kill" };
    const raw = f.values["--wait-secs"];
    let waitSecs: number | undefined;
    if (typeof raw === "string") {
      waitSecs = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(waitSecs) || waitSecs < 0) {
        throw new UsageError(`--wait-secs expects a number of seconds >= 0, got "${raw}"`, "kill");
      }
      if (waitSecs > MAX_DURATION_SECS) {
        throw new UsageError(`--wait-secs must be at most ${MAX_DURATION_SECS} (about 24.8 days, the longest timer Ardea can set), got "${raw}"`, "kill");
      }
    }
    return { type: "kill", topology: oneTopology("kill", f.positionals), waitSecs, nats: f.nats };
  },
};

/**
 * `ardea submit <script> [flags] [-- script args]`: flags may stand before or
 * after the script path; the script's own arguments follow `--`.
 */
function parseSubmit(rest: readonly string[]): unknown {
  const cut = rest.indexOf("--");
  const own = cut < 0 ? rest : rest.slice(0, cut);
  const scriptArgs = cut < 0 ? [] : rest.slice(cut + 1);
  const f = parseFlags("submit", own, { "--containers": "string", "--replicas": "string", "--runtime": "string", "--scheduler": "string", "--wait": "bool" });
  if (f.help) return { type: "help", topic: "submit" };
  if (f.positionals.length === 0) throw new UsageError("missing the topology script to submit", "submit");
  if (f.positionals.length > 1) {
    throw new UsageError(`unexpected argument "${f.positionals[1]}"; put the script's own arguments after --`, "submit");
  }
  const scheduler = f.values["--scheduler"] ?? "local";
  if (scheduler !== "local" && scheduler !== "pool") throw new UsageError(`--scheduler expects local or pool, got "${String(scheduler)}"`, "submit");
  const runtime = f.values["--runtime"] ?? "node";
  if (runtime !== "node" && runtime !== "deno") throw new UsageError(`--runtime expects node or deno, got "${String(runtime)}"`, "submit");
  const rawContainers = f.values["--containers"];
  let containers: number | undefined;
  if (rawContainers !== undefined) {
    containers = Number(rawContainers);
    if (!Number.isInteger(containers) || containers < 1) {
      throw new UsageError(`--containers expects an integer >= 1, got "${String(rawContainers)}"`, "submit");
    }
  }
  const replicas = Number(f.values["--replicas"] ?? 1);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new UsageError(`--replicas expects an integer from 1 to 5, got "${String(f.values["--replicas"])}"`, "submit");
  }
  return { type: "submit", script: f.positionals[0], scriptArgs, containers, replicas, runtime, scheduler, wait: f.values["--wait"] === true, nats: f.nats };
}

/** An integer flag's value (`fallback` when absent); below `min` is a usage error. */
function countFlag(command: CommandName, flag: string, raw: string | boolean | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`${flag} expects an integer >= ${min}, got "${String(raw)}"`, command);
  }
  return n;
}

function parseSteer(name: "activate" | "deactivate", rest: readonly string[]): unknown {
  const f = parseFlags(name, rest, {});
  if (f.help) return { type: "help", topic: name };
  return { type: name, topology: oneTopology(name, f.positionals), nats: f.nats };
}

function oneTopology(command: CommandName, positionals: string[]): string {
  if (positionals.length === 0) throw new UsageError("missing the topology name", command);
  if (positionals.length > 1) throw new UsageError(`"ardea ${command}" takes one topology name, got ${positionals.length}`, command);
  return positionals[0]!;
}

interface ParsedFlags {
  help: boolean;
  positionals: string[];
  nats: NatsFlags;
  values: Record<string, string | boolean>;
}

/**
 * Flags and positional words of a control command. Every such command takes
 * the NATS flags (`--nats URL` or `--nats=URL`) besides its own `spec`.
 */
function parseFlags(command: CommandName, rest: readonly string[], spec: Readonly<Record<string, "bool" | "string">>): ParsedFlags {
  const out: ParsedFlags = { help: false, positionals: [], nats: {}, values: {} };
  const natsFlags = new Set<string>(NATS_FLAGS.map((f) => `--${f}`));
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (word === "--") {
      out.positionals.push(...rest.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      out.positionals.push(word);
      continue;
    }
    if (word === "--help" || word === "-h") {
      out.help = true;
      continue;
    }
    const eq = word.indexOf("=");
    const name = eq < 0 ? word : word.slice(0, eq);
    const kind = natsFlags.has(name) ? "string" : spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag "${name}" for "ardea ${command}"`, command);
    let value: string | boolean;
    if (kind === "bool") {
      if (eq >= 0) throw new UsageError(`flag "${name}" takes no value`, command);
      value = true;
    } else if (eq >= 0) {
      value = word.slice(eq + 1);
    } else {
      const next = rest[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`flag "${name}" needs a value`, command);
      value = next;
      i++;
    }
    if (natsFlags.has(name)) out.nats[name.slice(2) as keyof NatsFlags] = value as string;
    else out.values[name] = value;
  }
  return out;
}

function parseHelp(rest: readonly string[]): unknown {
  if (rest.length > 1) throw new UsageError(`"ardea help" takes one command name, got ${rest.length}`, "help");
  const [topic] = rest;
  if (topic === undefined) return { type: "help" };
  if (!isCommand(topic)) throw new UsageError(`no help for unknown command "${topic}"`, "help");
  return { type: "help", topic };
}

/** `--port` or `--host` of `ardea run --ui`. */
function setUiFlag(ui: { host?: string; port?: number }, name: string, value: string | undefined): void {
  if (value === undefined) throw new UsageError(`flag "--${name}" needs a value`, "run");
  if (name === "host") {
    ui.host = value;
    return;
  }
  ui.port = portFlag(value, "run");
}

/** The value of a `--port` flag of `command`: a port number 0-65535. */
function portFlag(value: string, command: CommandName): number {
  const port = Number(value);
  if (value.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port expects a port number 0-65535, got "${value}"`, command);
  }
  return port;
}

function parseRun(rest: readonly string[]): unknown {
  const options = { quiet: false, json: false };
  const ui: { on: boolean; host?: string; port?: number } = { on: false };
  let i = 0;
  for (; i < rest.length; i++) {
    const word = rest[i]!;
    if (word === "--") {
      i++;
      break;
    }
    if (!word.startsWith("-") || word === "-") break;
    if (word === "--help" || word === "-h") return { type: "help", topic: "run" };
    if (word === "--ui") {
      ui.on = true;
      continue;
    }
    const uiFlag = /^--(port|host)(?:=(.*))?$/.exec(word);
    if (uiFlag !== null) {
      const value = uiFlag[2] ?? rest[++i];
      setUiFlag(ui, uiFlag[1]!, value);
      continue;
    }
    const option = RUN_FLAGS[word];
    if (option === undefined) throw new UsageError(`unknown flag "${word}" for "ardea run"`, "run");
    options[option] = true;
  }
  const script = rest[i];
  if (script === undefined) throw new UsageError("missing the topology script to run", "run");
  // `ardea run topo.ts --ui` works too: after the script, `--ui` (and then its
  // `--port`/`--host`) is ardea's; everything after `--` is the script's, untouched.
  const scriptArgs: string[] = [];
  let lifted = false;
  for (let j = i + 1; j < rest.length; j++) {
    const word = rest[j]!;
    if (word === "--") {
      scriptArgs.push(...rest.slice(j + 1));
      break;
    }
    if (word === "--ui") {
      ui.on = lifted = true;
      continue;
    }
    const uiFlag = lifted ? /^--(port|host)(?:=(.*))?$/.exec(word) : null;
    if (uiFlag !== null) {
      const value = uiFlag[2] ?? rest[++j];
      setUiFlag(ui, uiFlag[1]!, value);
      continue;
    }
    scriptArgs.push(word);
  }
  if (!ui.on && (ui.host !== undefined || ui.port !== undefined)) {
    throw new UsageError(`--${ui.host !== undefined ? "host" : "port"} needs --ui`, "run");
  }
  const uiOption = ui.on ? { ui: { host: ui.host ?? "127.0.0.1", port: ui.port ?? DEFAULT_UI_PORT } } : {};
  return { type: "run", script, scriptArgs, ...options, ...uiOption };
}

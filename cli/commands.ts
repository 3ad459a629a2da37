/**
 * Every `ardea` command, declared once: its flags, positional arguments,
 * help and the command object its words become. `args.ts` parses with
 * these tables and `help.ts` prints them (see `command_table.ts` for what
 * each field means).
 *
 * @module
 */
import { z } from "zod";
import { DEFAULT_UI_PORT } from "../tracker/server.ts";
import { taskCountProblem } from "../topology/builder.ts";
import { MAX_DURATION_SECS } from "../topology/config.ts";
import type { NatsFlagName } from "../transport/nats_connect.ts";
import {
  type AnyCommandSpec,
  type CommandSpec,
  defineCommand,
  integer,
  invalid,
  numberWhere,
  oneOf,
  text,
} from "./command_table.ts";

/** The commands this build implements, in the order the help lists them. */
export const COMMANDS = [
  "run",
  "init",
  "submit",
  "worker",
  "list",
  "status",
  "activate",
  "deactivate",
  "kill",
  "restart",
  "update",
  "tap",
  "logs",
  "ui",
  "master",
  "container",
  "help",
] as const;

/** One of {@link COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}

/** The flags `ardea` itself takes, before any command. */
export const GLOBAL_FLAGS = {
  help: { short: "h", help: "show this help (also: ardea <command> --help)" },
  version: { short: "V", help: "print the version" },
} as const;

/** How the help documents each NATS connection flag (the flags themselves are `NATS_FLAGS` of transport/nats_connect.ts). */
export const NATS_OPTIONS: Readonly<
  Record<NatsFlagName, { readonly value: string; readonly help: string; readonly env: string }>
> = {
  nats: { value: "URL[,URL…]", help: "servers of the NATS cluster", env: "ARDEA_NATS_URL" },
  user: { value: "U", help: "user name", env: "ARDEA_NATS_USER" },
  password: { value: "P", help: "password", env: "ARDEA_NATS_PASSWORD" },
  token: { value: "T", help: "token", env: "ARDEA_NATS_TOKEN" },
  creds: { value: "FILE", help: "user JWT and seed (.creds)", env: "ARDEA_NATS_CREDS" },
  nkey: { value: "FILE", help: "nkey seed", env: "ARDEA_NATS_NKEY" },
  "tls-ca": { value: "FILE", help: "CA of the servers' certificates", env: "ARDEA_NATS_TLS_CA" },
  "tls-cert": { value: "FILE", help: "client certificate", env: "ARDEA_NATS_TLS_CERT" },
  "tls-key": { value: "FILE", help: "client certificate's key", env: "ARDEA_NATS_TLS_KEY" },
};

const topology = {
  label: "<topology>",
  noun: "topology name",
  parse: z.string().min(1, "the topology name is empty"),
} as const;
const script = (verb: string) =>
  ({
    label: "<topology.ts>",
    noun: `topology script to ${verb}`,
    parse: z.string().min(1, "the script path is empty"),
  }) as const;
/** `--resources DIR` of `run` and `submit`: the topology's code directory. */
const resources = {
  type: "string",
  value: "DIR",
  rare: true,
  parse: text("needs a folder"),
  help: "the folder shell components run in (the code dir; default: resources/ beside the script, else the " +
    "script's folder); submit ships it, or resources/ if there is one, to every container",
} as const;

const containerMessage = (raw: string) => `the container must be a number >= 0, got "${raw}"`;

const port = (flag: string) =>
  numberWhere(
    (n, raw) => raw.trim() !== "" && Number.isInteger(n) && n >= 0 && n <= 65535,
    (raw) => `${flag} expects a port number 0-65535, got "${raw}"`,
  );

/** `--component-parallelism name:N[,name:N…]`: each component once, N a valid task count. */
const parallelism = (flag: string) =>
  z.string().transform((raw, ctx) => {
    const out: Record<string, number> = {};
    for (const part of raw.split(",")) {
      const m = /^([^:]+):(\d+)$/.exec(part.trim());
      const [id, n] = m === null ? ["", 0] : [m[1]!, Number(m[2])];
      const problem = n < 1
        ? `${flag} expects name:N with N >= 1, got "${part}"`
        : Object.hasOwn(out, id)
        ? `${flag} names component "${id}" twice (${id}:${out[id]} and ${id}:${m![2]}); give it once`
        : taskCountProblem(id, n);
      if (problem !== null) return invalid(ctx, problem.startsWith(flag) ? problem : `${flag}: ${problem}`);
      out[id] = n;
    }
    return out;
  });

const steer = <N extends "activate" | "deactivate">(name: N, title: string, state: string) =>
  defineCommand({
    name,
    title,
    summary: title,
    flags: {},
    nats: true,
    positionals: { topology },
    about: `Sends "${name}" to the topology's containers and marks it ${state}.\n`,
    exit: `Exit status: 0 done, 1 unknown or ended topology or NATS unreachable, 2 bad command line.\n`,
    build: ({ positionals, nats }) => ({ topology: positionals.topology, nats }),
  });

/** The flags of `run` and `submit` that only a Flux file (.yaml, .yml) takes. */
const fluxFlags = {
  filter: {
    type: "string",
    value: "FILE",
    parse: text("needs a properties file"),
    help: "Flux file: replace each ${key} with its value in this Java properties file",
  },
  "env-filter": { type: "boolean", help: "Flux file: replace each ${ENV-NAME} with environment variable NAME" },
  "dry-run": {
    type: "boolean",
    help: "Flux file: print the topology it would run (components, parallelism, streams, config) and exit",
  },
} as const;

/** A Flux file's options from the flags of {@link fluxFlags}: only those given, so other commands read as before. */
const fluxOptions = (flags: { filter: string | undefined; "env-filter": boolean; "dry-run": boolean }) => ({
  filter: flags.filter,
  envFilter: flags["env-filter"] ? true as const : undefined,
  dryRun: flags["dry-run"] ? true as const : undefined,
});

/** Each command's table, by name. */
export const COMMAND_SPECS = {
  run: defineCommand({
    name: "run",
    title: "run a topology script in this process (embedded mode)",
    summary: "run a topology script in this process",
    flags: {
      quiet: { type: "boolean", short: "q", help: "no status line and no summary" },
      json: {
        type: "boolean",
        help: "print the final summary as one line of JSON on stdout (instead of the summary on stderr)",
      },
      ...fluxFlags,
      ui: {
        type: "boolean",
        afterScript: true,
        help:
          "serve the tracker while the script runs: a web page (graph, live charts, per-component table, activate/deactivate/kill), " +
          "the REST API under /api/v1/ and Prometheus text at /metrics; its URL goes to stderr",
      },
      port: {
        type: "string",
        under: "ui",
        value: "P",
        parse: port,
        default: DEFAULT_UI_PORT,
        help: `the tracker's port (default ${DEFAULT_UI_PORT}; 0 picks a free one)`,
      },
      host: {
        type: "string",
        under: "ui",
        value: "H",
        parse: text(),
        default: "127.0.0.1",
        help: "the interface it listens on (default 127.0.0.1, loopback only; anything else must be asked for)",
      },
      resources,
    },
    positionals: { script: script("run") },
    scriptArgs: { after: "script", label: "script args…", brief: "[args…]" },
    about: `Imports the script, which builds a topology and calls submit(), and waits
until every topology it submitted has ended. Words after the script path
belong to the script (runtime args(), process.argv), except --ui (and after
it --port/--host); everything after a "--" is the script's, untouched.
Ctrl-C drains the topologies, a second Ctrl-C kills them, a third exits at
once. With --ui on a terminal, the UI stays up with the final figures after
the run ends, until Ctrl-C.

On a terminal, a status line on stderr shows uptime, tuples emitted per
second, acked, failed, in flight, backpressure and restarts. A summary of
each run goes to stderr at the end.

A Flux file (.yaml, .yml; Storm's Flux format) runs the topology it
describes under its name and config, taking no script args; its classNames
are "<module>#<export>" (relative to the file), "ardea#<export>" or Storm's
wrapper names. --filter, --env-filter and --dry-run are for Flux files.
`,
    exit: `Exit status:
  0  every topology finished or was killed (or the script submitted none)
  1  the script threw, or a topology failed
  2  the command line is wrong
`,
    build: ({ flags, positionals, scriptArgs }) => ({
      script: positionals.script,
      scriptArgs,
      quiet: flags.quiet,
      json: flags.json,
      ...fluxOptions(flags),
      /** `--ui`: serve the tracker's API and web page while the script runs. */
      ui: flags.ui ? { host: flags.host, port: flags.port } : undefined,
      resources: flags.resources,
    }),
  }),
  init: defineCommand({
    name: "init",
    title: "create a starter project that depends on Ardea",
    summary: "create a starter project (word count, test, README)",
    flags: {
      ardea: {
        type: "string",
        value: "SPEC",
        parse: text("needs a package spec"),
        help: "the Ardea dependency in package.json (default ^<this version>; e.g. a path to a tarball of npm pack)",
      },
    },
    nats: "ignored",
    positionals: {
      dir: {
        label: "<folder>",
        noun: "folder name",
        missing: '"ardea init" takes one folder name, got 0',
        parse: z.string().min(1, "ardea init needs a folder name"),
      },
    },
    about: `Writes into <folder> (created; it must be new or empty): package.json (with
Ardea, and the allowScripts decisions for its dependencies), tsconfig.json,
word_count.ts (a word count topology), topology.ts (runs it),
word_count_test.ts (a test with completeTopology) and README.md. Then:

  cd <folder> && npm install && npm start
  npm test
`,
    exit: "Exit status: 0 written, 1 the folder is not empty, 2 bad command line.\n",
    build: ({ flags, positionals }) => ({ dir: positionals.dir, ardea: flags.ardea }),
  }),
  submit: defineCommand({
    name: "submit",
    title: "run a topology on a NATS cluster",
    summary: "run a topology on a NATS cluster (--wait to follow it)",
    flags: {
      containers: {
        type: "string",
        value: "N",
        parse: integer({ min: 1 }),
        help: "container processes (default: topology.containers, 1)",
      },
      ...fluxFlags,
      scheduler: {
        type: "string",
        ...oneOf(["local", "pool"]),
        default: "local",
        help: "where the containers run: local (the default) on this machine, pool on the ardea worker daemons",
      },
      replicas: {
        type: "string",
        value: "R",
        parse: integer({ min: 1, max: 5 }),
        default: 1,
        help:
          "replicas of the KV bucket and code store when this submit creates them (3 on a 3-server cluster; default 1)",
      },
      runtime: {
        type: "string",
        ...oneOf(["node", "deno"]),
        default: "node",
        help: "node (default) or deno for the containers",
      },
      wait: {
        type: "boolean",
        help:
          "stay until the topology ends; exit 0 only if it FINISHED (without --wait the master runs detached; see ardea status)",
      },
      resources,
    },
    nats: true,
    positionals: { script: script("submit") },
    scriptArgs: { after: "--", label: "script args…", brief: "" },
    about: `<topology.ts> may also be a Flux file (.yaml, .yml): it is read here (with
--filter, --env-filter) and travels as a generated module with the document
and its className modules; --dry-run prints its topology and exits without
connecting.

Runs the script here with submit() captured to learn its topology, packs its
tasks round-robin into N containers (default: topology.containers), stores
the script's bundle in the JetStream object store and the topology record in
KV, and starts the containers under a master: on this machine (--scheduler
local, the default) or on the \`ardea worker\` daemons of the pool (--scheduler
pool). The script runs again inside each container with the same arguments
(local: in the same working directory; pool: in each worker's, so give file
arguments as paths every worker can read). The files shell components run
travel with the bundle: the --resources folder, else resources/ beside the
script (all files, modes kept, at most 64 MiB); each container extracts them
and runs its shell components there.
`,
    exit: `Exit status: 0 submitted (with --wait: finished), 1 failed, 2 bad command line.\n`,
    build: ({ flags, positionals, nats, scriptArgs }) => ({
      script: positionals.script,
      scriptArgs,
      containers: flags.containers,
      ...fluxOptions(flags),
      replicas: flags.replicas,
      runtime: flags.runtime,
      scheduler: flags.scheduler,
      wait: flags.wait,
      resources: flags.resources,
      nats,
    }),
  }),
  worker: defineCommand({
    name: "worker",
    title: "offer this machine to the pool scheduler",
    summary: "offer this machine's slots to the pool scheduler",
    flags: {
      slots: {
        type: "string",
        value: "N",
        parse: integer({ min: 1 }),
        default: 4,
        help: "containers this machine runs at once (default 4)",
      },
      id: {
        type: "string",
        value: "ID",
        parse: () =>
          z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "the worker id must be letters, digits, _ or -"),
        help: "the worker's name in the pool (default: host name and process id)",
      },
    },
    nats: true,
    positionals: {},
    about: `Registers in the cluster's KV bucket and runs the containers that masters
of \`ardea submit --scheduler pool\` topologies place here, up to N at once
(default 4). Run one per machine; Ctrl-C stops its containers and leaves.
`,
    build: ({ flags, nats }) => ({ slots: flags.slots, id: flags.id, nats }),
  }),
  list: defineCommand({
    name: "list",
    title: "list the topologies on a NATS cluster",
    summary: "list the topologies on a NATS cluster",
    flags: {},
    nats: true,
    positionals: {},
    about: "Prints one line per topology: name, state, containers, age.\n",
    exit: `Exit status: 0 listed (perhaps none), 1 NATS unreachable, 2 bad command line.\n`,
    build: ({ nats }) => ({ nats }),
  }),
  status: defineCommand({
    name: "status",
    title: "show a topology's state and containers",
    summary: "show a topology's state and containers",
    flags: {
      json: {
        type: "boolean",
        help:
          'print one JSON object: {"topology", "state", "containers": [{"id", "pid", "host", "tasks", "heartbeatAgeMs", "restarts", "backpressure"}], ' +
          '"backpressure", "components": [{"component", "errors", "restarts", "lastError", "lastErrorAt", "lastErrorContainer"}], "error"?}',
      },
    },
    nats: true,
    positionals: { topology },
    exit: `Exit status: 0 shown, 1 unknown topology or NATS unreachable, 2 bad command line.\n`,
    build: ({ flags, positionals, nats }) => ({ topology: positionals.topology, json: flags.json, nats }),
  }),
  activate: steer("activate", "resume a paused topology's spouts", "RUNNING"),
  deactivate: steer("deactivate", "pause a topology's spouts", "PAUSED"),
  kill: defineCommand({
    name: "kill",
    title: "drain and stop a topology (as Storm's kill -w)",
    summary: "drain and stop a topology",
    flags: {
      "wait-secs": {
        type: "string",
        value: "N",
        parse: (flag: string) =>
          z.string().transform((raw, ctx) => {
            const n = Number(raw);
            const problem = raw.trim() === "" || !Number.isFinite(n) || n < 0
              ? "expects a number of seconds >= 0"
              : n > MAX_DURATION_SECS
              ? `must be at most ${MAX_DURATION_SECS} (about 24.8 days, the longest timer Ardea can set)`
              : null;
            return problem === null ? n : invalid(ctx, `${flag} ${problem}, got "${raw}"`);
          }),
        help: "drain time in seconds (default: the topology's topology.message.timeout.secs, else 30)",
      },
    },
    nats: true,
    positionals: { topology },
    about: `Deactivates the spouts, lets tuples in flight drain for N seconds, then
stops every container. Waits until the topology has ended (at most N+10 s).
Without a running topology master, marks the topology KILLED itself after
N seconds.
`,
    exit: `Exit status: 0 killed or finished, 1 failed, still running, unknown topology
or NATS unreachable, 2 bad command line.\n`,
    /** `waitSecs` undefined: the topology's `topology.message.timeout.secs`. */
    build: ({ flags, positionals, nats }) => ({ topology: positionals.topology, waitSecs: flags["wait-secs"], nats }),
  }),
  restart: defineCommand({
    name: "restart",
    title: "restart the containers of a running topology",
    summary: "restart one container (or all) of a topology",
    flags: {},
    nats: true,
    // Unlike `logs`, an empty or blank container word is container 0, as it always was.
    positionals: {
      topology,
      container: {
        label: "[container]",
        brief: "[c]",
        noun: "container",
        optional: true,
        parse: numberWhere((n) => Number.isInteger(n) && n >= 0, containerMessage),
      },
    },
    about: `The master stops the container (all of them without a number) and starts it
again; its tasks restart and spouts replay what was in flight. A requested
restart does not use the topology's restart budget.
`,
    build: ({ positionals, nats }) => ({ topology: positionals.topology, container: positionals.container, nats }),
  }),
  update: defineCommand({
    name: "update",
    title: "change the parallelism of a running topology's components",
    summary: "change components' parallelism of a running topology",
    flags: {
      "component-parallelism": {
        type: "string",
        value: "name:N[,name:N…]",
        required: true,
        parse: parallelism,
        help: "the new number of tasks of each component named",
      },
    },
    nats: true,
    positionals: { topology },
    about: `Writes the new plan (tasks of each component, packed round-robin over the
same containers) into the topology record; the master deactivates the
spouts, lets pending tuple trees drain (up to 10 s), and restarts every
container on the new plan. In-memory state of bolts starts afresh (keyed
state moves with the effectively-once mode, not yet available); spouts
replay what was not acked, so every tuple is still processed at least once.
`,
    build: ({ flags, positionals, nats }) => ({
      topology: positionals.topology,
      parallelism: flags["component-parallelism"],
      nats,
    }),
  }),
  tap: defineCommand({
    name: "tap",
    title: "print live tuples of a running topology",
    summary: "print live tuples a component emits (sampled)",
    flags: {
      sample: {
        type: "string",
        value: "N",
        parse: integer({ min: 1 }),
        default: 1,
        help: "show one emit in N per container (default 1: every one)",
      },
      limit: {
        type: "string",
        value: "K",
        parse: integer({ min: 0 }),
        default: 0,
        help: "stop after K tuples (default 0: until Ctrl-C)",
      },
      json: { type: "boolean", help: "one JSON object per line: {container, task, component, stream, ts, values}" },
    },
    nats: true,
    positionals: {
      topology,
      target: {
        label: "<component>[:stream]",
        brief: "<component>",
        noun: "component to tap",
        parse: z.string().transform((spec) => {
          const colon = spec.indexOf(":");
          return colon < 0
            ? { component: spec, stream: "default" }
            : { component: spec.slice(0, colon), stream: spec.slice(colon + 1) };
        }).pipe(
          z.object({
            component: z.string().min(1, "the component name is empty"),
            stream: z.string().min(1, "the stream name is empty"),
          }),
        ),
      },
    },
    about: `Prints what <component> emits on <stream> (default: "default"), as each
container sees it, one line per tuple: container, task, component:stream and
the values as JSON. Taps only read: acking and delivery are unchanged. The
containers publish only while the tap runs (a lease the command renews each
second; a tap whose command died stops within 3 s), at most 200 tuples a
second each.
`,
    exit: `Exit status: 0 done, 1 unknown or ended topology, unknown component or NATS
unreachable, 2 bad command line.\n`,
    build: ({ flags, positionals, nats }) => ({
      topology: positionals.topology,
      ...positionals.target,
      sample: flags.sample,
      limit: flags.limit,
      json: flags.json,
      nats,
    }),
  }),
  logs: defineCommand({
    name: "logs",
    title: "print the recent log lines of a topology's containers",
    summary: "print the recent log lines of the containers",
    flags: {
      lines: {
        type: "string",
        value: "N",
        parse: integer({ min: 1, atMost: 100_000 }),
        default: 100,
        help: "lines per container (default 100)",
      },
    },
    nats: true,
    positionals: {
      topology,
      container: {
        label: "[container]",
        brief: "[c]",
        noun: "container",
        optional: true,
        parse: numberWhere((n, raw) => raw.trim() !== "" && Number.isInteger(n) && n >= 0, containerMessage),
      },
    },
    about: `Each container keeps its last 2000 log lines (engine messages, crash stacks
and what the components print through console) and sends the newest N on
request. Lines are prefixed with the container number and the time.
`,
    exit: `Exit status: 0 printed, 1 unknown topology, a container did not answer, or
NATS unreachable, 2 bad command line.\n`,
    build: ({ flags, positionals, nats }) => ({
      topology: positionals.topology,
      container: positionals.container,
      lines: flags.lines,
      nats,
    }),
  }),
  ui: defineCommand({
    name: "ui",
    title: "the tracker of a NATS cluster: web page, REST API and Prometheus",
    summary: "serve the tracker (web page, REST API, /metrics) for a NATS cluster",
    flags: {
      port: {
        type: "string",
        value: "P",
        parse: port,
        default: DEFAULT_UI_PORT,
        help: `port to listen on (default ${DEFAULT_UI_PORT}; 0 picks a free one)`,
      },
      host: {
        type: "string",
        value: "H",
        parse: text(),
        default: "127.0.0.1",
        help:
          "interface to listen on (default 127.0.0.1); any other makes the tracker reachable from other machines, with no authentication",
      },
    },
    nats: true,
    positionals: {},
    about: `Serves, for every topology submitted to the cluster (ones submitted or
deleted later come and go), the same web page, REST API (/api/v1/) and
Prometheus endpoint (/metrics) as \`ardea run --ui\`, from what the
containers publish each second: counters per component, task and
container, the logical and physical plans, exceptions with stacks, and
backpressure episodes. Activate, Deactivate and Kill steer the topology as
the commands of those names do. Prints the URL on stderr and runs until
interrupted. See docs/tracker.md.
`,
    exit: `Exit status: 0 stopped by a signal, 1 NATS unreachable or port taken, 2 bad command line.\n`,
    build: ({ flags, nats }) => ({ host: flags.host, port: flags.port, nats }),
  }),
  master: defineCommand({
    name: "master",
    title: "supervise a submitted topology's containers (started by submit)",
    summary: "supervise a submitted topology's containers",
    internal: true,
    flags: {},
    nats: true,
    positionals: { topology },
    build: ({ positionals, nats }) => ({ topology: positionals.topology, nats }),
  }),
  container: defineCommand({
    name: "container",
    title: "one container process of a topology (started by a scheduler)",
    summary: "one container process of a topology",
    internal: true,
    flags: {
      index: {
        type: "string",
        value: "I",
        required: true,
        parse: (flag: string) =>
          numberWhere(
            (n, raw) => raw.trim() !== "" && Number.isInteger(n) && n >= 0,
            (raw) => `${flag} expects a container number >= 0, got "${raw}"`,
          ),
        help: "which container of the topology this process is",
      },
      standby: {
        type: "boolean",
        insteadOf: { positional: "topology", why: "reads the topology name from stdin" },
        help: "start before the topology is known, then read its name from stdin",
      },
    },
    nats: true,
    positionals: { topology },
    about: `With --standby it loads the engine and connects to NATS first, then reads
the topology name from its stdin (ardea submit --wait starts its containers
so while it builds the topology); it exits quietly when stdin ends first.
`,
    /** `topology` null with `--standby`: the process starts, then reads the name from its stdin. */
    build: ({ flags, positionals, nats }) => ({
      topology: flags.standby ? null : positionals.topology,
      index: flags.index,
      nats,
    }),
  }),
  help: defineCommand({
    name: "help",
    title: "show help",
    summary: "show help for a command",
    flags: {},
    positionals: {
      topic: {
        label: "[command]",
        noun: "command name",
        optional: true,
        parse: z.string().transform((word, ctx): CommandName =>
          isCommand(word) ? word : invalid(ctx, `no help for unknown command "${word}"`)
        ),
      },
    },
    about: (): string =>
      `Commands: ${COMMANDS.filter((c) => (COMMAND_SPECS[c] as { internal?: true }).internal !== true).join(", ")}.\n`,
    build: ({ positionals }) => ({ topic: positionals.topic }),
  }),
} as const satisfies { readonly [N in CommandName]: { readonly name: N } };

/**
 * The table of one command, typed for the code that reads any of them.
 *
 * @example
 * ```ts
 * commandSpec("kill").flags["wait-secs"]?.help; // "drain time in seconds (…)"
 * ```
 */
export function commandSpec(name: CommandName): CommandSpec {
  return COMMAND_SPECS[name] as AnyCommandSpec as CommandSpec;
}

/**
 * Help and usage text. Lists only the commands this build implements.
 *
 * @module
 */
import type { CommandName } from "./args.ts";

/** One-line usage of each command, printed under a usage error. */
export const USAGE: Readonly<Record<CommandName | "ardea", string>> = {
  ardea: "usage: ardea <command> [flags] (see ardea --help)",
  run: "usage: ardea run [--quiet] [--json] [--ui [--port P] [--host H]] <topology.ts> [--] [script args…]",
  init: "usage: ardea init <folder> [--ardea SPEC]",
  submit: "usage: ardea submit <topology.ts> [--containers N] [--scheduler local|pool] [--replicas R] [--runtime node|deno] [--wait] [NATS flags] [-- script args…]",
  worker: "usage: ardea worker [--slots N] [--id ID] [NATS flags]",
  restart: "usage: ardea restart <topology> [container] [NATS flags]",
  update: "usage: ardea update <topology> --component-parallelism name:N[,name:N…] [NATS flags]",
  master: "usage: ardea master <topology> [NATS flags]",
  container: "usage: ardea container <topology> --index I [NATS flags] | ardea container --standby --index I [NATS flags]",
  list: "usage: ardea list [NATS flags]",
  status: "usage: ardea status <topology> [--json] [NATS flags]",
  activate: "usage: ardea activate <topology> [NATS flags]",
  deactivate: "usage: ardea deactivate <topology> [NATS flags]",
  kill: "usage: ardea kill <topology> [--wait-secs N] [NATS flags]",
  tap: "usage: ardea tap <topology> <component>[:stream] [--sample N] [--limit K] [--json] [NATS flags]",
  logs: "usage: ardea logs <topology> [container] [--lines N] [NATS flags]",
  ui: "usage: ardea ui [--port P] [--host H] [NATS flags]",
  help: "usage: ardea help [command]",
};

const NATS_FLAGS_HELP = `NATS flags (each also from the environment variable shown):
      --nats URL[,URL…]   servers of the NATS cluster          ARDEA_NATS_URL
      --user U --password P                                   ARDEA_NATS_USER, ARDEA_NATS_PASSWORD
      --token T                                               ARDEA_NATS_TOKEN
      --creds FILE        user JWT and seed (.creds)           ARDEA_NATS_CREDS
      --nkey FILE         nkey seed                            ARDEA_NATS_NKEY
      --tls-ca FILE       CA of the servers' certificates      ARDEA_NATS_TLS_CA
      --tls-cert FILE --tls-key FILE  client certificate       ARDEA_NATS_TLS_CERT, ARDEA_NATS_TLS_KEY
  Flags win over the environment; a credential flag hides every credential
  variable.
`;

const OVERVIEW = `ardea — a stream-processing engine for TypeScript, with Apache Storm's API

Usage:
  ardea <command> [flags]

Commands:
  run <topology.ts> [args…]   run a topology script in this process
  init <folder>               create a starter project (word count, test, README)
  submit <topology.ts>        run a topology on a NATS cluster (--wait to follow it)
  worker                      offer this machine's slots to the pool scheduler
  list                        list the topologies on a NATS cluster
  status <topology>           show a topology's state and containers
  activate <topology>         resume a paused topology's spouts
  deactivate <topology>       pause a topology's spouts
  kill <topology>             drain and stop a topology
  restart <topology> [c]      restart one container (or all) of a topology
  update <topology>           change components' parallelism of a running topology
  tap <topology> <component>  print live tuples a component emits (sampled)
  logs <topology> [c]         print the recent log lines of the containers
  ui                          serve the tracker (web page, REST API, /metrics) for a NATS cluster
  help [command]              show help for a command
  master, container           internal: started by submit's scheduler

Flags:
  -h, --help                  show this help (also: ardea <command> --help)
  -V, --version               print the version

Environment:
  ARDEA_DEBUG=1               print stack traces of errors
`;

const RUN = `ardea run — run a topology script in this process (embedded mode)

Usage:
  ardea run [--quiet] [--json] <topology.ts> [--] [script args…]
  ardea run --ui [--port P] [--host H] [--quiet] [--json] <topology.ts> …
  ardea run <topology.ts> [script args…] --ui [--port P] [--host H]

Imports the script, which builds a topology and calls submit(), and waits
until every topology it submitted has ended. Words after the script path
belong to the script (runtime args(), process.argv), except --ui (and after
it --port/--host); everything after a "--" is the script's, untouched.
Ctrl-C drains the topologies, a second Ctrl-C kills them, a third exits at
once. With --ui on a terminal, the UI stays up with the final figures after
the run ends, until Ctrl-C.

On a terminal, a status line on stderr shows uptime, tuples emitted per
second, acked, failed, in flight, backpressure and restarts. A summary of
each run goes to stderr at the end.

Flags (before the script path):
  -q, --quiet    no status line and no summary
      --json     print the final summary as one line of JSON on stdout
                 (instead of the summary on stderr)
      --ui       serve the tracker while the script runs: a web page (graph,
                 live charts, per-component table, activate/deactivate/kill),
                 the REST API under /api/v1/ and Prometheus text at /metrics;
                 its URL goes to stderr
      --port P   the tracker's port (default 8889; 0 picks a free one)
      --host H   the interface it listens on (default 127.0.0.1, loopback
                 only; anything else must be asked for)
  -h, --help     show this help

Exit status:
  0  every topology finished or was killed (or the script submitted none)
  1  the script threw, or a topology failed
  2  the command line is wrong
`;

const HELP = `ardea help — show help

Usage:
  ardea help [command]

Commands: run, init, submit, worker, list, status, activate, deactivate, kill, restart, update, tap, logs, ui, help.
`;

const INIT = `ardea init — create a starter project that depends on Ardea

Usage:
  ardea init <folder> [--ardea SPEC]

Writes into <folder> (created; it must be new or empty): package.json (with
Ardea, and the allowScripts decisions for its dependencies), tsconfig.json,
word_count.ts (a word count topology), topology.ts (runs it),
word_count_test.ts (a test with completeTopology) and README.md. Then:

  cd <folder> && npm install && npm start
  npm test

Flags:
      --ardea SPEC   the Ardea dependency in package.json (default ^<this
                     version>; e.g. a path to a tarball of npm pack)

Exit status: 0 written, 1 the folder is not empty, 2 bad command line.
`;

const LIST = `ardea list — list the topologies on a NATS cluster

Usage:
  ardea list [NATS flags]

Prints one line per topology: name, state, containers, age.

${NATS_FLAGS_HELP}
Exit status: 0 listed (perhaps none), 1 NATS unreachable, 2 bad command line.
`;

const STATUS = `ardea status — show a topology's state and containers

Usage:
  ardea status <topology> [--json] [NATS flags]

Flags:
      --json     print one JSON object: {"topology", "state", "containers":
                 [{"id", "pid", "host", "tasks", "heartbeatAgeMs", "restarts",
                 "backpressure"}], "backpressure", "components":
                 [{"component", "errors", "restarts", "lastError",
                 "lastErrorAt", "lastErrorContainer"}], "error"?}

${NATS_FLAGS_HELP}
Exit status: 0 shown, 1 unknown topology or NATS unreachable, 2 bad command line.
`;

const TAP = `ardea tap — print live tuples of a running topology

Usage:
  ardea tap <topology> <component>[:stream] [--sample N] [--limit K] [--json] [NATS flags]

Prints what <component> emits on <stream> (default: "default"), as each
container sees it, one line per tuple: container, task, component:stream and
the values as JSON. Taps only read: acking and delivery are unchanged. The
containers publish only while the tap runs (a lease the command renews each
second; a tap whose command died stops within 3 s), at most 200 tuples a
second each.

Flags:
      --sample N   show one emit in N per container (default 1: every one)
      --limit K    stop after K tuples (default: until Ctrl-C)
      --json       one JSON object per line: {container, task, component,
                   stream, ts, values}

${NATS_FLAGS_HELP}
Exit status: 0 done, 1 unknown or ended topology, unknown component or NATS
unreachable, 2 bad command line.
`;

const LOGS = `ardea logs — print the recent log lines of a topology's containers

Usage:
  ardea logs <topology> [container] [--lines N] [NATS flags]

Each container keeps its last 2000 log lines (engine messages, crash stacks
and what the components print through console) and sends the newest N on
request. Lines are prefixed with the container number and the time.

Flags:
      --lines N    lines per container (default 100)

${NATS_FLAGS_HELP}
Exit status: 0 printed, 1 unknown topology, a container did not answer, or
NATS unreachable, 2 bad command line.
`;

const steerHelp = (name: "activate" | "deactivate", what: string, state: string) =>
  `ardea ${name} — ${what}

Usage:
  ardea ${name} <topology> [NATS flags]

Sends "${name}" to the topology's containers and marks it ${state}.

${NATS_FLAGS_HELP}
Exit status: 0 done, 1 unknown or ended topology or NATS unreachable, 2 bad command line.
`;

const KILL = `ardea kill — drain and stop a topology (as Storm's kill -w)

Usage:
  ardea kill <topology> [--wait-secs N] [NATS flags]

Deactivates the spouts, lets tuples in flight drain for N seconds, then
stops every container. Waits until the topology has ended (at most N+10 s).
Without a running topology master, marks the topology KILLED itself after
N seconds.

Flags:
      --wait-secs N   drain time in seconds (default: the topology's
                      topology.message.timeout.secs, else 30)

${NATS_FLAGS_HELP}
Exit status: 0 killed or finished, 1 failed, still running, unknown topology
or NATS unreachable, 2 bad command line.
`;

/** Full help of each command. */
const SUBMIT = `ardea submit — run a topology on a NATS cluster

Usage:
  ardea submit <topology.ts> [--containers N] [--replicas R] [--runtime node|deno] [--wait]
               [--scheduler local] [NATS flags] [-- script args…]

Runs the script here with submit() captured to learn its topology, packs its
tasks round-robin into N containers (default: topology.containers), stores
the script's bundle in the JetStream object store and the topology record in
KV, and starts the containers under a master: on this machine (--scheduler
local, the default) or on the \`ardea worker\` daemons of the pool (--scheduler
pool). The script runs again inside each container with the same arguments
(local: in the same working directory; pool: in each worker's, so give file
arguments as paths every worker can read).

  --containers N   container processes (default: topology.containers, 1)
  --replicas R     replicas of the KV bucket and code store when this submit
                   creates them (3 on a 3-server cluster; default 1)
  --runtime R      node (default) or deno for the containers
  --wait           stay until the topology ends; exit 0 only if it FINISHED
                   (without --wait the master runs detached; see ardea status)

${NATS_FLAGS_HELP}
Exit status: 0 submitted (with --wait: finished), 1 failed, 2 bad command line.
`;

const WORKER = `ardea worker — offer this machine to the pool scheduler

Usage:
  ardea worker [--slots N] [--id ID] [NATS flags]

Registers in the cluster's KV bucket and runs the containers that masters
of \`ardea submit --scheduler pool\` topologies place here, up to N at once
(default 4). Run one per machine; Ctrl-C stops its containers and leaves.

${NATS_FLAGS_HELP}`;

const RESTART = `ardea restart — restart the containers of a running topology

Usage:
  ardea restart <topology> [container] [NATS flags]

The master stops the container (all of them without a number) and starts it
again; its tasks restart and spouts replay what was in flight. A requested
restart does not use the topology's restart budget.

${NATS_FLAGS_HELP}`;

const UPDATE = `ardea update — change the parallelism of a running topology's components

Usage:
  ardea update <topology> --component-parallelism name:N[,name:N…] [NATS flags]

Writes the new plan (tasks of each component, packed round-robin over the
same containers) into the topology record; the master deactivates the
spouts, lets pending tuple trees drain (up to 10 s), and restarts every
container on the new plan. In-memory state of bolts starts afresh (keyed
state moves with the effectively-once mode, not yet available); spouts
replay what was not acked, so every tuple is still processed at least once.

${NATS_FLAGS_HELP}`;

const UI = `ardea ui — the tracker of a NATS cluster: web page, REST API and Prometheus

Usage:
  ardea ui [--port P] [--host H] [NATS flags]

Serves, for every topology submitted to the cluster (ones submitted or
deleted later come and go), the same web page, REST API (/api/v1/) and
Prometheus endpoint (/metrics) as \`ardea run --ui\`, from what the
containers publish each second: counters per component, task and
container, the logical and physical plans, exceptions with stacks, and
backpressure episodes. Activate, Deactivate and Kill steer the topology as
the commands of those names do. Prints the URL on stderr and runs until
interrupted. See docs/tracker.md.

Flags:
      --port P   port to listen on (default 8889; 0 picks a free one)
      --host H   interface to listen on (default 127.0.0.1); any other
                 makes the tracker reachable from other machines, with no
                 authentication

${NATS_FLAGS_HELP}
Exit status: 0 stopped by a signal, 1 NATS unreachable or port taken, 2 bad command line.
`;

const MASTER = `ardea master — supervise a submitted topology's containers (started by submit)

Usage:
  ardea master <topology> [NATS flags]
`;

const CONTAINER = `ardea container — one container process of a topology (started by a scheduler)

Usage:
  ardea container <topology> --index I [NATS flags]
  ardea container --standby --index I [NATS flags]

With --standby it loads the engine and connects to NATS first, then reads
the topology name from its stdin (ardea submit --wait starts its containers
so while it builds the topology); it exits quietly when stdin ends first.
`;

const HELP_TEXT: Readonly<Record<CommandName, string>> = {
  run: RUN,
  init: INIT,
  submit: SUBMIT,
  worker: WORKER,
  restart: RESTART,
  update: UPDATE,
  master: MASTER,
  container: CONTAINER,
  list: LIST,
  status: STATUS,
  activate: steerHelp("activate", "resume a paused topology's spouts", "RUNNING"),
  deactivate: steerHelp("deactivate", "pause a topology's spouts", "PAUSED"),
  kill: KILL,
  tap: TAP,
  logs: LOGS,
  ui: UI,
  help: HELP,
};

/** Full help of `topic`, or the overview. */
export function helpText(topic?: CommandName): string {
  return topic === undefined ? OVERVIEW : HELP_TEXT[topic];
}

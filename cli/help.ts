/**
 * Help and usage text. Lists only the commands this build implements.
 *
 * @module
 */
import type { CommandName } from "./args.ts";

/** One-line usage of each command, printed under a usage error. */
export const USAGE: Readonly<Record<CommandName | "ardea", string>> = {
  ardea: "usage: ardea <command> [flags] (see ardea --help)",
  run: "usage: ardea run [--quiet] [--json] <topology.ts> [--] [script args…]",
  help: "usage: ardea help [command]",
};

const OVERVIEW = `ardea — a stream-processing engine for TypeScript, with Apache Storm's API

Usage:
  ardea <command> [flags]

Commands:
  run <topology.ts> [args…]   run a topology script in this process
  help [command]              show help for a command

Flags:
  -h, --help                  show this help (also: ardea <command> --help)
  -V, --version               print the version

Environment:
  ARDEA_DEBUG=1               print stack traces of errors
`;

const RUN = `ardea run — run a topology script in this process (embedded mode)

Usage:
  ardea run [--quiet] [--json] <topology.ts> [--] [script args…]

Imports the script, which builds a topology and calls submit(), and waits
until every topology it submitted has ended. Words after the script path
belong to the script (runtime args(), process.argv); a "--" right after the
path is dropped. Ctrl-C drains the topologies, a second Ctrl-C kills them, a
third exits at once.

On a terminal, a status line on stderr shows uptime, tuples emitted per
second, acked, failed, in flight, backpressure and restarts. A summary of
each run goes to stderr at the end.

Flags (before the script path):
  -q, --quiet    no status line and no summary
      --json     print the final summary as one line of JSON on stdout
                 (instead of the summary on stderr)
  -h, --help     show this help

Exit status:
  0  every topology finished or was killed (or the script submitted none)
  1  the script threw, or a topology failed
  2  the command line is wrong
`;

const HELP = `ardea help — show help

Usage:
  ardea help [command]

Commands: run, help.
`;

/** Full help of `topic`, or the overview. */
export function helpText(topic?: CommandName): string {
  if (topic === "run") return RUN;
  if (topic === "help") return HELP;
  return OVERVIEW;
}

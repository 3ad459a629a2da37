/**
 * Placeholder command-line entry point (the real CLI replaces this file).
 *
 * @module
 */
import { writeStderr, writeStdout } from "../runtime/mod.ts";

const HELP = `ardea — a stream-processing engine for TypeScript

Usage:
  ardea run <topology.ts> [args…]      run a topology in this process
  ardea submit <topology.ts> --nats <url>
  ardea --help                         show this help

(Only --help works in this build; the commands are being written.)
`;

/**
 * Runs the `ardea` command with `argv` (the arguments after `ardea`) and
 * returns the process exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["--help"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    writeStdout(HELP);
    return 0;
  }
  writeStderr(`ardea: unknown command "${command}" (not implemented yet)\n\n${HELP}`);
  return 2;
}

/**
 * The few `Deno.*` members runtime/ touches, typed locally so that `tsc`
 * (which has no Deno lib) and `deno check` both accept the code. Everything
 * else in runtime/ goes through `node:*` modules, which Deno 2 implements.
 *
 * @module
 */

/** The subset of the `Deno` namespace that runtime/ uses. */
export interface DenoNamespace {
  readonly args: string[];
  /** URL of the main module. */
  readonly mainModule: string;
  readonly pid: number;
  execPath(): string;
  exit(code?: number): never;
  cwd(): string;
  readonly env: { get(name: string): string | undefined };
  readonly stdin: { readonly readable: ReadableStream<Uint8Array> };
  readonly stdout: DenoOutput;
  readonly stderr: DenoOutput;
  consoleSize(): { columns: number; rows: number };
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  readonly Command: new (cmd: string, options: DenoCommandOptions) => { spawn(): DenoChildProcess };
}

/** Options of `new Deno.Command` (the subset runtime/spawn.ts uses). */
export interface DenoCommandOptions {
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  stdin: "piped" | "inherit" | "null";
  stdout: "piped" | "inherit" | "null";
  stderr: "piped" | "inherit" | "null";
  /** A session and process group of its own. */
  detached?: boolean;
}

/** `Deno.ChildProcess` (the subset runtime/spawn.ts uses). */
export interface DenoChildProcess {
  readonly pid: number;
  readonly status: Promise<{ success: boolean; code: number; signal: string | null }>;
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  kill(signal?: string): void;
}

/** `Deno.stdout` / `Deno.stderr`. */
export interface DenoOutput {
  writeSync(data: Uint8Array): number;
  isTerminal(): boolean;
}

/**
 * The `Deno` global when running on Deno, otherwise `undefined`.
 *
 * @example
 * ```ts
 * import { denoGlobal } from "./_deno.ts";
 * console.log(denoGlobal() ? "deno" : "node");
 * ```
 */
export function denoGlobal(): DenoNamespace | undefined {
  return (globalThis as unknown as { Deno?: DenoNamespace }).Deno;
}

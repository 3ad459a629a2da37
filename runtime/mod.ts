/**
 * Runtime adapters: the only library code that touches `node:*` or `Deno.*`.
 * Everything here behaves the same on Node 20 and Deno 2.
 *
 * @example
 * ```ts
 * writeStdout(`ardea on ${runtimeName()}\n`);
 * const off = onSignal("SIGTERM", () => writeStdout("draining\n"));
 * off();
 * ```
 *
 * @module
 */
export {
  args,
  ardeaRoot,
  builtArdeaCommand,
  cwd,
  env,
  execPath,
  exit,
  flushOutput,
  isTTY,
  onSignal,
  type OutputStream,
  runtimeName,
  scriptCommand,
  commandFor,
  hostname,
  pid,
  processAlive,
  readStdinLine,
  watchParent,
  setScriptArgs,
  type RuntimeName,
  type SignalName,
  terminalColumns,
  writeStderr,
  writeStdout,
  yieldNow,
} from "./process.ts";
export {
  appendTextFile,
  createFileExclusive,
  fileExists,
  type FileStamp,
  fileStamp,
  listDir,
  makeTempDir,
  readBinaryFile,
  readTextFile,
  removePath,
  resolvePath,
  toFileUrl,
  writeBinaryFileAtomic,
  type WriteAtomicOptions,
  writeTextFile,
  writeTextFileAtomic,
} from "./files.ts";
export { type ArgToken, type ArgTokenOption, argTokens } from "./arg_tokens.ts";
export { faultPoint, FaultPointError } from "./fault_points.ts";
export { LineReader, type LineReaderOptions } from "./line_reader.ts";
export { type ChildExit, type ChildHandle, type ChildStream, type ProcessSignal, spawnDetached, type DetachedOptions, spawnProcess, type SpawnOptions } from "./spawn.ts";
export { BodyTooLargeError, type HttpHandler, type HttpServer, serveHttp, type ServeOptions } from "./http.ts";

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
  ardeaRoot,
  args,
  builtArdeaCommand,
  commandFor,
  cwd,
  env,
  execPath,
  exit,
  flushOutput,
  hostname,
  isTTY,
  mainScript,
  onSignal,
  type OutputStream,
  pid,
  processAlive,
  readStdinLine,
  type RuntimeName,
  runtimeName,
  scriptCommand,
  setScriptArgs,
  type SignalName,
  terminalColumns,
  watchParent,
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
  isDirectorySync,
  listDir,
  makeDir,
  makeTempDir,
  readBinaryFile,
  readTextFile,
  removePath,
  renamePath,
  resolvePath,
  setFileMode,
  toFileUrl,
  walkDir,
  type WalkEntry,
  type WriteAtomicOptions,
  writeBinaryFile,
  writeBinaryFileAtomic,
  writeTextFile,
  writeTextFileAtomic,
} from "./files.ts";
export { type ArgToken, type ArgTokenOption, argTokens } from "./arg_tokens.ts";
export { faultPoint, FaultPointError } from "./fault_points.ts";
export { LineReader, type LineReaderOptions } from "./line_reader.ts";
export {
  type ChildExit,
  type ChildHandle,
  type ChildStream,
  type DetachedOptions,
  type ProcessSignal,
  spawnDetached,
  type SpawnOptions,
  spawnProcess,
} from "./spawn.ts";
export { BodyTooLargeError, type HttpHandler, type HttpServer, serveHttp, type ServeOptions } from "./http.ts";

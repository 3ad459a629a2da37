/**
 * File-system helpers that behave the same on Node and Deno (both through
 * `node:fs/promises`).
 *
 * @module
 */
import { statSync } from "node:fs";
import {
  appendFile,
  chmod,
  link,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Reads a whole file as UTF-8 text.
 *
 * @example
 * ```ts
 * import { readTextFile } from "./mod.ts";
 * const manifest = JSON.parse(await readTextFile("package.json"));
 * ```
 */
export function readTextFile(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/**
 * Writes `text` as UTF-8, replacing the file, creating missing parent folders.
 *
 * @example
 * ```ts
 * import { writeTextFile } from "./mod.ts";
 * await writeTextFile("tests/artifacts/run-1/summary.txt", "ok\n");
 * ```
 */
export async function writeTextFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, "utf8");
}

/**
 * Appends UTF-8 text to a file (created, with its parent folders, if missing).
 *
 * @example
 * ```ts
 * import { appendTextFile } from "./mod.ts";
 * await appendTextFile("/tmp/sink.txt", "42\n");
 * ```
 */
export async function appendTextFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, text, "utf8");
}

/**
 * Writes a whole file so that readers see the old or the new content, never
 * a part: the text goes to a temporary file beside it, which is then renamed.
 *
 * @example
 * ```ts
 * const code = "export {};\n";
 * await writeTextFileAtomic("/tmp/bundle.mjs", code);
 * ```
 */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text, "utf8");
  await rename(tmp, path);
}

/**
 * Creates a fresh, empty folder under the system temp folder and returns its
 * absolute path; its name starts with `prefix`.
 *
 * @example
 * ```ts
 * import { makeTempDir, removePath } from "./mod.ts";
 * const dir = await makeTempDir("ardea-state-");
 * await removePath(dir);
 * ```
 */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Removes a file or a folder with everything in it; a missing path is fine.
 *
 * @example
 * ```ts
 * import { removePath } from "./mod.ts";
 * await removePath("tests/artifacts/old-run");
 * ```
 */
export async function removePath(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * Whether something (file or folder) exists at `path`.
 *
 * @example
 * ```ts
 * import { fileExists } from "./mod.ts";
 * if (!(await fileExists("deno.json"))) console.log("no deno config");
 * ```
 */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return false;
    throw error;
  }
}

/** What {@link fileStamp} tells of a file or folder. */
export interface FileStamp {
  /** Changes whenever the file changes: inode, size, modification and change time (no tool can set a change time back). */
  readonly stamp: string;
  /** When it last changed (its change time, ms since the epoch): a write, a rename, for a folder an entry added or removed. */
  readonly changedMs: number;
}

/**
 * The {@link FileStamp} of the file or folder at `path`, or undefined when
 * nothing is there. For caches keyed by their inputs.
 *
 * @example
 * ```ts
 * import { fileStamp } from "./mod.ts";
 * const before = await fileStamp("topology.ts");
 * // … later: unchanged if and only if nobody wrote it meanwhile
 * const same = before?.stamp === (await fileStamp("topology.ts"))?.stamp;
 * ```
 */
export async function fileStamp(path: string): Promise<FileStamp | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    // Deno reports the change time in whole seconds: the modification time (ms) tells apart what it cannot.
    const changed = s.ctimeNs > s.mtimeNs ? s.ctimeNs : s.mtimeNs;
    return { stamp: `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, changedMs: Number(changed / 1_000_000n) };
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Joins and resolves `parts` into an absolute path (relative to the current
 * working directory), like `node:path` `resolve`.
 *
 * @example
 * ```ts
 * import { resolvePath } from "./mod.ts";
 * const abs = resolvePath("examples", "word_count.ts");
 * ```
 */
export function resolvePath(...parts: string[]): string {
  return resolve(...parts);
}

/**
 * The `file:` URL (as a string) of `path`, resolved to an absolute path
 * first; suitable for dynamic `import()` on both runtimes.
 *
 * @example
 * ```ts
 * import { toFileUrl } from "./mod.ts";
 * const topologyModule = await import(toFileUrl("examples/word_count.ts"));
 * ```
 */
export function toFileUrl(path: string): string {
  return pathToFileURL(resolve(path)).href;
}

/**
 * Reads a whole file as bytes.
 *
 * @example
 * ```ts
 * import { readBinaryFile } from "./mod.ts";
 * const bytes = await readBinaryFile("/tmp/state.bin");
 * ```
 */
export async function readBinaryFile(path: string): Promise<Uint8Array> {
  const buffer = await readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Options of {@link writeBinaryFileAtomic}. */
export interface WriteAtomicOptions {
  /**
   * Flush the file to the disk before the rename, and the folder after it,
   * so that the new content survives a crash of the machine. Default false.
   */
  sync?: boolean;
}

/**
 * Writes a whole file of bytes so that readers see the old or the new
 * content, never a part: the bytes go to a temporary file beside it (missing
 * parent folders are created), which is then renamed over it.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("state");
 * await writeBinaryFileAtomic("/tmp/ckpt/7/count.state", bytes, { sync: true });
 * ```
 */
export async function writeBinaryFileAtomic(
  path: string,
  data: Uint8Array,
  options: WriteAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(data);
      if (options.sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  if (options.sync) {
    // The rename itself is durable only once the folder is flushed; some
    // platforms cannot open a folder for that, and then it is left to the OS.
    try {
      const d = await open(dir, "r");
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // best effort
    }
  }
}

/**
 * The names of the entries of folder `path` (files and folders, sorted); an
 * empty list when the folder does not exist.
 *
 * @example
 * ```ts
 * import { listDir } from "./mod.ts";
 * for (const name of await listDir("/tmp/ckpt")) console.log(name);
 * ```
 */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return [];
    throw error;
  }
}

/**
 * Creates file `path` holding `text` unless it exists, atomically: the text
 * is written beside it and hard-linked into place, so no reader ever sees the
 * file empty or half written. Missing parent folders are created. Resolves
 * false when `path` already exists. Lock files are made with it.
 *
 * @example
 * ```ts
 * import { createFileExclusive } from "./mod.ts";
 * if (!(await createFileExclusive("/tmp/state/wc.lock", "pid 42"))) console.log("taken");
 * ```
 */
export async function createFileExclusive(path: string, text: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, text);
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/**
 * Whether `path` is a folder (following symbolic links), synchronously: for
 * decisions taken once where nothing can be awaited.
 *
 * @example
 * ```ts
 * import { isDirectorySync } from "./mod.ts";
 * const dir = isDirectorySync("/tmp/topology/resources") ? "/tmp/topology/resources" : "/tmp/topology";
 * ```
 */
export function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** One entry of a folder tree, as {@link walkDir} lists it. */
export interface WalkEntry {
  /** Path relative to the walked folder, "/"-separated. */
  readonly path: string;
  readonly kind: "file" | "dir";
  /** Permission bits (`0o755`, …). */
  readonly mode: number;
  /** Bytes (0 for a folder). */
  readonly size: number;
}

/**
 * Every file and folder under `root` (not `root` itself), parents before
 * their contents, sorted by name within a folder. Symbolic links are
 * followed: a link to a file lists as that file, a link to a folder as that
 * folder. Throws an error naming the path for a link that leads nowhere, a
 * link that loops back to a folder it is inside of, anything that is
 * neither file nor folder, and a `root` that is not a folder
 * (`code` ENOENT or ENOTDIR).
 *
 * @example
 * ```ts
 * import { walkDir } from "./mod.ts";
 * for (const e of await walkDir("resources")) console.log(e.kind, e.path, e.mode.toString(8), e.size);
 * ```
 */
export async function walkDir(root: string): Promise<WalkEntry[]> {
  const top = await stat(root);
  if (!top.isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: ${root} is not a folder`), { code: "ENOTDIR" });
  }
  const out: WalkEntry[] = [];
  const visit = async (dir: string, rel: string, ancestors: ReadonlySet<string>): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const s = await stat(path).catch((e: unknown) => {
        if ((e as { code?: unknown }).code === "ENOENT") {
          throw Object.assign(new Error(`${path} is a symbolic link to nothing`), { code: "ENOENT", cause: e });
        }
        throw e;
      });
      if (s.isDirectory()) {
        const real = await realpath(path);
        if (ancestors.has(real)) {
          throw Object.assign(new Error(`${path} is a symbolic link to a folder it is inside of (${real})`), {
            code: "ELOOP",
          });
        }
        out.push({ path: relPath, kind: "dir", mode: s.mode & 0o7777, size: 0 });
        await visit(path, relPath, new Set([...ancestors, real]));
      } else if (s.isFile()) {
        out.push({ path: relPath, kind: "file", mode: s.mode & 0o7777, size: s.size });
      } else {
        throw Object.assign(new Error(`${path} is neither a file nor a folder`), { code: "EINVAL" });
      }
    }
  };
  await visit(root, "", new Set([await realpath(root)]));
  return out;
}

/**
 * Sets the permission bits of a file or folder (`chmod`).
 *
 * @example
 * ```ts
 * import { setFileMode } from "./mod.ts";
 * await setFileMode("/tmp/resources/split.py", 0o755);
 * ```
 */
export async function setFileMode(path: string, mode: number): Promise<void> {
  await chmod(path, mode);
}

/**
 * Writes a whole file of bytes (replacing it), creating missing parent
 * folders; with `mode`, the file gets those permission bits.
 *
 * @example
 * ```ts
 * import { writeBinaryFile } from "./mod.ts";
 * await writeBinaryFile("/tmp/resources/split.sh", new TextEncoder().encode("#!/bin/sh\n"), 0o755);
 * ```
 */
export async function writeBinaryFile(path: string, data: Uint8Array, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
  if (mode !== undefined) await chmod(path, mode);
}

/**
 * Creates folder `path` and its missing parents; an existing folder is fine.
 *
 * @example
 * ```ts
 * import { makeDir } from "./mod.ts";
 * await makeDir("/tmp/ardea/bundles");
 * ```
 */
export async function makeDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/**
 * Renames (moves) a file or folder within one file system, atomically.
 * Renaming a folder onto a folder that exists and is not empty fails
 * (`code` ENOTEMPTY or EEXIST).
 *
 * @example
 * ```ts
 * import { renamePath } from "./mod.ts";
 * await renamePath("/tmp/ardea/x/resources.tmp-1", "/tmp/ardea/x/resources");
 * ```
 */
export async function renamePath(from: string, to: string): Promise<void> {
  await rename(from, to);
}

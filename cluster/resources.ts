/**
 * A topology's resources folder: the files its shell components run
 * (Storm's `resources/` in the topology jar), shipped beside the script's
 * bundle so that a container on any machine has them.
 *
 * - {@link resourcesToShip} (the submitter): the folder `ardea submit`
 *   ships: `--resources <dir>`, else the `resources/` folder beside the
 *   script (engine/code_dir.ts `codeDirOf`), else none.
 * - {@link packResources}: every file and folder under it, recursively
 *   (symbolic links followed), with their permission bits, into one
 *   archive of at most {@link RESOURCES_MAX_BYTES} of file contents. The same
 *   tree gives the same bytes, hence the same sha256.
 * - {@link storeResources} puts the archive in the object store
 *   `CODE_BUCKET` under its sha256, as bundles are; the topology record
 *   names it (`resources`).
 * - {@link loadResources} (each container) fetches it (or takes this
 *   machine's copy), checks its hash and extracts it to
 *   `<ardeaRoot>/.ardea/bundles/<sha256>/resources`, atomically (a
 *   temporary folder renamed into place); a folder already there whose
 *   files are the archive's is used as it is. That folder is the
 *   container's code directory. Beside it, `<sha256>/package.json` gives
 *   Node the module type its `.js` files had where they were packed (the
 *   nearest package.json's `type`, CommonJS without one): Storm's
 *   `storm.js` is CommonJS, and the Ardea installation around the copy says
 *   `"type": "module"`.
 *
 * The archive: a line `ardea-resources 1`, a line of JSON (`moduleType`,
 * and `entries`: path, kind, mode, size, parents before their contents),
 * then the files' bytes one after another in the entries' order.
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { z } from "zod";
import {
  ardeaRoot,
  fileExists,
  isDirectorySync,
  makeDir,
  readBinaryFile,
  readTextFile,
  removePath,
  renamePath,
  resolvePath,
  setFileMode,
  walkDir,
  type WalkEntry,
  writeBinaryFile,
  writeBinaryFileAtomic,
} from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { codeDirOf, RESOURCES_DIR } from "../engine/code_dir.ts";
import { bundleDir, getCodeObject, putCodeObject, readBanner, sha256Hex } from "./bundle.ts";
import type { TopologyRecord } from "../transport/wire/mod.ts";

/** Most bytes of file contents a resources folder may hold (64 MiB). */
export const RESOURCES_MAX_BYTES = 64 * 1024 * 1024;

const MAGIC = "ardea-resources 1\n";
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A resources folder that cannot be packed, stored or loaded. Codes:
 * `RESOURCES_NOT_FOUND` (no such folder), `RESOURCES_TOO_LARGE`,
 * `RESOURCES_UNREADABLE` (a link to nothing or to a folder it is inside of,
 * a file that cannot be read), `RESOURCES_CORRUPT` (an archive that is not
 * one, or whose hash is not its name).
 *
 * @example
 * ```ts
 * try { await packResources("/work/topo/resources"); } catch (e) {
 *   if (e instanceof ResourcesError && e.code === "RESOURCES_TOO_LARGE") console.error(e.message);
 * }
 * ```
 */
export class ResourcesError extends ArdeaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A packed resources folder. */
export interface ResourcesArchive {
  /** The folder it was packed from (absolute). */
  readonly folder: string;
  /** The archive. */
  readonly bytes: Uint8Array;
  /** sha256 of `bytes`, lowercase hex: its name in the object store. */
  readonly sha256: string;
  /** Files in it (folders not counted). */
  readonly files: number;
  /** Bytes of file contents. */
  readonly size: number;
}

/** Options of {@link packResources}. */
export interface PackOptions {
  /** Most bytes of file contents (default {@link RESOURCES_MAX_BYTES}). */
  maxBytes?: number;
}

const entrySchema = z.object({
  path: z.string().min(1),
  kind: z.enum(["file", "dir"]),
  mode: z.number().int().min(0).max(0o7777),
  size: z.number().int().nonnegative(),
});
type Entry = z.infer<typeof entrySchema>;

/** How Node reads a `.js` file: CommonJS or an ES module. */
type ModuleType = "commonjs" | "module";

const headerSchema = z.object({ moduleType: z.enum(["commonjs", "module"]), entries: z.array(entrySchema) });

/**
 * The module type Node gives a `.js` file in `folder`: the `type` of the
 * nearest package.json in it or above it, "commonjs" when that is not
 * "module" or there is none (Node's rule).
 */
async function moduleTypeOf(folder: string): Promise<ModuleType> {
  for (let dir = folder;;) {
    const text = await readTextFile(resolvePath(dir, "package.json")).catch(() => null);
    if (text !== null) {
      try {
        return (JSON.parse(text) as { type?: unknown } | null)?.type === "module" ? "module" : "commonjs";
      } catch {
        return "commonjs";
      }
    }
    const up = resolvePath(dir, "..");
    if (up === dir) return "commonjs";
    dir = up;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * The folder `ardea submit` ships for the topology script `script`:
 * `explicit` (`--resources`, resolved against the current directory) when
 * given, else the `resources/` folder beside the script when there is one,
 * else undefined (nothing shipped: containers use the script's folder as
 * their machine has it).
 *
 * @example
 * ```ts
 * resourcesToShip("/work/topo/wc.ts"); // "/work/topo/resources" when that folder exists
 * resourcesToShip("/work/topo/wc.ts", "scripts"); // "<cwd>/scripts"
 * ```
 */
export function resourcesToShip(script: string, explicit?: string): string | undefined {
  if (explicit !== undefined) return resolvePath(explicit);
  const dir = codeDirOf(script);
  return dir === resolvePath(script, "..", RESOURCES_DIR) ? dir : undefined;
}

/**
 * Packs every file and folder under `folder` (symbolic links followed;
 * permission bits kept) into one archive. Throws `RESOURCES_NOT_FOUND`,
 * `RESOURCES_TOO_LARGE` or `RESOURCES_UNREADABLE`, each naming the folder.
 *
 * @example
 * ```ts
 * const archive = await packResources("/work/topo/resources");
 * console.log(archive.sha256, archive.files, archive.size);
 * ```
 */
export async function packResources(folder: string, options: PackOptions = {}): Promise<ResourcesArchive> {
  const root = resolvePath(folder);
  const max = options.maxBytes ?? RESOURCES_MAX_BYTES;
  let walked: WalkEntry[];
  try {
    walked = await walkDir(root);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT" && !(await fileExists(root))) {
      throw new ResourcesError("RESOURCES_NOT_FOUND", `resources folder ${root} does not exist`, { cause: e });
    }
    if (code === "ENOTDIR") {
      throw new ResourcesError("RESOURCES_NOT_FOUND", `resources folder ${root} is a file, not a folder`, { cause: e });
    }
    throw new ResourcesError("RESOURCES_UNREADABLE", `cannot pack resources folder ${root}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const entries: Entry[] = walked.map((w) => ({ path: w.path, kind: w.kind, mode: w.mode, size: w.size }));
  const files = entries.filter((e) => e.kind === "file");
  const size = files.reduce((n, e) => n + e.size, 0);
  if (size > max) {
    throw new ResourcesError(
      "RESOURCES_TOO_LARGE",
      `resources folder ${root} holds ${mib(size)} in ${files.length} files, over the ${
        mib(max)
      } a topology may ship; move what the shell components do not run out of it, or name a smaller folder with --resources`,
    );
  }
  const contents: Uint8Array[] = [];
  for (const e of files) {
    let bytes: Uint8Array;
    try {
      bytes = await readBinaryFile(resolvePath(root, e.path));
    } catch (error) {
      throw new ResourcesError(
        "RESOURCES_UNREADABLE",
        `cannot pack resources folder ${root}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // The size the walk saw may have changed since: the archive says what it holds.
    e.size = bytes.length;
    contents.push(bytes);
  }
  const header = { moduleType: await moduleTypeOf(root), entries };
  const head = new TextEncoder().encode(`${MAGIC}${JSON.stringify(header)}\n`);
  const bytes = new Uint8Array(head.length + contents.reduce((n, c) => n + c.length, 0));
  bytes.set(head, 0);
  let at = head.length;
  for (const c of contents) {
    bytes.set(c, at);
    at += c.length;
  }
  return { folder: root, bytes, sha256: await sha256Hex(bytes), files: files.length, size: at - head.length };
}

/** A path inside the archive that cannot leave the folder it is extracted to. */
function safePath(path: string): boolean {
  return !path.startsWith("/") && !path.includes("\\") &&
    path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * The entries of an archive and where each file's bytes start. Throws
 * `RESOURCES_CORRUPT` naming `name` for anything that is not an archive
 * {@link packResources} made.
 */
function readArchive(
  bytes: Uint8Array,
  name: string,
): { moduleType: ModuleType; entries: { entry: Entry; offset: number }[] } {
  const corrupt = (why: string) => new ResourcesError("RESOURCES_CORRUPT", `resources ${name}: ${why}`);
  const magic = new TextEncoder().encode(MAGIC);
  if (bytes.length < magic.length || magic.some((b, i) => bytes[i] !== b)) throw corrupt("not a resources archive");
  const nl = bytes.indexOf(10, magic.length);
  if (nl < 0) throw corrupt("no list of entries");
  let header: z.infer<typeof headerSchema>;
  try {
    header = headerSchema.parse(JSON.parse(new TextDecoder().decode(bytes.subarray(magic.length, nl))));
  } catch (e) {
    throw corrupt(`a malformed list of entries (${(e as Error).message.slice(0, 200)})`);
  }
  const out: { entry: Entry; offset: number }[] = [];
  const seen = new Set<string>();
  let offset = nl + 1;
  for (const entry of header.entries) {
    if (!safePath(entry.path) || seen.has(entry.path)) {
      throw corrupt(`a bad or repeated path ${JSON.stringify(entry.path)}`);
    }
    const parent = entry.path.includes("/") ? entry.path.slice(0, entry.path.lastIndexOf("/")) : undefined;
    if (parent !== undefined && !seen.has(parent)) throw corrupt(`${entry.path} comes before its folder`);
    seen.add(entry.path);
    out.push({ entry, offset });
    if (entry.kind === "file") offset += entry.size;
  }
  if (offset !== bytes.length) throw corrupt(`${bytes.length} bytes where its entries say ${offset}`);
  return { moduleType: header.moduleType, entries: out };
}

/** Options of {@link storeResources} and {@link loadResources}. */
export interface ResourcesOptions {
  /** Replicas of the object store when this call creates it (default 1). */
  replicas?: number;
  /** This machine's bundle folder (default `<ardeaRoot>/.ardea/bundles`). */
  cacheDir?: string;
}

/** The kept archive of resources `sha256`, the folder it extracts to, and the package.json beside that. */
function places(cacheDir: string | undefined, sha256: string): { pack: string; folder: string; packageJson: string } {
  const dir = resolvePath(bundleDir(cacheDir), sha256);
  return {
    pack: resolvePath(dir, `${RESOURCES_DIR}.pack`),
    folder: resolvePath(dir, RESOURCES_DIR),
    packageJson: resolvePath(dir, "package.json"),
  };
}

/**
 * Puts `archive` in the object store `CODE_BUCKET` under its sha256 (and
 * keeps a copy in this machine's bundle folder, for the containers it
 * starts); returns the sha256.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const sha = await storeResources(nc, await packResources("/work/topo/resources"));
 * ```
 */
export async function storeResources(
  nc: NatsConnection,
  archive: ResourcesArchive,
  options: ResourcesOptions = {},
): Promise<string> {
  await writeBinaryFileAtomic(places(options.cacheDir, archive.sha256).pack, archive.bytes).catch(() => {});
  return await putCodeObject(nc, archive.sha256, archive.bytes, {
    replicas: options.replicas,
    description: `ardea resources folder ${archive.folder} (${archive.files} files)`,
    metadata: { folder: archive.folder },
  });
}

/**
 * The code directory of a container: resources `sha256` extracted to
 * `<bundle folder>/<sha256>/resources` (see {@link extractResources}),
 * from this machine's copy of the archive when it has one with that hash,
 * else from the object store. Returns the folder's absolute path.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const nc: NatsConnection;
 * declare const record: TopologyRecord;
 * if (record.resources !== undefined) console.log(await loadResources(nc, record.resources));
 * ```
 */
export async function loadResources(
  nc: NatsConnection,
  sha256: string,
  options: ResourcesOptions = {},
): Promise<string> {
  if (!SHA256_HEX.test(sha256)) {
    throw new ResourcesError("RESOURCES_CORRUPT", `${JSON.stringify(sha256)} is not a resources name (64 hex digits)`);
  }
  const { pack } = places(options.cacheDir, sha256);
  let bytes = await readBinaryFile(pack).catch(() => null);
  if (bytes === null || (await sha256Hex(bytes)) !== sha256) {
    bytes = await getCodeObject(nc, sha256, "resources folder");
    await writeBinaryFileAtomic(pack, bytes).catch(() => {});
  }
  return await extractResources(bytes, options);
}

/**
 * The code directory of a container of `record`, whose bundle this machine
 * linked to `bundleFile`: its shipped resources, extracted
 * ({@link loadResources}); none shipped, the script's folder by the same
 * rule as everywhere (engine/code_dir.ts `codeDirOf`) when this machine has
 * it (the same machine, or a script inside the Ardea installation), else ""
 * (the container's working directory).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * import type { TopologyRecord } from "../transport/wire/mod.ts";
 * declare const nc: NatsConnection, record: TopologyRecord, file: string;
 * const codeDir = await containerCodeDir(nc, record, file);
 * ```
 */
export async function containerCodeDir(
  nc: NatsConnection,
  record: TopologyRecord,
  bundleFile: string,
  options: ResourcesOptions = {},
): Promise<string> {
  if (record.resources !== undefined) return await loadResources(nc, record.resources, options);
  const entry = readBanner(await readTextFile(bundleFile))?.entry;
  if (entry === undefined) return "";
  const dir = codeDirOf(resolvePath(ardeaRoot(), entry));
  return isDirectorySync(dir) ? dir : "";
}

/**
 * Extracts an archive of {@link packResources} to
 * `<bundle folder>/<its sha256>/resources` and returns that folder: into a
 * temporary folder beside it first, renamed into place, so that no reader
 * sees a part. A folder already there is used as it is when it has every
 * file and folder of the archive with the same bytes and modes (files
 * added since, such as pid files, do not matter); else it is replaced.
 * Writes `<sha256>/package.json` with the module type of the packed folder.
 *
 * @example
 * ```ts
 * const archive = await packResources("/work/topo/resources");
 * const folder = await extractResources(archive.bytes, { cacheDir: "/tmp/bundles" });
 * // "/tmp/bundles/<sha256>/resources"
 * ```
 */
export async function extractResources(bytes: Uint8Array, options: ResourcesOptions = {}): Promise<string> {
  const sha256 = await sha256Hex(bytes);
  const { moduleType, entries } = readArchive(bytes, sha256);
  const { folder, packageJson } = places(options.cacheDir, sha256);
  const typed = new TextEncoder().encode(`${JSON.stringify({ type: moduleType })}\n`);
  const have = await readBinaryFile(packageJson).catch(() => null);
  if (have === null || !sameBytes(have, typed)) await writeBinaryFileAtomic(packageJson, typed);
  if (await matches(folder, bytes, entries)) return folder;
  const tmp = `${folder}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeTree(tmp, bytes, entries);
    try {
      await renamePath(tmp, folder);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
      // Another container of this machine extracted it meanwhile, or a changed copy is in the way.
      if (!(await matches(folder, bytes, entries))) {
        const old = `${folder}.${Math.random().toString(36).slice(2)}.old`;
        await renamePath(folder, old);
        await renamePath(tmp, folder);
        await removePath(old);
      }
    }
  } finally {
    await removePath(tmp);
  }
  return folder;
}

/** Writes the archive's tree under `root` (folder modes last, so a read-only folder is still filled). */
async function writeTree(root: string, bytes: Uint8Array, entries: { entry: Entry; offset: number }[]): Promise<void> {
  await makeDir(root);
  for (const { entry, offset } of entries) {
    const path = resolvePath(root, entry.path);
    if (entry.kind === "dir") await makeDir(path);
    else await writeBinaryFile(path, bytes.subarray(offset, offset + entry.size), entry.mode);
  }
  for (const { entry } of [...entries].reverse()) {
    if (entry.kind === "dir") await setFileMode(resolvePath(root, entry.path), entry.mode);
  }
}

/** Whether `folder` holds every entry of the archive, with its bytes and mode. */
async function matches(
  folder: string,
  bytes: Uint8Array,
  entries: { entry: Entry; offset: number }[],
): Promise<boolean> {
  let found: WalkEntry[];
  try {
    found = await walkDir(folder);
  } catch {
    return false;
  }
  const there = new Map(found.map((w) => [w.path, w]));
  for (const { entry, offset } of entries) {
    const w = there.get(entry.path);
    if (w === undefined || w.kind !== entry.kind || w.mode !== entry.mode || w.size !== entry.size) return false;
    if (entry.kind === "dir") continue;
    const have = await readBinaryFile(resolvePath(folder, entry.path)).catch(() => null);
    const want = bytes.subarray(offset, offset + entry.size);
    if (have === null || !sameBytes(have, want)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

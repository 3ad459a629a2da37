/**
 * A {@link StateBackend} on the local disk, the default of embedded mode.
 *
 * Layout under the backend's folder (names through {@link encodeName}, so
 * any topology or task key is a safe file name):
 *
 * ```text
 * <dir>/<topology>/<checkpointId>/<task>.state   "ARDS", version, 3 zero bytes, sha256 (32 bytes), state
 * <dir>/<topology>/<checkpointId>/commit.json    the commit record, written last
 * <dir>/<topology>.lock                          who runs the topology on this folder ({@link FileStateBackend.lock})
 * ```
 *
 * Every file is written to a temporary name, flushed and renamed, so a crash
 * leaves the old file or the new one; the commit record exists only once
 * every state it names is on disk.
 *
 * @module
 */
import {
  createFileExclusive,
  faultPoint,
  fileExists,
  hostname,
  listDir,
  pid,
  processAlive,
  readBinaryFile,
  readTextFile,
  removePath,
  resolvePath,
  writeBinaryFileAtomic,
} from "../runtime/mod.ts";
import { type CheckpointMeta, type CommittedCheckpoint, type StateBackend, StateError } from "./state_backend.ts";
import {
  alreadyCommitted,
  checkCheckpoint,
  checkKeep,
  checkMeta,
  checkName,
  checkState,
  checkTask,
  closed,
  commitDecision,
  type CommitRecord,
  corrupt,
  encodeName,
  incomplete,
  missing,
  notCommitted,
  parseCommitRecord,
  pruneSelection,
  sha256Hex,
  STATE_FORMAT_VERSION,
  toCommitted,
} from "./_util.ts";

const MAGIC = [0x41, 0x52, 0x44, 0x53]; // "ARDS"
const HEADER = 40;
const COMMIT_FILE = "commit.json";
const STATE_SUFFIX = ".state";
const CHECKPOINT_DIR = /^(0|[1-9][0-9]*)$/;

/** Options of {@link FileStateBackend}. */
export interface FileStateBackendOptions {
  /** Flush every file to the disk before it counts as written (default true). */
  sync?: boolean;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** The content of a topology's lock file. */
interface LockRecord {
  pid: number;
  host: string;
  since: string;
  what: string;
}

/** A lock taken with {@link FileStateBackend.lock}. */
export interface StateLock {
  /** The lock file. */
  readonly file: string;
  /** Removes the lock file if it is still this lock's. */
  release(): Promise<void>;
}

function isMissing(e: unknown): boolean {
  return (e as { code?: unknown })?.code === "ENOENT";
}

/**
 * Checkpoints as files under `dir`.
 *
 * @example
 * ```ts
 * const bytes = new Uint8Array([1, 2, 3]);
 * const backend = new FileStateBackend(".ardea/state");
 * await backend.save("wc", 3, "count.1", bytes);
 * await backend.commit("wc", 3, { tasks: ["count.1"] });
 * ```
 */
export class FileStateBackend implements StateBackend {
  readonly kind = "file" as const;
  /** The folder holding every topology's checkpoints (absolute). */
  readonly dir: string;
  readonly #sync: boolean;
  /** sha256 of the states this instance saved, per uncommitted checkpoint folder, to commit without rereading them. */
  readonly #saved = new Map<string, Map<string, string>>();
  #closed = false;

  constructor(dir: string, options: FileStateBackendOptions = {}) {
    if (typeof dir !== "string" || dir.length === 0) {
      throw new StateError("BAD_ARGUMENT", "FileStateBackend needs a folder");
    }
    this.dir = resolvePath(dir);
    this.#sync = options.sync ?? true;
  }

  /** Folder of `topology`'s checkpoints. */
  topologyDir(topology: string): string {
    return resolvePath(this.dir, encodeName(topology));
  }

  /** Folder of one checkpoint. */
  checkpointDir(topology: string, checkpointId: number): string {
    return resolvePath(this.topologyDir(topology), String(checkpointId));
  }

  /** File of one task's state in one checkpoint. */
  stateFile(topology: string, checkpointId: number, taskKey: string): string {
    return resolvePath(this.checkpointDir(topology, checkpointId), encodeName(taskKey) + STATE_SUFFIX);
  }

  #open(): void {
    if (this.#closed) throw closed(this.kind);
  }

  #storage(what: string, e: unknown): StateError {
    if (e instanceof StateError) return e;
    return new StateError("STORAGE_ERROR", `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }

  async #readCommit(topology: string, checkpointId: number): Promise<CommitRecord | undefined> {
    const file = resolvePath(this.checkpointDir(topology, checkpointId), COMMIT_FILE);
    let text: string;
    try {
      text = await readTextFile(file);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.#storage(`reading ${file}`, e);
    }
    return parseCommitRecord(text, topology, checkpointId, file);
  }

  async #ids(topology: string): Promise<number[]> {
    const names = await listDir(this.topologyDir(topology)).catch((e) => {
      throw this.#storage(`listing ${this.topologyDir(topology)}`, e);
    });
    return names.filter((n) => CHECKPOINT_DIR.test(n)).map(Number).sort((a, b) => a - b);
  }

  async #isCommitted(topology: string, checkpointId: number): Promise<boolean> {
    return await fileExists(resolvePath(this.checkpointDir(topology, checkpointId), COMMIT_FILE));
  }

  /** Reads and checks a state file against its own header; `undefined` when it does not exist. */
  async #readState(
    topology: string,
    checkpointId: number,
    taskKey: string,
  ): Promise<{ bytes: Uint8Array; sha256: string } | undefined> {
    const file = this.stateFile(topology, checkpointId, taskKey);
    let raw: Uint8Array;
    try {
      raw = await readBinaryFile(file);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.#storage(`reading ${file}`, e);
    }
    if (raw.length < HEADER || MAGIC.some((b, i) => raw[i] !== b)) {
      throw corrupt(topology, checkpointId, taskKey, `not a state file (${raw.length} bytes, no "ARDS" header)`, file);
    }
    if (raw[4] !== STATE_FORMAT_VERSION) {
      throw corrupt(topology, checkpointId, taskKey, `state format ${raw[4]}, expected ${STATE_FORMAT_VERSION}`, file);
    }
    const recorded = bytesToHex(raw.subarray(8, HEADER));
    const bytes = raw.subarray(HEADER);
    const actual = await sha256Hex(bytes);
    if (actual !== recorded) {
      throw corrupt(topology, checkpointId, taskKey, `sha256 is ${actual}, its header records ${recorded}`, file);
    }
    return { bytes, sha256: actual };
  }

  /** The lock file of `topology`'s checkpoints. */
  lockFile(topology: string): string {
    return resolvePath(this.dir, encodeName(topology) + ".lock");
  }

  /**
   * Takes the lock of `topology`'s checkpoints in this folder: one run at a
   * time writes them. A lock left by a process of this machine that is gone
   * (killed) is taken over; a lock held by a live process is a
   * {@link StateError} `STATE_LOCKED` that names it.
   *
   * @example
   * ```ts
   * const backend = new FileStateBackend(".ardea/state");
   * const lock = await backend.lock("wc", "ardea run examples/word_count.ts");
   * try {
   *   // run
   * } finally {
   *   await lock.release();
   * }
   * ```
   */
  async lock(topology: string, what: string): Promise<StateLock> {
    checkName("topology", topology);
    this.#open();
    const file = this.lockFile(topology);
    const mine: LockRecord = { pid: pid(), host: hostname(), since: new Date().toISOString(), what };
    const text = JSON.stringify(mine);
    for (let attempt = 0; attempt < 5; attempt++) {
      let created: boolean;
      try {
        created = await createFileExclusive(file, text);
      } catch (e) {
        throw this.#storage(`creating the lock ${file}`, e);
      }
      if (created) {
        return {
          file,
          release: async () => {
            const now = await readTextFile(file).catch(() => undefined);
            if (now === text) await removePath(file).catch(() => {});
          },
        };
      }
      let held: LockRecord | undefined;
      try {
        held = JSON.parse(await readTextFile(file)) as LockRecord;
      } catch (e) {
        if (isMissing(e)) continue; // released meanwhile
        held = undefined;
      }
      if (held === undefined || typeof held.pid !== "number" || typeof held.host !== "string") {
        throw new StateError(
          "STATE_LOCKED",
          `the checkpoints of topology "${topology}" in ${this.dir} are locked by ${file}, which cannot be read; ` +
            `if no run uses this state folder, remove that file`,
        );
      }
      if (held.host === mine.host && held.pid !== mine.pid && !processAlive(held.pid)) {
        // Its process was killed: the lock is stale. Removing it races with
        // another starter doing the same; the exclusive create decides.
        await removePath(file).catch(() => {});
        continue;
      }
      throw new StateError(
        "STATE_LOCKED",
        `the state folder ${this.dir} is in use: topology "${topology}" is being run there by process ${held.pid} on ${held.host} ` +
          `since ${held.since} (${held.what}); wait for that run to end or stop it, or give this run another state folder ` +
          `(--state-dir, topology.state.dir). If that process is not an Ardea run, remove ${file}`,
      );
    }
    throw new StateError(
      "STATE_LOCKED",
      `could not take the lock ${file} of topology "${topology}": it keeps changing hands`,
    );
  }

  async save(topology: string, checkpointId: number, taskKey: string, state: Uint8Array): Promise<void> {
    checkTask(topology, checkpointId, taskKey);
    checkState(topology, checkpointId, taskKey, state);
    this.#open();
    if (await this.#isCommitted(topology, checkpointId)) throw alreadyCommitted(topology, checkpointId, taskKey);
    const sha256 = await sha256Hex(state);
    const raw = new Uint8Array(HEADER + state.length);
    raw.set(MAGIC, 0);
    raw[4] = STATE_FORMAT_VERSION;
    raw.set(hexToBytes(sha256), 8);
    raw.set(state, HEADER);
    const file = this.stateFile(topology, checkpointId, taskKey);
    faultPoint("save");
    try {
      await writeBinaryFileAtomic(file, raw, { sync: this.#sync });
    } catch (e) {
      throw this.#storage(`saving ${file}`, e);
    }
    faultPoint("saved");
    const key = this.checkpointDir(topology, checkpointId);
    let shas = this.#saved.get(key);
    if (shas === undefined) this.#saved.set(key, shas = new Map());
    shas.set(taskKey, sha256);
  }

  async commit(topology: string, checkpointId: number, meta: CheckpointMeta): Promise<void> {
    checkCheckpoint(topology, checkpointId);
    const m = checkMeta(topology, checkpointId, meta);
    this.#open();
    const ids = await this.#ids(topology);
    let newest: number | undefined;
    for (let i = ids.length - 1; i >= 0 && newest === undefined; i--) {
      if (await this.#isCommitted(topology, ids[i]!)) newest = ids[i];
    }
    const existing = await this.#readCommit(topology, checkpointId);
    if (commitDecision(topology, checkpointId, m, existing, newest) === "done") return;
    const dir = this.checkpointDir(topology, checkpointId);
    const known = this.#saved.get(dir);
    const states: Record<string, string> = {};
    const absent: string[] = [];
    for (const t of m.tasks) {
      const sha = known?.get(t) ?? (await this.#readState(topology, checkpointId, t))?.sha256;
      // A state saved by this instance may have been removed since: check it is there.
      if (sha === undefined || (known?.has(t) && !(await fileExists(this.stateFile(topology, checkpointId, t))))) {
        absent.push(t);
      } else states[t] = sha;
    }
    if (absent.length > 0) throw incomplete(topology, checkpointId, absent);
    const rec: CommitRecord = {
      version: STATE_FORMAT_VERSION,
      topology,
      checkpointId,
      committedAt: Date.now(),
      meta: m,
      states,
    };
    const file = resolvePath(dir, COMMIT_FILE);
    faultPoint("commit");
    try {
      await writeBinaryFileAtomic(file, new TextEncoder().encode(JSON.stringify(rec, null, 1)), { sync: this.#sync });
    } catch (e) {
      throw this.#storage(`writing ${file}`, e);
    }
    this.#saved.delete(dir);
    faultPoint("committed");
  }

  async lastCommitted(topology: string): Promise<CommittedCheckpoint | undefined> {
    checkName("topology", topology);
    this.#open();
    const ids = await this.#ids(topology);
    for (let i = ids.length - 1; i >= 0; i--) {
      const rec = await this.#readCommit(topology, ids[i]!);
      if (rec !== undefined) return toCommitted(rec);
    }
    return undefined;
  }

  async committed(topology: string): Promise<CommittedCheckpoint[]> {
    checkName("topology", topology);
    this.#open();
    const out: CommittedCheckpoint[] = [];
    for (const id of await this.#ids(topology)) {
      const rec = await this.#readCommit(topology, id);
      if (rec !== undefined) out.push(toCommitted(rec));
    }
    return out;
  }

  async load(topology: string, checkpointId: number, taskKey: string): Promise<Uint8Array | undefined> {
    checkTask(topology, checkpointId, taskKey);
    this.#open();
    const rec = await this.#readCommit(topology, checkpointId);
    if (rec === undefined) throw notCommitted(topology, checkpointId);
    const expected = rec.states[taskKey];
    if (expected === undefined || !rec.meta.tasks.includes(taskKey)) return undefined;
    const file = this.stateFile(topology, checkpointId, taskKey);
    const state = await this.#readState(topology, checkpointId, taskKey);
    if (state === undefined) throw missing(topology, checkpointId, taskKey, file);
    if (state.sha256 !== expected) {
      throw corrupt(
        topology,
        checkpointId,
        taskKey,
        `sha256 is ${state.sha256}, the commit recorded ${expected}`,
        file,
      );
    }
    return state.bytes;
  }

  async prune(topology: string, keep: number): Promise<void> {
    checkName("topology", topology);
    checkKeep(topology, keep);
    this.#open();
    const committed: number[] = [], uncommitted: number[] = [];
    for (const id of await this.#ids(topology)) {
      (await this.#isCommitted(topology, id) ? committed : uncommitted).push(id);
    }
    for (const id of pruneSelection(committed, uncommitted, keep)) {
      const dir = this.checkpointDir(topology, id);
      try {
        // The commit record goes first: a half-removed checkpoint is never seen as committed.
        await removePath(resolvePath(dir, COMMIT_FILE));
        faultPoint("prune");
        await removePath(dir);
      } catch (e) {
        throw this.#storage(`removing ${dir}`, e);
      }
      this.#saved.delete(dir);
    }
  }

  async drop(topology: string): Promise<void> {
    checkName("topology", topology);
    this.#open();
    const top = this.topologyDir(topology);
    try {
      for (const id of await this.#ids(topology)) {
        await removePath(resolvePath(this.checkpointDir(topology, id), COMMIT_FILE));
      }
      await removePath(top);
    } catch (e) {
      throw this.#storage(`removing ${top}`, e);
    }
    for (const key of [...this.#saved.keys()]) {
      if (key.startsWith(`${top}/`) || key.startsWith(`${top}\\`)) this.#saved.delete(key);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#saved.clear();
  }
}

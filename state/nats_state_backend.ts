/**
 * A {@link StateBackend} on NATS JetStream, for distributed mode.
 *
 * - KV bucket {@link STATE_BUCKET} (history 1):
 *   `<topology>.commit.<checkpointId>` → the commit record (JSON), and
 *   `<topology>.state.<checkpointId>.<task>` → a state envelope (msgpack
 *   `[version, sha256, size, bytes | null, object | null]`).
 * - Object store {@link STATE_OBJECT_BUCKET}: states larger than the inline
 *   limit (default 512 KiB, always well below the server's max_payload),
 *   chunked by JetStream, named `<topology>.<checkpointId>.<task>`; the
 *   envelope then holds the object's name instead of the bytes.
 *
 * Topology and task keys are encoded with {@link encodeName} (no `.`), so a
 * key names its parts unambiguously. The sha256 in the envelope and in the
 * commit record is checked on every load: an overwritten value or object is
 * refused. Pruning purges the subjects from the streams (no delete markers
 * are left behind to pile up).
 *
 * @module
 */
import type { JetStreamManager, KV, KvEntry, NatsConnection, ObjectStore } from "nats";
import { createPackr } from "../transport/codec.ts";
import { acrossReconnects } from "../transport/nats_connect.ts";
import { faultPoint } from "../runtime/mod.ts";
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

/** KV bucket of commit records and small states. */
export const STATE_BUCKET = "ardea_state";
/** Object store of large states. */
export const STATE_OBJECT_BUCKET = "ardea_state_big";
/** Default size above which a state goes to the object store. */
export const DEFAULT_INLINE_LIMIT = 512 * 1024;
/** Room left below max_payload for the envelope and headers. */
const PAYLOAD_MARGIN = 64 * 1024;

/** Options of {@link NatsStateBackend}. */
export interface NatsStateBackendOptions {
  /** Replicas of the bucket and object store when this backend creates them (1, or 3 on a cluster). Default 1. */
  replicas?: number;
  /** States larger than this many bytes go to the object store (default 512 KiB; capped at max_payload − 64 KiB). */
  inlineLimit?: number;
}

/** KV keys and object names of the {@link NatsStateBackend} (exported for tools and tests). */
export const natsStateKeys = {
  commit: (topology: string, checkpointId: number): string => `${encodeName(topology)}.commit.${checkpointId}`,
  state: (topology: string, checkpointId: number, taskKey: string): string =>
    `${encodeName(topology)}.state.${checkpointId}.${encodeName(taskKey)}`,
  object: (topology: string, checkpointId: number, taskKey: string): string =>
    `${encodeName(topology)}.${checkpointId}.${encodeName(taskKey)}`,
} as const;

interface Envelope {
  readonly sha256: string;
  readonly size: number;
  readonly inline: Uint8Array | null;
  readonly object: string | null;
}

interface Buckets {
  readonly kv: KV;
  readonly os: ObjectStore;
  readonly jsm: JetStreamManager;
}

const packr = createPackr();
const enc = new TextEncoder();
const dec = new TextDecoder();
const SHA = /^[0-9a-f]{64}$/;
const ID = /^(0|[1-9][0-9]*)$/;

function isLive(e: KvEntry | null): e is KvEntry {
  return e !== null && e.operation === "PUT";
}

function isConflict(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err?.api_error?.err_code === 10071 || /wrong last sequence/i.test(err?.message ?? "");
}

/** base64url with padding, as nats.js names object-store meta subjects. */
function base64UrlPadded(s: string): string {
  let binary = "";
  for (const b of enc.encode(s)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * Checkpoints in JetStream. The connection stays the caller's: `close()`
 * does not close it. The bucket and object store are created (with
 * `replicas`) on first use, or used as they are.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const bytes = new Uint8Array([1, 2, 3]);
 * const backend = new NatsStateBackend(nc, { replicas: 3 });
 * await backend.save("wc", 3, "count.1", bytes);
 * await backend.commit("wc", 3, { tasks: ["count.1"] });
 * ```
 */
export class NatsStateBackend implements StateBackend {
  readonly kind = "nats" as const;
  readonly #nc: NatsConnection;
  readonly #replicas: number;
  readonly #inlineLimit: number;
  #buckets: Promise<Buckets> | undefined;
  #closed = false;

  constructor(nc: NatsConnection, options: NatsStateBackendOptions = {}) {
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
      throw new StateError("BAD_ARGUMENT", `state bucket replicas must be an integer from 1 to 5, got ${replicas}`);
    }
    const limit = options.inlineLimit ?? DEFAULT_INLINE_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new StateError("BAD_ARGUMENT", `inlineLimit must be a non-negative integer, got ${limit}`);
    }
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.#nc = nc;
    this.#replicas = replicas;
    this.#inlineLimit = Math.min(limit, Math.max(0, maxPayload - PAYLOAD_MARGIN));
  }

  /** Largest state kept inline in the KV bucket, in bytes. */
  get inlineLimit(): number {
    return this.#inlineLimit;
  }

  #error(what: string, e: unknown): StateError {
    if (e instanceof StateError) return e;
    const msg = (e as Error)?.message ?? String(e);
    const code = (e as { code?: unknown })?.code;
    const server = this.#nc.getServer();
    if (code === "503" || /jetstream not enabled|no responders/i.test(msg)) {
      // 503 also comes from a cluster that has lost a server and not yet elected its JetStream leaders.
      return new StateError(
        "STORAGE_ERROR",
        `${what}: JetStream does not answer on NATS at ${server} (not enabled: start nats-server with -js; or a cluster electing a leader)`,
        { cause: e },
      );
    }
    return new StateError("STORAGE_ERROR", `${what} (NATS at ${server}): ${msg}`, { cause: e });
  }

  /** Opens (creating if missing) the bucket and the object store. */
  async #open(): Promise<Buckets> {
    if (this.#closed) throw closed(this.kind);
    if (this.#buckets === undefined) {
      const opening = (async () => {
        try {
          const js = this.#nc.jetstream();
          const kv = await js.views.kv(STATE_BUCKET, {
            replicas: this.#replicas,
            history: 1,
            description: "Ardea checkpoints: commit records and small states",
          });
          const os = await js.views.os(STATE_OBJECT_BUCKET, {
            replicas: this.#replicas,
            description: "Ardea checkpoints: large states",
          });
          return { kv, os, jsm: await this.#nc.jetstreamManager() };
        } catch (e) {
          throw this.#error(`opening state bucket "${STATE_BUCKET}"`, e);
        }
      })();
      this.#buckets = opening;
      // A failed open is retried by the next call.
      opening.catch(() => {
        if (this.#buckets === opening) this.#buckets = undefined;
      });
    }
    return await this.#buckets;
  }

  async #get(b: Buckets, key: string): Promise<KvEntry | undefined> {
    try {
      const e = await acrossReconnects(this.#nc, () => b.kv.get(key));
      return isLive(e) ? e : undefined;
    } catch (e) {
      throw this.#error(`reading key "${key}" of KV "${STATE_BUCKET}"`, e);
    }
  }

  /**
   * The keys matching `filter`, from the stream's subjects (keys are only
   * ever purged here, never deleted with a marker, so a subject with a
   * message is a live key). Not `kv.keys()`: its ordered consumer timed out
   * one call in three on a 3-server cluster that had lost a server for good
   * (nats-server 2.9), which stalled every commit after the loss.
   */
  async #keys(b: Buckets, filter: string): Promise<string[]> {
    const prefix = `$KV.${STATE_BUCKET}.`;
    try {
      return await acrossReconnects(this.#nc, async () => {
        const info = await b.jsm.streams.info(`KV_${STATE_BUCKET}`, { subjects_filter: `${prefix}${filter}` });
        return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
      });
    } catch (e) {
      throw this.#error(`listing keys "${filter}" of KV "${STATE_BUCKET}"`, e);
    }
  }

  async #readCommit(b: Buckets, topology: string, checkpointId: number): Promise<CommitRecord | undefined> {
    const key = natsStateKeys.commit(topology, checkpointId);
    const e = await this.#get(b, key);
    return e === undefined
      ? undefined
      : parseCommitRecord(dec.decode(e.value), topology, checkpointId, `KV ${STATE_BUCKET} key "${key}"`);
  }

  async #committedIds(b: Buckets, topology: string): Promise<number[]> {
    const prefix = `${encodeName(topology)}.commit.`;
    return (await this.#keys(b, `${prefix}*`))
      .map((k) => k.slice(prefix.length))
      .filter((s) => ID.test(s))
      .map(Number)
      .sort((x, y) => x - y);
  }

  async #stateIds(b: Buckets, topology: string): Promise<number[]> {
    const prefix = `${encodeName(topology)}.state.`;
    const ids = new Set<number>();
    for (const k of await this.#keys(b, `${prefix}*.*`)) {
      const id = k.slice(prefix.length, k.indexOf(".", prefix.length));
      if (ID.test(id)) ids.add(Number(id));
    }
    return [...ids].sort((x, y) => x - y);
  }

  #readEnvelope(entry: KvEntry, topology: string, checkpointId: number, taskKey: string): Envelope {
    const source = `KV ${STATE_BUCKET} key "${entry.key}"`;
    let v: unknown;
    try {
      v = packr.unpack(entry.value);
    } catch {
      throw corrupt(topology, checkpointId, taskKey, "the value is not a state envelope (not msgpack)", source);
    }
    if (!Array.isArray(v) || v.length !== 5) {
      throw corrupt(topology, checkpointId, taskKey, "the value is not a state envelope", source);
    }
    const [version, sha256, size, inline, object] = v as unknown[];
    if (version !== STATE_FORMAT_VERSION) {
      throw corrupt(
        topology,
        checkpointId,
        taskKey,
        `envelope of format ${String(version)}, expected ${STATE_FORMAT_VERSION}`,
        source,
      );
    }
    if (typeof sha256 !== "string" || !SHA.test(sha256) || !Number.isSafeInteger(size) || (size as number) < 0) {
      throw corrupt(topology, checkpointId, taskKey, "the envelope has no valid sha256 and size", source);
    }
    const bytes = inline instanceof Uint8Array ? inline : null;
    const name = typeof object === "string" ? object : null;
    if ((bytes === null) === (name === null)) {
      throw corrupt(topology, checkpointId, taskKey, "the envelope holds neither bytes nor an object name", source);
    }
    return { sha256, size: size as number, inline: bytes, object: name };
  }

  async #purge(b: Buckets, stream: string, filter: string): Promise<void> {
    try {
      await b.jsm.streams.purge(stream, { filter });
    } catch (e) {
      throw this.#error(`purging "${filter}" from stream "${stream}"`, e);
    }
  }

  /** Removes the objects whose names `select` picks, leaving no delete markers. */
  async #deleteObjects(b: Buckets, select: (name: string) => boolean): Promise<void> {
    let infos;
    try {
      infos = await b.os.list();
    } catch (e) {
      throw this.#error(`listing object store "${STATE_OBJECT_BUCKET}"`, e);
    }
    for (const info of infos) {
      if (!select(info.name)) continue;
      try {
        await b.os.delete(info.name);
      } catch (e) {
        throw this.#error(`deleting object "${info.name}" of "${STATE_OBJECT_BUCKET}"`, e);
      }
      await this.#purge(b, `OBJ_${STATE_OBJECT_BUCKET}`, `$O.${STATE_OBJECT_BUCKET}.M.${base64UrlPadded(info.name)}`);
    }
  }

  async save(topology: string, checkpointId: number, taskKey: string, state: Uint8Array): Promise<void> {
    checkTask(topology, checkpointId, taskKey);
    checkState(topology, checkpointId, taskKey, state);
    const b = await this.#open();
    if ((await this.#get(b, natsStateKeys.commit(topology, checkpointId))) !== undefined) {
      throw alreadyCommitted(topology, checkpointId, taskKey);
    }
    const sha256 = await sha256Hex(state);
    faultPoint("save");
    let object: string | null = null;
    if (state.length > this.#inlineLimit) {
      object = natsStateKeys.object(topology, checkpointId, taskKey);
      try {
        await b.os.putBlob({ name: object, description: `state of task ${JSON.stringify(taskKey)}` }, state);
      } catch (e) {
        throw this.#error(`saving the state of task ${JSON.stringify(taskKey)} as object "${object}"`, e);
      }
    }
    const key = natsStateKeys.state(topology, checkpointId, taskKey);
    const envelope = packr.pack([STATE_FORMAT_VERSION, sha256, state.length, object === null ? state : null, object]);
    try {
      await acrossReconnects(this.#nc, () => b.kv.put(key, envelope));
    } catch (e) {
      throw this.#error(`saving key "${key}" of KV "${STATE_BUCKET}"`, e);
    }
    faultPoint("saved");
  }

  async commit(topology: string, checkpointId: number, meta: CheckpointMeta): Promise<void> {
    checkCheckpoint(topology, checkpointId);
    const m = checkMeta(topology, checkpointId, meta);
    const b = await this.#open();
    const ids = await this.#committedIds(b, topology);
    const existing = await this.#readCommit(b, topology, checkpointId);
    if (commitDecision(topology, checkpointId, m, existing, ids[ids.length - 1]) === "done") return;
    const entries = await Promise.all(m.tasks.map((t) => this.#get(b, natsStateKeys.state(topology, checkpointId, t))));
    const absent = m.tasks.filter((_, i) => entries[i] === undefined);
    if (absent.length > 0) throw incomplete(topology, checkpointId, absent);
    const states: Record<string, string> = {};
    m.tasks.forEach((t, i) => (states[t] = this.#readEnvelope(entries[i]!, topology, checkpointId, t).sha256));
    const rec: CommitRecord = {
      version: STATE_FORMAT_VERSION,
      topology,
      checkpointId,
      committedAt: Date.now(),
      meta: m,
      states,
    };
    const key = natsStateKeys.commit(topology, checkpointId);
    faultPoint("commit");
    try {
      await acrossReconnects(this.#nc, () => b.kv.create(key, enc.encode(JSON.stringify(rec))));
    } catch (e) {
      if (!isConflict(e) && !/key exists/i.test((e as Error)?.message ?? "")) {
        throw this.#error(`writing commit record "${key}"`, e);
      }
      // Another commit of the same checkpoint won the race: fine if it committed the same tasks.
      commitDecision(topology, checkpointId, m, await this.#readCommit(b, topology, checkpointId), undefined);
    }
    faultPoint("committed");
  }

  async lastCommitted(topology: string): Promise<CommittedCheckpoint | undefined> {
    checkName("topology", topology);
    const b = await this.#open();
    const ids = await this.#committedIds(b, topology);
    for (let i = ids.length - 1; i >= 0; i--) {
      const rec = await this.#readCommit(b, topology, ids[i]!);
      if (rec !== undefined) return toCommitted(rec);
    }
    return undefined;
  }

  async committed(topology: string): Promise<CommittedCheckpoint[]> {
    checkName("topology", topology);
    const b = await this.#open();
    const out: CommittedCheckpoint[] = [];
    for (const id of await this.#committedIds(b, topology)) {
      const rec = await this.#readCommit(b, topology, id);
      if (rec !== undefined) out.push(toCommitted(rec));
    }
    return out;
  }

  async load(topology: string, checkpointId: number, taskKey: string): Promise<Uint8Array | undefined> {
    checkTask(topology, checkpointId, taskKey);
    const b = await this.#open();
    const rec = await this.#readCommit(b, topology, checkpointId);
    if (rec === undefined) throw notCommitted(topology, checkpointId);
    const expected = rec.states[taskKey];
    if (expected === undefined || !rec.meta.tasks.includes(taskKey)) return undefined;
    const key = natsStateKeys.state(topology, checkpointId, taskKey);
    const entry = await this.#get(b, key);
    if (entry === undefined) throw missing(topology, checkpointId, taskKey, `KV ${STATE_BUCKET} key "${key}"`);
    const env = this.#readEnvelope(entry, topology, checkpointId, taskKey);
    let bytes: Uint8Array;
    let source = `KV ${STATE_BUCKET} key "${key}"`;
    if (env.inline !== null) bytes = env.inline;
    else {
      source = `object "${env.object}" of "${STATE_OBJECT_BUCKET}"`;
      let blob: Uint8Array | null;
      try {
        blob = await b.os.getBlob(env.object!);
      } catch (e) {
        throw corrupt(
          topology,
          checkpointId,
          taskKey,
          `the object cannot be read: ${(e as Error)?.message ?? String(e)}`,
          source,
        );
      }
      if (blob === null) throw missing(topology, checkpointId, taskKey, source);
      bytes = blob;
    }
    const actual = await sha256Hex(bytes);
    if (actual !== env.sha256 || actual !== expected) {
      throw corrupt(topology, checkpointId, taskKey, `sha256 is ${actual}, the commit recorded ${expected}`, source);
    }
    if (bytes.length !== env.size) {
      throw corrupt(topology, checkpointId, taskKey, `${bytes.length} bytes, the envelope records ${env.size}`, source);
    }
    // A view into a decoded message: hand out bytes of its own.
    return bytes.slice();
  }

  async prune(topology: string, keep: number): Promise<void> {
    checkName("topology", topology);
    checkKeep(topology, keep);
    const b = await this.#open();
    const committed = await this.#committedIds(b, topology);
    const done = new Set(committed);
    const uncommitted = (await this.#stateIds(b, topology)).filter((id) => !done.has(id));
    const drop = pruneSelection(committed, uncommitted, keep);
    const t = encodeName(topology);
    const stream = `KV_${STATE_BUCKET}`;
    for (const id of drop) {
      // The commit record goes first: a half-removed checkpoint is never seen as committed.
      await this.#purge(b, stream, `$KV.${STATE_BUCKET}.${natsStateKeys.commit(topology, id)}`);
      faultPoint("prune");
      await this.#purge(b, stream, `$KV.${STATE_BUCKET}.${t}.state.${id}.*`);
    }
    if (drop.length > 0) {
      const dropped = new Set(drop);
      await this.#deleteObjects(b, (name) => {
        const m = name.startsWith(`${t}.`) ? /^(\d+)\./.exec(name.slice(t.length + 1)) : null;
        return m !== null && dropped.has(Number(m[1]));
      });
    }
  }

  async drop(topology: string): Promise<void> {
    checkName("topology", topology);
    const b = await this.#open();
    const t = encodeName(topology);
    const stream = `KV_${STATE_BUCKET}`;
    await this.#purge(b, stream, `$KV.${STATE_BUCKET}.${t}.commit.*`);
    await this.#purge(b, stream, `$KV.${STATE_BUCKET}.${t}.>`);
    await this.#deleteObjects(b, (name) => name.startsWith(`${t}.`));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#buckets = undefined;
  }
}

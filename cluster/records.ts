/**
 * The control-plane records of distributed mode, over the JetStream KV
 * bucket {@link KV_BUCKET}: one {@link TopologyRecord} per topology, one
 * {@link ContainerRecord} per container, and the topology master's lease
 * ({@link LeaseRecord}). Values are JSON; every read is parsed with the
 * schemas of the wire contract, and every read-modify-write is a revision
 * compare-and-set.
 *
 * @module
 */
import type { JetStreamManager, KV, KvEntry, NatsConnection } from "nats";
import {
  containerKey as wireContainerKey,
  type ContainerRecord,
  KV_BUCKET,
  leaseKey as wireLeaseKey,
  type LeaseRecord,
  parseContainerRecord,
  parseLeaseRecord,
  parseTopologyRecord,
  parseWorkerRecord,
  topologyKey as wireTopologyKey,
  type TopologyRecord,
  workerKey,
  type WorkerRecord,
} from "../transport/wire/mod.ts";
import { ArdeaError } from "../topology/errors.ts";
import { acrossReconnects } from "../transport/nats_connect.ts";

/**
 * A KV key function of the wire contract whose bad-name error (a name
 * outside the topology-name rule, `checkTopologyName`) becomes a
 * {@link RecordsError}, which the CLI reports as it reports a missing record.
 */
function keyed<A extends unknown[]>(key: (name: string, ...rest: A) => string): (name: string, ...rest: A) => string {
  return (name, ...rest) => {
    try {
      return key(name, ...rest);
    } catch (e) {
      throw e instanceof ArdeaError && e.code === "BAD_NAME" ? new RecordsError("BAD_NAME", e.message) : e;
    }
  };
}
const topologyKey = keyed(wireTopologyKey);
const containerKey = keyed(wireContainerKey);
const leaseKey = keyed(wireLeaseKey);

/** Revisions kept per key. */
const HISTORY = 5;
/** Attempts of a compare-and-set loop before giving up. */
const CAS_ATTEMPTS = 50;

/**
 * A record that cannot be read or written: unparseable value (the message
 * names the key), missing topology, lost compare-and-set race, no
 * JetStream.
 *
 * @example
 * ```ts
 * declare const records: Records;
 * try { await records.getTopology("wc"); } catch (e) { if (e instanceof RecordsError) console.error(e.message); }
 * ```
 */
export class RecordsError extends ArdeaError {}

/** A master lease as held: the record and the KV revision it was written at. */
export interface Lease extends LeaseRecord {
  readonly topology: string;
  readonly revision: number;
}

/** Options of {@link Records.open}. */
export interface RecordsOptions {
  /** Replicas of the bucket when it is created (1, or 3 on a cluster). Default 1. */
  replicas?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function isLive(e: KvEntry | null): e is KvEntry {
  return e !== null && e.operation === "PUT";
}

function isConflict(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err?.api_error?.err_code === 10071 || /wrong last sequence/i.test(err?.message ?? "");
}

function isNotFound(e: unknown): boolean {
  return /stream not found/i.test((e as Error)?.message ?? "");
}

function jetStreamError(e: unknown, nc: NatsConnection): RecordsError {
  const msg = (e as Error)?.message ?? String(e);
  const code = (e as { code?: unknown })?.code;
  const server = nc.getServer();
  if (code === "503" || /jetstream not enabled|no responders/i.test(msg)) {
    // 503 also comes from a cluster that has lost a server and not yet elected its JetStream leaders.
    return new RecordsError(
      "NO_JETSTREAM",
      `JetStream does not answer on NATS at ${server} (not enabled: start nats-server with -js; or a cluster electing a leader)`,
      { cause: e },
    );
  }
  return new RecordsError("KV_ERROR", `KV bucket "${KV_BUCKET}" on NATS at ${server}: ${msg}`, { cause: e });
}

function decodeJson(entry: KvEntry): unknown {
  try {
    return JSON.parse(dec.decode(entry.value));
  } catch (e) {
    throw new RecordsError("BAD_RECORD", `KV ${KV_BUCKET} key "${entry.key}" is not JSON: ${(e as Error).message}`);
  }
}

function parseAt<T>(entry: KvEntry, parse: (v: unknown) => T): T {
  const v = decodeJson(entry);
  try {
    return parse(v);
  } catch (e) {
    throw new RecordsError("BAD_RECORD", `KV ${KV_BUCKET} key "${entry.key}": ${(e as Error).message}`, { cause: e });
  }
}

function json(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/**
 * The records of every topology on one NATS cluster.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const records = await Records.open(nc, { replicas: 3 });
 * await records.updateTopology("wc", (r) => ({ ...r, state: "PAUSED" }));
 * const lease = await records.acquireLease("wc", "host:42", 5000);
 * ```
 */
export class Records {
  readonly #kv: KV;
  readonly #nc: NatsConnection;

  private constructor(nc: NatsConnection, kv: KV) {
    this.#nc = nc;
    this.#kv = kv;
  }

  /**
   * Opens the bucket, creating it (history 5, `replicas`) if it is missing.
   * An existing bucket is used as it is.
   */
  static async open(nc: NatsConnection, options: RecordsOptions = {}): Promise<Records> {
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
      throw new RecordsError("BAD_OPTION", `KV replicas must be an integer from 1 to 5, got ${replicas}`);
    }
    try {
      const kv = await nc.jetstream().views.kv(KV_BUCKET, { replicas, history: HISTORY });
      return new Records(nc, kv);
    } catch (e) {
      throw jetStreamError(e, nc);
    }
  }

  /** Opens the bucket if it exists, without creating it; `undefined` if it does not. */
  static async bind(nc: NatsConnection): Promise<Records | undefined> {
    let jsm: JetStreamManager;
    try {
      jsm = await nc.jetstreamManager();
      await jsm.streams.info(`KV_${KV_BUCKET}`);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw jetStreamError(e, nc);
    }
    return await Records.open(nc);
  }

  async #get(key: string): Promise<KvEntry | null> {
    try {
      const e = await acrossReconnects(this.#nc, () => this.#kv.get(key));
      return isLive(e) ? e : null;
    } catch (e) {
      throw jetStreamError(e, this.#nc);
    }
  }

  async #keys(filter?: string): Promise<string[]> {
    try {
      return await acrossReconnects(this.#nc, async () => await drain(await this.#kv.keys(filter)));
    } catch (e) {
      throw jetStreamError(e, this.#nc);
    }
  }

  async #put(key: string, value: unknown): Promise<number> {
    try {
      return await acrossReconnects(this.#nc, () => this.#kv.put(key, json(value)));
    } catch (e) {
      throw jetStreamError(e, this.#nc);
    }
  }

  /** Writes a topology record unconditionally; returns its revision. */
  async putTopology(rec: TopologyRecord): Promise<number> {
    const checked = parseTopologyRecord(rec);
    return await this.#put(topologyKey(checked.name), checked);
  }

  /** The record of topology `name`, or `undefined`. Throws {@link RecordsError} on a garbage value. */
  async getTopology(name: string): Promise<TopologyRecord | undefined> {
    const e = await this.#get(topologyKey(name));
    return e === null ? undefined : parseAt(e, parseTopologyRecord);
  }

  /**
   * Read-modify-write of topology `name` with revision compare-and-set,
   * retried on conflict. `fn` gets the current record and returns the new
   * one, or `undefined` to leave it as it is; it may run more than once.
   * `updatedAt` is set on write. Returns the record as stored. Throws
   * {@link RecordsError} `UNKNOWN_TOPOLOGY` when there is no record.
   */
  async updateTopology(
    name: string,
    fn: (current: TopologyRecord) => TopologyRecord | undefined,
  ): Promise<TopologyRecord> {
    const key = topologyKey(name);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await this.#get(key);
      if (entry === null) throw new RecordsError("UNKNOWN_TOPOLOGY", `no topology "${name}" in KV ${KV_BUCKET}`);
      const current = parseAt(entry, parseTopologyRecord);
      const next = fn(current);
      if (next === undefined) return current;
      const checked = parseTopologyRecord({ ...next, updatedAt: Date.now() });
      try {
        // Sent again across a reconnect: if the first landed, the second conflicts and `fn` runs on what it wrote.
        await acrossReconnects(this.#nc, () => this.#kv.update(key, json(checked), entry.revision));
        return checked;
      } catch (e) {
        if (!isConflict(e)) throw jetStreamError(e, this.#nc);
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }
    throw new RecordsError(
      "CAS_CONFLICT",
      `topology "${name}": ${CAS_ATTEMPTS} conflicting updates in a row, giving up`,
    );
  }

  /**
   * Every topology record, sorted by name. A key whose value does not parse
   * is skipped and passed to `onBad` (by default: ignored).
   */
  async listTopologies(onBad?: (error: RecordsError) => void): Promise<TopologyRecord[]> {
    const keys = (await this.#keys()).filter((k) => !k.includes("."));
    const out: TopologyRecord[] = [];
    for (const key of keys) {
      const e = await this.#get(key);
      if (e === null) continue;
      try {
        out.push(parseAt(e, parseTopologyRecord));
      } catch (err) {
        if (err instanceof RecordsError) onBad?.(err);
        else throw err;
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Writes a container record unconditionally; returns its revision. */
  async putContainer(rec: ContainerRecord): Promise<number> {
    const checked = parseContainerRecord(rec);
    return await this.#put(containerKey(checked.topology, checked.container), checked);
  }

  /**
   * The container records of topology `name`, by container index. Throws
   * {@link RecordsError} on a garbage value.
   */
  async listContainers(name: string): Promise<ContainerRecord[]> {
    const prefix = `${topologyKey(name)}.`;
    const keys = (await this.#keys(`${prefix}*`)).filter((k) => /^c\d+$/.test(k.slice(prefix.length)));
    const out: ContainerRecord[] = [];
    for (const key of keys) {
      const e = await this.#get(key);
      if (e !== null) out.push(parseAt(e, parseContainerRecord));
    }
    return out.sort((a, b) => a.container - b.container);
  }

  /** Writes a pool worker's record. */
  async putWorker(rec: WorkerRecord): Promise<number> {
    const checked = parseWorkerRecord(rec);
    return await this.#put(workerKey(checked.id), checked);
  }

  /** Every pool worker's record (stale ones included: check `heartbeatAt`). */
  async listWorkers(): Promise<WorkerRecord[]> {
    const out: WorkerRecord[] = [];
    for (const key of await this.#keys("_w.*")) {
      const e = await this.#get(key);
      if (e === null) continue;
      try {
        out.push(parseAt(e, parseWorkerRecord));
      } catch {
        // A garbage worker record is as good as no worker.
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Removes a worker's record (it is shutting down). */
  async deleteWorker(id: string): Promise<void> {
    await this.#kv.delete(workerKey(id)).catch(() => {});
  }

  /** Deletes topology `name`: its record, its container records and its lease. */
  async deleteTopology(name: string): Promise<void> {
    const prefix = `${topologyKey(name)}.`;
    const keys = [topologyKey(name), ...(await this.#keys(`${prefix}*`))];
    try {
      for (const key of keys) await this.#kv.delete(key);
    } catch (e) {
      throw jetStreamError(e, this.#nc);
    }
  }

  // ------------------------------------------------------------ master lease

  /** The current lease of topology `name` (perhaps expired), or `undefined`. */
  async getLease(name: string): Promise<Lease | undefined> {
    const e = await this.#get(leaseKey(name));
    if (e === null) return undefined;
    return { topology: name, revision: e.revision, ...parseAt(e, parseLeaseRecord) };
  }

  /**
   * Takes the master lease of `name` for `holder` until now + `ttlMs`: when
   * nobody holds it, its holder's time ran out, or `holder` already holds it.
   * Returns the lease, or `undefined` when another live holder has it or won
   * the race for it.
   */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const key = leaseKey(name);
    const entry = await this.#get(key);
    const rec: LeaseRecord = { holder, expiresAt: Date.now() + ttlMs };
    try {
      if (entry === null) {
        const revision = await this.#kv.create(key, json(rec));
        return { topology: name, revision, ...rec };
      }
      const current = parseAt(entry, parseLeaseRecord);
      if (current.holder !== holder && current.expiresAt > Date.now()) return undefined;
      const revision = await this.#kv.update(key, json(rec), entry.revision);
      return { topology: name, revision, ...rec };
    } catch (e) {
      if (isConflict(e)) return undefined;
      throw jetStreamError(e, this.#nc);
    }
  }

  /**
   * Extends `holder`'s lease of `name` to now + `ttlMs`. Returns the renewed
   * lease, or `undefined` when `holder` no longer holds it (taken over after
   * it expired): the caller must stop acting as master.
   */
  async renewLease(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const key = leaseKey(name);
    const entry = await this.#get(key);
    if (entry === null) return undefined;
    if (parseAt(entry, parseLeaseRecord).holder !== holder) return undefined;
    const rec: LeaseRecord = { holder, expiresAt: Date.now() + ttlMs };
    try {
      const revision = await this.#kv.update(key, json(rec), entry.revision);
      return { topology: name, revision, ...rec };
    } catch (e) {
      if (isConflict(e)) return undefined;
      throw jetStreamError(e, this.#nc);
    }
  }

  /**
   * Gives up `holder`'s lease of `name` (it expires at once, so another
   * master can take it without waiting). Returns whether `holder` held it.
   */
  async releaseLease(name: string, holder: string): Promise<boolean> {
    const key = leaseKey(name);
    const entry = await this.#get(key);
    if (entry === null) return false;
    if (parseAt(entry, parseLeaseRecord).holder !== holder) return false;
    try {
      await this.#kv.update(key, json({ holder, expiresAt: 0 } satisfies LeaseRecord), entry.revision);
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw jetStreamError(e, this.#nc);
    }
  }
}

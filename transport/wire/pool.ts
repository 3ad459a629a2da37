/**
 * The pool scheduler's protocol: worker records in KV, and a master's
 * requests to run and stop containers on a worker (msgpack).
 *
 * @module
 */
import { z } from "zod";
import { NAME, WIRE_VERSION } from "./names.ts";
import { decodeWith, packr, parseWith } from "./_shared.ts";

/**
 * The pool scheduler's protocol. A worker (`ardea worker`) keeps its record
 * under `_w.<id>` in KV (slots, running containers, heartbeat every 2 s).
 * A master places container `index` of a topology on the worker with the
 * most free slots: request `{topology, index, runtime}` on
 * `ardea._workers.<id>.run`, reply `{ok, pid}` or `{ok: false, error}`;
 * the worker reports the container's end on `ardea._workers.exits`, and
 * stops one on request (`ardea._workers.<id>.kill`).
 *
 * @example
 * ```ts
 * workerSubjects("w1").run; // "ardea._workers.w1.run"
 * ```
 */
export const workerSubjects = (id: string) =>
  ({
    run: `ardea._workers.${id}.run`,
    kill: `ardea._workers.${id}.kill`,
    exits: "ardea._workers.exits",
  }) as const;

const workerRecordSchema = z.object({
  version: z.literal(WIRE_VERSION),
  id: z.string().regex(NAME),
  host: z.string(),
  pid: z.number().int(),
  slots: z.number().int().positive(),
  running: z.array(z.object({ topology: z.string(), index: z.number().int().nonnegative(), pid: z.number().int() })),
  heartbeatAt: z.number(),
  ardeaVersion: z.string(),
});

/** The KV record of one pool worker. */
export type WorkerRecord = z.infer<typeof workerRecordSchema>;

const runRequestSchema = z.object({
  topology: z.string().regex(NAME),
  index: z.number().int().nonnegative(),
  runtime: z.enum(["node", "deno"]),
});
const runReplySchema = z.union([
  z.object({ ok: z.literal(true), pid: z.number().int() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
const killRequestSchema = z.object({
  topology: z.string(),
  index: z.number().int().nonnegative(),
  signal: z.enum(["SIGTERM", "SIGKILL"]),
});
const exitEventSchema = z.object({
  worker: z.string(),
  topology: z.string(),
  index: z.number().int().nonnegative(),
  pid: z.number().int(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
});

/** A master's request to run a container. */
export type RunRequest = z.infer<typeof runRequestSchema>;
/** A worker's answer to a {@link RunRequest}. */
export type RunReply = z.infer<typeof runReplySchema>;
/** A request to stop a container. */
export type KillRequest = z.infer<typeof killRequestSchema>;
/** A worker's report that a container ended. */
export type ExitEvent = z.infer<typeof exitEventSchema>;

/**
 * Encodes a pool message (msgpack).
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * nc.request(workerSubjects("w1").run, encodePool({ topology: "wc", index: 0, runtime: "node" }));
 * ```
 */
export function encodePool(m: RunRequest | RunReply | KillRequest | ExitEvent): Uint8Array {
  return packr.pack(m);
}

/** Decoders of pool messages; each throws `WireError`. */
export const decodePool = {
  runRequest: (b: Uint8Array): RunRequest => decodeWith(runRequestSchema, b, "run request"),
  runReply: (b: Uint8Array): RunReply => decodeWith(runReplySchema, b, "run reply"),
  killRequest: (b: Uint8Array): KillRequest => decodeWith(killRequestSchema, b, "kill request"),
  exitEvent: (b: Uint8Array): ExitEvent => decodeWith(exitEventSchema, b, "exit event"),
};

/**
 * Parses a worker record read from KV; throws `WireError`.
 *
 * @example
 * ```ts
 * declare const text: string;
 * const w = parseWorkerRecord(JSON.parse(text));
 * ```
 */
export function parseWorkerRecord(v: unknown): WorkerRecord {
  return parseWith(workerRecordSchema, v, "worker record");
}

/**
 * KV key of a worker's record.
 *
 * @example
 * ```ts
 * workerKey("w1"); // "_w.w1"
 * ```
 */
export function workerKey(id: string): string {
  return `_w.${id}`;
}

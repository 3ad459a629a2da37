/**
 * Names of the wire contract: its version, its error, the KV buckets, the
 * subjects of a topology and the KV keys of its records, and the one rule a
 * topology name follows.
 *
 * @module
 */
import { ArdeaError } from "../../topology/errors.ts";

/** KV bucket of topology and container records. */
export const KV_BUCKET = "ardea";
/** Object store of topology bundles, named by sha256. */
export const CODE_BUCKET = "ardea_code";
/**
 * Version of this contract; a frame, record or container of another version
 * is refused with an error naming both. 2: data frames by column
 * (data.ts); the `ready` event names its container's version.
 */
export const WIRE_VERSION = 2;

/**
 * A message from the network that does not follow the contract.
 *
 * @example
 * ```ts
 * import { decodeDataFrame } from "./data.ts";
 * declare const bytes: Uint8Array;
 * let dropped = 0;
 * try { decodeDataFrame(bytes); } catch (e) { if (e instanceof WireError) dropped++; }
 * ```
 */
export class WireError extends ArdeaError {
  constructor(message: string) {
    super("BAD_WIRE_MESSAGE", message);
  }
}

/** The topology-name rule (also that of worker ids): 1-128 letters, digits, `_`, `.` or `-`, not starting with a sign. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Checks a topology name against the one rule every part applies (submit,
 * records, subjects); throws `ArdeaError` `BAD_NAME` naming the rule.
 *
 * @example
 * ```ts
 * checkTopologyName("word-count.v2"); // ok
 * checkTopologyName("a b"); // throws BAD_NAME
 * ```
 */
export function checkTopologyName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ArdeaError(
      "BAD_NAME",
      `topology name ${
        JSON.stringify(name)
      } must be 1-128 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
}

/**
 * Subject names of one topology.
 *
 * @example
 * ```ts
 * subjects("wc").data(1); // "ardea.wc.data.1"
 * ```
 */
export function subjects(topology: string) {
  if (!NAME.test(topology)) throw new WireError(`bad topology name ${JSON.stringify(topology)}`);
  const p = `ardea.${subjectToken(topology)}`;
  return {
    data: (container: number) => `${p}.data.${container}`,
    acks: (container: number) => `${p}.acks.${container}`,
    ctl: `${p}.ctl`,
    events: `${p}.events`,
    tap: (id: string) => `${p}.tap.${id}`,
    logs: (container: number) => `${p}.logs.${container}`,
    metrics: `${p}.metrics`,
  } as const;
}

/** Subject that matches the `metrics` subject of every topology (for a tracker). */
export const METRICS_WILDCARD = "ardea.*.metrics";
/** Subject that matches the `ctl` subject of every topology (a tracker reads `bp` there). */
export const CONTROL_WILDCARD = "ardea.*.ctl";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * A name as one NATS subject token, KV key part or file name, one to one:
 * ASCII letters, digits, `_` and `-` stay as they are (so names of those
 * keep their keys and subjects), every other UTF-8 byte becomes `=XX` (`.`
 * is `=2E`). Topology names in subjects and records, and the state
 * backends' keys and files, all use it.
 *
 * @example
 * ```ts
 * encodeName("wc.v2"); // "wc=2Ev2"
 * encodeName("word-count"); // "word-count"
 * ```
 */
export function encodeName(name: string): string {
  if (/^[A-Za-z0-9_-]*$/.test(name)) return name;
  let out = "";
  for (const b of utf8.encode(name)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The inverse of {@link encodeName}.
 *
 * @example
 * ```ts
 * decodeName("wc=2Ev2"); // "wc.v2"
 * ```
 */
export function decodeName(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "=") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return utf8Decoder.decode(new Uint8Array(bytes));
}

/**
 * The subject token of a topology name (`subjects(name)` uses it after
 * `ardea.`); two names never share one.
 *
 * @example
 * ```ts
 * subjectToken("wc.v2"); // "wc=2Ev2" (and "wc_v2" stays "wc_v2")
 * ```
 */
export function subjectToken(topology: string): string {
  return encodeName(topology);
}

/**
 * KV key of a topology's record: the name as it is when it has only
 * letters, digits, `_` and `-`; otherwise each other byte is `=XX` (a `.`
 * is `=2E`), so two names never share a record. (Before, `.` became `_`,
 * and `x.y` and `x_y` shared one.) Throws `ArdeaError` `BAD_NAME` for a
 * name outside the rule ({@link checkTopologyName}).
 *
 * @example
 * ```ts
 * topologyKey("word-count"); // "word-count"
 * topologyKey("wc.v2"); // "wc=2Ev2"
 * ```
 */
export function topologyKey(name: string): string {
  checkTopologyName(name);
  return encodeName(name);
}

/**
 * KV key of a container's record.
 *
 * @example
 * ```ts
 * containerKey("wc", 1); // "wc.c1"
 * ```
 */
export function containerKey(name: string, container: number): string {
  return `${topologyKey(name)}.c${container}`;
}

/**
 * KV key of a topology's master lease.
 *
 * @example
 * ```ts
 * leaseKey("wc"); // "wc.master"
 * ```
 */
export function leaseKey(name: string): string {
  return `${topologyKey(name)}.master`;
}

/**
 * What keeps a process alive, counted by kind, so that a test that leaves
 * a timer, a socket, a server or a child process behind can be named.
 *
 * - Node: `process.getActiveResourcesInfo()` (ref'd handles, requests and
 *   timers: `Timeout`, `TCPSocketWrap`, `TCPServerWrap`, `ProcessWrap`,
 *   `PipeWrap`, …; an unref'd one does not keep the process alive and is not
 *   listed).
 * - Deno: the same call (Deno's Node compatibility) sees timers and what
 *   `node:*` modules opened (nats.js's sockets, `node:net`, `node:http`), but
 *   not what `Deno.*` opened (runtime/ spawns children with `Deno.Command`
 *   and serves HTTP with `Deno.serve`): those are Deno's resource table,
 *   `Deno[Deno.internal].core.resources()` (`child`, `childStdout`, `http`,
 *   `tcpStream`, …; the same table `deno test`'s resource sanitizer reads,
 *   which is off by default in Deno 2 and does not apply to uvu tests).
 *   Deno lists unref'd Node handles too.
 *
 * A connection that a server of this process accepted is counted apart, as
 * {@link ACCEPTED}: it belongs to that server (Node's HTTP server keeps an
 * idle keep-alive connection open for 5 s after its last response, whoever
 * the client was) and goes when the server closes, so a single test is not
 * blamed for it; a suite's check counts it.
 *
 * @module
 */
import { Socket } from "node:net";
import process from "node:process";

/** Counts by kind (`Timeout`, `TCPSocketWrap`, `deno:child`, …). */
export type Resources = Map<string, number>;

interface DenoCore {
  resources(): Record<string, string>;
}

function denoCore(): DenoCore | undefined {
  const deno = (globalThis as { Deno?: Record<PropertyKey, unknown> & { internal?: symbol } }).Deno;
  if (deno?.internal === undefined) return undefined;
  const core = (deno[deno.internal] as { core?: Partial<DenoCore> } | undefined)?.core;
  return typeof core?.resources === "function" ? (core as DenoCore) : undefined;
}

const core = denoCore();
/** Kind of a connection a server of this process accepted (see the module's header). */
export const ACCEPTED = "TCPSocketWrap accepted by a server";

/** How many of the live sockets were accepted by a server (Node's `process._getActiveHandles()`, on both runtimes). */
function acceptedConnections(): number {
  const handles = (process as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  return handles.filter((h) => h instanceof Socket && (h as { server?: unknown }).server != null).length;
}
/** Deno's own standard streams: always there. */
const DENO_STANDARD = new Set(["stdin", "stdout", "stderr"]);

/**
 * What is alive now, by kind.
 *
 * @example
 * ```ts
 * import { activeResources } from "./leaks.ts";
 * const timer = setTimeout(() => {}, 1000);
 * console.log(activeResources().get("Timeout")); // 1 (or more)
 * clearTimeout(timer);
 * ```
 */
export function activeResources(): Resources {
  const counts: Resources = new Map();
  const add = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
  for (const kind of process.getActiveResourcesInfo()) add(kind);
  const accepted = Math.min(acceptedConnections(), counts.get("TCPSocketWrap") ?? 0);
  if (accepted > 0) {
    counts.set("TCPSocketWrap", counts.get("TCPSocketWrap")! - accepted);
    counts.set(ACCEPTED, accepted);
  }
  if (core !== undefined) {
    for (const name of Object.values(core.resources())) if (!DENO_STANDARD.has(name)) add(`deno:${name}`);
  }
  return counts;
}

/**
 * The kinds of which more are alive in `now` than in `before`, and how many
 * more; kinds in `ignore` are left out.
 *
 * @example
 * ```ts
 * import { grown } from "./leaks.ts";
 * console.log(grown(new Map([["Timeout", 1]]), new Map([["Timeout", 3], ["PipeWrap", 1]])));
 * // Map { "Timeout" => 2, "PipeWrap" => 1 }
 * ```
 */
export function grown(before: Resources, now: Resources, ignore: ReadonlySet<string> = new Set()): Resources {
  const more: Resources = new Map();
  for (const [kind, n] of now) {
    const extra = n - (before.get(kind) ?? 0);
    if (extra > 0 && !ignore.has(kind)) more.set(kind, extra);
  }
  return more;
}

/**
 * `"2 × Timeout, 1 × PipeWrap"`.
 *
 * @example
 * ```ts
 * import { describeResources } from "./leaks.ts";
 * console.log(describeResources(new Map([["Timeout", 2]]))); // 2 × Timeout
 * ```
 */
export function describeResources(resources: Resources): string {
  return [...resources].map(([kind, n]) => `${n} × ${kind}`).join(", ");
}

/** How long what a test closed may take to go (a socket's close, a child's exit) before it counts as left behind. */
export const SETTLE_MS = 1000;

/**
 * Resolves with what is alive now and was not at `before` (empty when
 * nothing was left behind), waiting up to `settleMs` for what is closing;
 * kinds in `ignore` are left out.
 *
 * @example
 * ```ts
 * import { activeResources, leftSince } from "./leaks.ts";
 * const before = activeResources();
 * const timer = setTimeout(() => {}, 60_000);
 * console.log((await leftSince(before, 50)).get("Timeout")); // 1
 * clearTimeout(timer);
 * ```
 */
export async function leftSince(
  before: Resources,
  settleMs = SETTLE_MS,
  ignore?: ReadonlySet<string>,
): Promise<Resources> {
  const deadline = Date.now() + settleMs;
  for (let wait = 1;; wait = Math.min(wait * 2, 50)) {
    const left = grown(before, activeResources(), ignore);
    if (left.size === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * The start-up reads of a container process (its record, its bundle, the
 * checkpoint it restores), which may meet a NATS cluster still electing
 * leaders after a restart: retried while they time out.
 *
 * @module
 */

/** How long start-up reads keep retrying a JetStream timeout (ms). */
export const PATIENCE_MS = 30_000;

/**
 * A start-up read from JetStream, retried while it times out or finds no
 * responder (after a NATS restart the servers may still be electing leaders)
 * for up to {@link PATIENCE_MS}; any other error is thrown at once.
 *
 * @example
 * ```ts
 * import type { Records } from "../records.ts";
 * declare const records: Records;
 * const log = console.error;
 * const rec = await patiently("reading the topology record", log, () => records.getTopology("wc"));
 * ```
 */
export async function patiently<T>(what: string, log: (line: string) => void, read: () => Promise<T>): Promise<T> {
  const until = performance.now() + PATIENCE_MS;
  for (let attempt = 1;; attempt++) {
    try {
      return await read();
    } catch (e) {
      if (!isTransient(e) || performance.now() > until) throw e;
      if (attempt === 1) {
        log(
          `[ardea] container: ${what} timed out (${(e as Error).message}); retrying for up to ${PATIENCE_MS / 1000} s`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 250 * attempt)));
    }
  }
}

/**
 * Whether `e` is a JetStream timeout or a missing responder, anywhere in its cause chain.
 *
 * @example
 * ```ts
 * isTransient(new Error("no responders available")); // true
 * ```
 */
export function isTransient(e: unknown): boolean {
  for (
    let x = e, depth = 0;
    x !== undefined && x !== null && depth < 5;
    x = (x as { cause?: unknown }).cause, depth++
  ) {
    const code = String((x as { code?: unknown }).code ?? "");
    if (
      code === "TIMEOUT" || code === "503" || /timeout|timed out|no responders/i.test((x as Error).message ?? "")
    ) return true;
  }
  return false;
}

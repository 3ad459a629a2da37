/**
 * What a container's components print through `console`, copied into the
 * container's log ring for `ardea logs` (they still print as before).
 *
 * @module
 */
import type { LogRing } from "../log_ring.ts";

const METHODS = ["log", "info", "warn", "error", "debug"] as const;

/**
 * Copies every `console` line into `ring` until the returned function
 * restores the console.
 *
 * @example
 * ```ts
 * import { LogRing } from "../log_ring.ts";
 * const ring = new LogRing(100);
 * const restore = captureConsole(ring);
 * console.log("hello"); // printed, and ring.last(1) is ["hello"]
 * restore();
 * ```
 */
export function captureConsole(ring: LogRing): () => void {
  const c = console as unknown as Record<string, (...a: unknown[]) => void>;
  const originals = METHODS.map((m) => c[m]!);
  METHODS.forEach((m, i) => {
    const original = originals[i]!;
    c[m] = (...a: unknown[]) => {
      try {
        ring.push(a.map(lineText).join(" "));
      } catch {
        // Never let logging break the caller.
      }
      original.apply(console, a);
    };
  });
  return () => METHODS.forEach((m, i) => (c[m] = originals[i]!));
}

/**
 * One `console` argument as text: strings as they are, errors with their
 * stack, objects as JSON when they can be.
 *
 * @example
 * ```ts
 * lineText({ a: 1 }); // '{"a":1}'
 * ```
 */
export function lineText(x: unknown): string {
  if (typeof x === "string") return x;
  if (x instanceof Error) return x.stack ?? x.message;
  try {
    return typeof x === "object" && x !== null ? JSON.stringify(x) ?? String(x) : String(x);
  } catch {
    return String(x);
  }
}

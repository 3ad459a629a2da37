/**
 * Reading Prometheus text in tests.
 *
 * @module
 */

/**
 * `name{labels} value` lines → a map from `name{labels}` to the value;
 * comments and blank lines are skipped.
 *
 * @example
 * ```ts
 * import { parsePrometheus } from "./prometheus.ts";
 * const m = parsePrometheus('# TYPE x counter\nx{task="1"} 3\n');
 * console.log(m.get('x{task="1"}')); // 3
 * ```
 */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

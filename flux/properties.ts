/**
 * Java `.properties` files, as Flux's `--filter` reads them.
 *
 * @module
 */

const ESCAPES: Readonly<Record<string, string>> = { t: "\t", n: "\n", r: "\r", f: "\f" };

/** `text` with Java's escapes (`\t`, `\n`, `\uXXXX`, `\=`, …) replaced. */
function unescape(text: string): string {
  return text.replace(
    /\\(u[0-9a-fA-F]{4}|.)/g,
    (_all, c: string) => c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (ESCAPES[c] ?? c),
  );
}

/** Whether `line` ends in an odd number of backslashes: it continues on the next line. */
function continues(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) n++;
  return n % 2 === 1;
}

/**
 * Parses a Java properties file: `key=value`, `key: value` or `key value`
 * lines; `#` and `!` comment lines; a line ending in `\` continues on the
 * next (its leading blanks dropped); Java's escapes in keys and values. A
 * key given twice keeps its last value.
 *
 * @example
 * ```ts
 * parseProperties("# dev\nkafka.hosts: localhost:9092\nsplit.parallelism=2\n");
 * // Map { "kafka.hosts" => "localhost:9092", "split.parallelism" => "2" }
 * ```
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (continues(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, "");
    }
    if (continues(line)) line = line.slice(0, -1);
    // The key ends at the first unescaped "=", ":" or blank.
    let end = 0;
    while (end < line.length && !/[=: \t\f]/.test(line[end]!)) end += line[end] === "\\" ? 2 : 1;
    const key = line.slice(0, end);
    let rest = line.slice(end).replace(/^[ \t\f]+/, "");
    if (rest.startsWith("=") || rest.startsWith(":")) rest = rest.slice(1).replace(/^[ \t\f]+/, "");
    out.set(unescape(key), unescape(rest));
  }
  return out;
}

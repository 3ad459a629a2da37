/**
 * Reading a Flux file: `${…}` substitution, YAML (with node positions),
 * the zod schema, includes, and the checks that need the whole topology
 * (references, stream ends, ids, config). Every problem is a
 * {@link FluxError} naming the file, line, key path and what was expected.
 *
 * @module
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { cwd, env, readTextFile, resolvePath } from "../runtime/mod.ts";
import { parseConfig } from "../topology/config.ts";
import { ConfigError } from "../topology/errors.ts";
import { classRef } from "./classes.ts";
import { FluxError } from "./errors.ts";
import { parseProperties } from "./properties.ts";
import {
  type ComponentDef,
  type FluxDocument,
  type FluxFile,
  fluxFileSchema,
  KEYS,
  type ObjectDef,
  type StreamDef,
  type VertexDef,
} from "./schema.ts";

/** Options of {@link readFlux}. */
export interface ReadFluxOptions {
  /** A Java properties file whose keys replace `${key}` (Flux's `--filter`). */
  filter?: string;
  /** Replace `${ENV-NAME}` with environment variables (Flux's `--env-filter`). */
  envFilter?: boolean;
  /** The environment for `envFilter` (default: this process's). */
  env?: (name: string) => string | undefined;
}

type Path = ReadonlyArray<string | number>;

/** One file read and checked by the schema, with a way to name its lines. */
interface ParsedFile {
  readonly data: FluxFile;
  /** `file:line` of the node at `path` (or of the nearest one above it that exists). */
  readonly at: (path: Path) => string;
  /** Its folder: relative paths in it resolve there. */
  readonly dir: string;
}

/** `path` as written by the user where it is inside the working directory, else absolute. */
function shown(path: string): string {
  const base = cwd().replace(/\\/g, "/").replace(/\/$/, "");
  const p = path.replace(/\\/g, "/");
  return p.startsWith(`${base}/`) ? p.slice(base.length + 1) : p;
}

/** `bolts[1].constructorArgs[0]`, `config["topology.workers"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === "" ? "(top)" : out;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v !== "object") return String(v);
  return Array.isArray(v) ? "a list" : "a map";
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: "a map",
  record: "a map",
};

/** The value at `path` in `data`. */
function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const seg of path) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[seg] : undefined;
  return v;
}

/** The keys a map at `path` may hold. */
function keysAt(path: Path): readonly string[] {
  const top = path[0];
  if (path.length === 0) return KEYS.file;
  if (path.length === 2 && top === "components") return KEYS.component;
  if (path.length === 2 && (top === "spouts" || top === "bolts")) return KEYS.vertex;
  if (path.length === 2 && top === "streams") return KEYS.stream;
  if (path.length === 2 && top === "includes") return KEYS.include;
  if (path.length === 3 && path[2] === "grouping") return KEYS.grouping;
  if (path.length === 4 && path[3] === "customClass") return KEYS.object;
  if (path.at(-2) === "configMethods") return KEYS.configMethod;
  if (path.at(-2) === "properties") return KEYS.property;
  return [];
}

/** One zod issue as `what: problem` (the caller adds the place). */
function issueText(issue: z.core.$ZodIssue, data: unknown): { path: Path; text: string } {
  const path = issue.path as Path;
  const value = valueAt(data, path);
  const hint = typeof value === "string" && value.includes("${")
    ? " (a ${…} left as written: is the property in the --filter file, or the variable set with --env-filter?)"
    : "";
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const allowed = keysAt(path);
    return {
      path: [...path, key],
      text: `unknown key "${key}"${allowed.length > 0 ? ` (expected one of: ${allowed.join(", ")})` : ""}`,
    };
  }
  if (issue.code === "invalid_type") {
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    const text = value === undefined
      ? `missing (expected ${expected})`
      : `expected ${expected}, got ${describe(value)}`;
    return { path, text: text + hint };
  }
  return { path, text: value === undefined ? issue.message : `${issue.message}, got ${describe(value)}${hint}` };
}

/** `text` with each `${key}` of `props` and, with `env`, each `${ENV-NAME}` replaced. */
function substitute(
  text: string,
  props: ReadonlyMap<string, string> | undefined,
  env: ((name: string) => string | undefined) | undefined,
): string {
  if (props === undefined && env === undefined) return text;
  return text.replace(/\$\{([^}\n]+)\}/g, (all, key: string) => {
    if (env !== undefined && key.startsWith("ENV-")) return env(key.slice(4)) ?? all;
    return props?.get(key) ?? all;
  });
}

/** Reads, substitutes, parses and schema-checks one file. */
async function parseFile(
  path: string,
  filters: { props?: ReadonlyMap<string, string>; env?: (name: string) => string | undefined },
  from?: string,
): Promise<ParsedFile> {
  let raw: string;
  try {
    raw = await readTextFile(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a directory" : String(e);
    throw new FluxError("FLUX_UNREADABLE", `${from === undefined ? "" : `${from}: `}${shown(path)}: ${why}`, {
      cause: e,
    });
  }
  const text = substitute(raw, filters.props, filters.env);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const name = shown(path);
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = lines.linePos(error.pos[0]).line;
    throw new FluxError("FLUX_INVALID", `${name}:${line}: not valid YAML: ${error.message.split("\n")[0]}`);
  }
  const at = (p: Path): string => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as { range?: [number] } | null)?.range?.[0] ?? 0;
    for (const seg of p) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === seg);
        if (pair === undefined) break;
        offset = (pair.key as { range?: [number] }).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number" && node.items[seg] !== undefined) {
        node = node.items[seg];
        offset = (node as { range?: [number] }).range?.[0] ?? offset;
      } else break;
    }
    return `${name}:${lines.linePos(offset).line}`;
  };
  const data: unknown = doc.toJS() ?? {};
  const r = fluxFileSchema.safeParse(data);
  if (!r.success) {
    const { path: where, text: problem } = issueText(r.error.issues[0]!, data);
    throw new FluxError("FLUX_INVALID", `${at(where)}: ${formatPath(where)}: ${problem}`);
  }
  return { data: r.data, at, dir: resolvePath(path, "..") };
}

/** A definition with the file it came from and its path there. */
interface Sourced<T> {
  readonly def: T;
  readonly file: ParsedFile;
  readonly path: Path;
}

/** The topology so far: the root file with its includes merged in. */
interface Merged {
  name?: Sourced<string>;
  config: Map<string, Sourced<unknown>>;
  components: Map<string, Sourced<NonNullable<FluxFile["components"]>[number]>>;
  spouts: Map<string, Sourced<NonNullable<FluxFile["spouts"]>[number]>>;
  bolts: Map<string, Sourced<NonNullable<FluxFile["bolts"]>[number]>>;
  streams: Array<Sourced<NonNullable<FluxFile["streams"]>[number]>>;
}

/** Adds `file`'s definitions to `m`; a definition already there is replaced only with `override`. */
function merge(m: Merged, file: ParsedFile, override: boolean): void {
  const d = file.data;
  if (d.name !== undefined && (m.name === undefined || override)) m.name = { def: d.name, file, path: ["name"] };
  for (const [key, value] of Object.entries(d.config ?? {})) {
    if (!m.config.has(key) || override) m.config.set(key, { def: value, file, path: ["config", key] });
  }
  for (const section of ["components", "spouts", "bolts"] as const) {
    const target = m[section] as Map<string, Sourced<{ id: string }>>;
    (d[section] ?? []).forEach((def, i) => {
      const existing = target.get(def.id);
      if (existing !== undefined && existing.file === file) {
        throw new FluxError(
          "FLUX_INVALID",
          `${file.at([section, i, "id"])}: ${section}[${i}].id: "${def.id}" is already defined at ${
            file.at([section, existing.path[1]!])
          }`,
        );
      }
      if (existing === undefined || override) target.set(def.id, { def, file, path: [section, i] });
    });
  }
  (d.streams ?? []).forEach((def, i) => m.streams.push({ def, file, path: ["streams", i] }));
}

/** Reads `file` and, depth first, its includes (each relative to the file naming it) into `m`. */
async function readInto(
  m: Merged,
  path: string,
  filters: { props?: ReadonlyMap<string, string>; env?: (name: string) => string | undefined },
  override: boolean,
  chain: readonly string[],
  from?: string,
): Promise<void> {
  const file = await parseFile(path, filters, from);
  merge(m, file, override);
  for (const [i, inc] of (file.data.includes ?? []).entries()) {
    const where = file.at(["includes", i]);
    if (inc.resource === true) {
      throw new FluxError(
        "FLUX_INVALID",
        `${
          file.at(["includes", i, "resource"])
        }: includes[${i}].resource: classpath resources do not exist in Ardea; ` +
          `give resource: false and a file path (relative to ${shown(path)})`,
      );
    }
    const target = resolvePath(file.dir, inc.file);
    if (chain.includes(target)) {
      throw new FluxError("FLUX_INVALID", `${where}: includes[${i}].file: ${shown(target)} includes itself`);
    }
    await readInto(m, target, filters, inc.override ?? false, [...chain, target], `${where}: includes[${i}].file`);
  }
}

/** Every `{ ref: id }` and `{ reflist: [ids] }` inside `value`, with its path. */
function* refsIn(value: unknown, path: Path): Generator<{ id: unknown; path: Path }> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* refsIn(v, [...path, i]);
  } else if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    const o = value as Record<string, unknown>;
    if (keys.length === 1 && keys[0] === "ref") yield { id: o.ref, path: [...path, "ref"] };
    else if (keys.length === 1 && keys[0] === "reflist" && Array.isArray(o.reflist)) {
      for (const [i, id] of o.reflist.entries()) yield { id, path: [...path, "reflist", i] };
    } else for (const k of keys) yield* refsIn(o[k], [...path, k]);
  }
}

type RawObject = NonNullable<NonNullable<FluxFile["streams"]>[number]["grouping"]["customClass"]>;

/** Checks an object definition's class and references and turns it into an {@link ObjectDef}. */
function objectDef(
  raw: RawObject,
  src: { file: ParsedFile; path: Path },
  components: ReadonlyMap<string, unknown>,
): ObjectDef {
  const { file, path } = src;
  const fail = (p: Path, text: string): never => {
    throw new FluxError("FLUX_INVALID", `${file.at(p)}: ${formatPath(p)}: ${text}`);
  };
  const cls = classRef(raw.className, file.dir);
  if (typeof cls === "string") fail([...path, "className"], cls);
  const places: Array<[unknown, Path]> = [
    [raw.constructorArgs, [...path, "constructorArgs"]],
    [raw.factoryArgs, [...path, "factoryArgs"]],
    ...(raw.configMethods ?? []).map((m, i): [unknown, Path] => [m.args, [...path, "configMethods", i, "args"]]),
    ...(raw.properties ?? []).map((p, i): [unknown, Path] => [
      p.ref === undefined ? p.value : { ref: p.ref },
      [...path, "properties", i, ...(p.ref === undefined ? ["value"] : [])],
    ]),
  ];
  for (const [value, at] of places) {
    for (const ref of refsIn(value, at)) {
      if (typeof ref.id !== "string" || !components.has(ref.id)) {
        const known = [...components.keys()];
        fail(
          ref.path,
          `no component ${describe(ref.id)} (${
            known.length === 0 ? "there are no components" : `components: ${known.join(", ")}`
          })`,
        );
      }
    }
  }
  return {
    className: raw.className,
    class: cls as Exclude<typeof cls, string>,
    constructorArgs: raw.constructorArgs ?? [],
    configMethods: (raw.configMethods ?? []).map((m) => ({ name: m.name, args: m.args ?? [] })),
    properties: raw.properties ?? [],
    ...(raw.factory === undefined ? {} : { factory: raw.factory, factoryArgs: raw.factoryArgs ?? [] }),
    at: file.at(path),
  };
}

/**
 * Reads the Flux file at `path` with its includes and `${…}` filters,
 * and checks it whole. Throws a {@link FluxError} naming the file and
 * line of the first problem.
 *
 * @example
 * ```ts
 * const doc = await readFlux("examples/flux/word_count.yaml");
 * doc.bolts.map((b) => `${b.id}×${b.parallelism}`); // ["split×2", "count×2"]
 * ```
 */
export async function readFlux(path: string, options: ReadFluxOptions = {}): Promise<FluxDocument> {
  const absolute = resolvePath(cwd(), path);
  let props: Map<string, string> | undefined;
  if (options.filter !== undefined) {
    const filterPath = resolvePath(cwd(), options.filter);
    try {
      props = parseProperties(await readTextFile(filterPath));
    } catch (e) {
      throw new FluxError("FLUX_UNREADABLE", `cannot read the --filter file ${options.filter}: ${String(e)}`, {
        cause: e,
      });
    }
  }
  const envOf = options.envFilter === true ? (options.env ?? env) : undefined;
  const m: Merged = { config: new Map(), components: new Map(), spouts: new Map(), bolts: new Map(), streams: [] };
  await readInto(
    m,
    absolute,
    { ...(props === undefined ? {} : { props }), ...(envOf === undefined ? {} : { env: envOf }) },
    false,
    [
      absolute,
    ],
  );
  return check(m, shown(absolute));
}

/** The whole-topology checks of a merged file. */
function check(m: Merged, file: string): FluxDocument {
  if (m.name === undefined) {
    throw new FluxError("FLUX_INVALID", `${file}:1: name: missing (expected the topology's name)`);
  }
  const config: Record<string, unknown> = {};
  for (const [key, { def }] of m.config) config[key] = def;
  try {
    parseConfig(config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The key at fault, else (a Storm alias, a pair of keys) the first key that fails alone.
    const alone = [...m.config].find(([key, { def }]) => {
      try {
        parseConfig({ [key]: def });
        return false;
      } catch {
        return true;
      }
    });
    const src = m.config.get(e.key) ?? alone?.[1] ?? [...m.config.values()][0];
    const where = src === undefined ? `${file}:1` : src.file.at(src.path);
    throw new FluxError("FLUX_INVALID", `${where}: ${e.message}`, { cause: e });
  }
  const components = new Map<string, ComponentDef>();
  for (const [id, { def, file, path }] of m.components) {
    components.set(id, { id, ...objectDef(def, { file, path }, m.components) });
  }
  const vertex = (section: "spouts" | "bolts", other: "spouts" | "bolts"): VertexDef[] =>
    [...m[section].values()].map(({ def, file, path }) => {
      const twin = m[other].get(def.id);
      if (twin !== undefined) {
        throw new FluxError(
          "FLUX_INVALID",
          `${file.at([...path, "id"])}: ${formatPath([...path, "id"])}: "${def.id}" is also the id of a ${
            other.slice(0, -1)
          } (${twin.file.at(twin.path)}); spouts and bolts share one set of ids`,
        );
      }
      return { id: def.id, ...objectDef(def, { file, path }, m.components), parallelism: def.parallelism ?? 1 };
    });
  const spouts = vertex("spouts", "bolts");
  const bolts = vertex("bolts", "spouts");
  const streams = m.streams.map(({ def, file, path }): StreamDef => {
    const fail = (key: string, text: string): never => {
      throw new FluxError("FLUX_INVALID", `${file.at([...path, key])}: ${formatPath([...path, key])}: ${text}`);
    };
    if (!m.spouts.has(def.from) && !m.bolts.has(def.from)) {
      fail(
        "from",
        `no spout or bolt "${def.from}" (spouts: ${[...m.spouts.keys()].join(", ") || "none"}; bolts: ${
          [...m.bolts.keys()].join(", ") || "none"
        })`,
      );
    }
    if (!m.bolts.has(def.to)) {
      fail(
        "to",
        `no bolt "${def.to}"${m.spouts.has(def.to) ? " (a spout cannot subscribe to a stream)" : ""} (bolts: ${
          [...m.bolts.keys()].join(", ") || "none"
        })`,
      );
    }
    const g = def.grouping;
    return {
      ...(def.name === undefined ? {} : { name: def.name }),
      from: def.from,
      to: def.to,
      grouping: {
        type: g.type,
        ...(g.args === undefined ? {} : { args: g.args }),
        ...(g.streamId === undefined ? {} : { streamId: g.streamId }),
        ...(g.customClass === undefined ? {} : {
          customClass: objectDef(g.customClass, { file, path: [...path, "grouping", "customClass"] }, m.components),
        }),
      },
      at: file.at(path),
    };
  });
  return { name: m.name.def, config, components: [...components.values()], spouts, bolts, streams, file };
}

/**
 * The text `ardea run|submit topology.yaml --dry-run` prints: what would run.
 *
 * @module
 */
import type { FluxDocument, ObjectDef, StreamDef } from "./schema.ts";

function args(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/** `className(args)`, with the factory and the configMethods and properties applied. */
function objectText(o: ObjectDef): string {
  let out = o.factory === undefined
    ? `${o.className}(${args(o.constructorArgs)})`
    : `${o.className}.${o.factory}(${args(o.factoryArgs ?? [])})`;
  for (const p of o.properties) out += ` .${p.name}=${p.ref === undefined ? JSON.stringify(p.value) : `ref ${p.ref}`}`;
  for (const m of o.configMethods) out += ` .${m.name}(${args(m.args)})`;
  return out;
}

function groupingText(s: StreamDef): string {
  const g = s.grouping;
  if (g.type === "FIELDS") return `FIELDS(${g.args!.join(", ")})`;
  if (g.type === "CUSTOM") return `CUSTOM ${objectText(g.customClass!)}`;
  return g.type;
}

/**
 * A Flux topology as text: name and file, config, components, spouts and
 * bolts with their parallelism, and streams with their groupings.
 *
 * @example
 * ```ts
 * import { readFlux } from "./document.ts";
 * console.log(describeFlux(await readFlux("examples/flux/word_count.yaml")));
 * // Flux topology "flux-word-count" (examples/flux/word_count.yaml)
 * // …
 * ```
 */
export function describeFlux(doc: FluxDocument): string {
  const lines = [`Flux topology "${doc.name}" (${doc.file})`];
  const config = Object.entries(doc.config);
  lines.push(`config:${config.length === 0 ? " (defaults)" : ""}`);
  for (const [k, v] of config) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  if (doc.components.length > 0) {
    lines.push("components:");
    for (const c of doc.components) lines.push(`  ${c.id}: ${objectText(c)}`);
  }
  for (const [title, list] of [["spouts", doc.spouts], ["bolts", doc.bolts]] as const) {
    lines.push(`${title}:${list.length === 0 ? " (none)" : ""}`);
    for (const v of list) lines.push(`  ${v.id} ×${v.parallelism}: ${objectText(v)}`);
  }
  lines.push(`streams:${doc.streams.length === 0 ? " (none)" : ""}`);
  for (const s of doc.streams) {
    const from = s.grouping.streamId === undefined ? s.from : `${s.from}:${s.grouping.streamId}`;
    lines.push(`  ${from} → ${s.to}: ${groupingText(s)}${s.name === undefined ? "" : ` (${s.name})`}`);
  }
  return `${lines.join("\n")}\n`;
}

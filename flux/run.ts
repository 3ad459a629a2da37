/**
 * Running a Flux document: importing the modules its classNames name and
 * submitting its topology; and the entry module that does the same inside
 * a bundle (`ardea submit topology.yaml`).
 *
 * @module
 */
import { submit, type SubmitOptions, type TopologyHandle } from "../engine/submit.ts";
import { toFileUrl } from "../runtime/mod.ts";
import { buildFluxTopology, type FluxModules, moduleSpecifiers } from "./build.ts";
import { FluxError } from "./errors.ts";
import type { FluxDocument, ObjectDef } from "./schema.ts";

/** The first definition whose className imports `specifier`, for messages. */
function firstUser(doc: FluxDocument, specifier: string): ObjectDef | undefined {
  const all: ObjectDef[] = [...doc.components, ...doc.spouts, ...doc.bolts];
  for (const s of doc.streams) if (s.grouping.customClass !== undefined) all.push(s.grouping.customClass);
  return all.find((o) => o.class.kind === "module" && o.class.specifier === specifier);
}

/**
 * Imports every module the document's classNames name (a path as a file
 * URL, a package name as it is). A module that fails to load is a
 * {@link FluxError} naming the className and its line.
 *
 * @example
 * ```ts
 * import { readFlux } from "./document.ts";
 * const doc = await readFlux("examples/flux/word_count.yaml");
 * const modules = await importFluxModules(doc);
 * ```
 */
export async function importFluxModules(doc: FluxDocument): Promise<FluxModules> {
  const modules = new Map<string, Readonly<Record<string, unknown>>>();
  for (const specifier of moduleSpecifiers(doc)) {
    const url = specifier.startsWith("/") || /^[A-Za-z]:[\\/]/.test(specifier) ? toFileUrl(specifier) : specifier;
    try {
      modules.set(specifier, (await import(url)) as Record<string, unknown>);
    } catch (e) {
      const user = firstUser(doc, specifier);
      throw new FluxError(
        "FLUX_CLASS",
        `${user?.at ?? doc.file}: className "${user?.className ?? specifier}": cannot import ${specifier}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  }
  return modules;
}

/**
 * Builds the document's topology from `modules` and submits it under the
 * document's name and config.
 *
 * @example
 * ```ts
 * import { readFlux } from "./document.ts";
 * const doc = await readFlux("examples/flux/word_count.yaml");
 * const handle = await submitFlux(doc, await importFluxModules(doc));
 * await handle.done;
 * ```
 */
export function submitFlux(doc: FluxDocument, modules: FluxModules, options?: SubmitOptions): Promise<TopologyHandle> {
  return submit(doc.name, doc.config, buildFluxTopology(doc, modules), options);
}

/**
 * The source of an ES module that submits `doc` when imported: the
 * document as data, a static import of each className module (so a
 * bundler takes them in) and Ardea's Flux runner imported as `ardea/flux`.
 *
 * @example
 * ```ts
 * import { readFlux } from "./document.ts";
 * const code = fluxEntry(await readFlux("examples/flux/word_count.yaml"));
 * // 'import { submitFlux } from "ardea/flux";\nimport * as m0 from "/…/examples/flux/bolts.ts";\n…'
 * ```
 */
export function fluxEntry(doc: FluxDocument): string {
  const specifiers = moduleSpecifiers(doc);
  const lines = [`import { submitFlux } from "ardea/flux";`];
  specifiers.forEach((s, i) => lines.push(`import * as m${i} from ${JSON.stringify(s)};`));
  lines.push(`const document = ${JSON.stringify(doc)};`);
  lines.push(`const modules = new Map([${specifiers.map((s, i) => `[${JSON.stringify(s)}, m${i}]`).join(", ")}]);`);
  lines.push(`await submitFlux(document, modules);`);
  return `${lines.join("\n")}\n`;
}

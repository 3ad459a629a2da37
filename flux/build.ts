/**
 * Building the topology of a {@link FluxDocument}: each spout and bolt task
 * gets a fresh object made from its definition (constructor or factory
 * arguments with references resolved, then properties, then configMethods),
 * as Storm gives each task its own deserialised copy; streams become the
 * builder's groupings.
 *
 * @module
 */
import * as ardea from "../mod.ts";
import { type BoltDeclarer, TopologyBuilder } from "../topology/builder.ts";
import type { IBasicBolt, IRichBolt, ISpout } from "../topology/components.ts";
import type { CustomStreamGrouping } from "../topology/grouping.ts";
import type { StormTopology } from "../topology/topology.ts";
import { PartialKeyGrouping, STORM_CLASSES } from "./classes.ts";
import { FluxError } from "./errors.ts";
import type { ClassRef, ComponentDef, FluxDocument, ObjectDef, StreamDef } from "./schema.ts";

/** The modules a document's classNames name, by specifier (an absolute path or a package name), as imported. */
export type FluxModules = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

/**
 * Every module specifier the document's classNames import (Storm's names
 * and `ardea#…` need none).
 *
 * @example
 * ```ts
 * import type { FluxDocument } from "./schema.ts";
 * declare const doc: FluxDocument;
 * const modules = new Map(await Promise.all(moduleSpecifiers(doc).map(async (s) => [s, await import(s)] as const)));
 * ```
 */
export function moduleSpecifiers(doc: FluxDocument): string[] {
  const out = new Set<string>();
  const add = (o: ObjectDef) => {
    if (o.class.kind === "module") out.add(o.class.specifier);
  };
  for (const o of [...doc.components, ...doc.spouts, ...doc.bolts]) add(o);
  for (const s of doc.streams) if (s.grouping.customClass !== undefined) add(s.grouping.customClass);
  return [...out];
}

type Ctor = new (...args: unknown[]) => unknown;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Makes the objects of one task: each component at most once (a ref names the same object within the task). */
class Maker {
  readonly #made = new Map<string, unknown>();
  readonly #making = new Set<string>();
  constructor(readonly doc: FluxDocument, readonly modules: FluxModules) {}

  #class(o: ObjectDef): unknown {
    const ref: ClassRef = o.class;
    const table: Readonly<Record<string, unknown>> | undefined = ref.kind === "storm"
      ? STORM_CLASSES
      : ref.kind === "ardea"
      ? (ardea as Readonly<Record<string, unknown>>)
      : this.modules.get(ref.specifier);
    if (table === undefined) {
      throw new FluxError("FLUX_CLASS", `${o.at}: className "${o.className}": its module was not loaded`);
    }
    const name = ref.kind === "storm" ? ref.name : ref.export;
    if (!Object.hasOwn(table, name)) {
      const where = ref.kind === "ardea" ? 'the "ardea" package' : ref.kind === "module" ? ref.specifier : "";
      throw new FluxError("FLUX_CLASS", `${o.at}: className "${o.className}": ${where} exports no "${name}"`);
    }
    return table[name];
  }

  #component(id: string): unknown {
    if (this.#made.has(id)) return this.#made.get(id);
    const def = this.doc.components.find((c) => c.id === id)!;
    if (this.#making.has(id)) {
      throw new FluxError(
        "FLUX_INVALID",
        `${def.at}: component "${id}" refers to itself (through ${[...this.#making].join(" → ")})`,
      );
    }
    this.#making.add(id);
    const made = this.make(def);
    this.#making.delete(id);
    this.#made.set(id, made);
    return made;
  }

  /** `value` with each `{ ref }` replaced by its component and each `{ reflist }` by a list of them. */
  #resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.#resolve(v));
    if (value === null || typeof value !== "object") return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "ref") return this.#component(o.ref as string);
    if (keys.length === 1 && keys[0] === "reflist") return (o.reflist as string[]).map((id) => this.#component(id));
    return Object.fromEntries(keys.map((k) => [k, this.#resolve(o[k])]));
  }

  /** A new object of `o`'s class. */
  make(o: ObjectDef): unknown {
    const cls = this.#class(o);
    const fail = (text: string, cause?: unknown): never => {
      throw new FluxError("FLUX_CLASS", `${o.at}: ${o.className}: ${text}`, { cause });
    };
    let made: unknown;
    try {
      if (o.factory !== undefined) {
        const f = (cls as Record<string, unknown> | null)?.[o.factory];
        if (typeof f !== "function") fail(`has no static method "${o.factory}" (factory)`);
        made = (f as (...a: unknown[]) => unknown).apply(cls, (o.factoryArgs ?? []).map((a) => this.#resolve(a)));
      } else {
        if (typeof cls !== "function") fail("is not a class");
        made = new (cls as Ctor)(...o.constructorArgs.map((a) => this.#resolve(a)));
      }
    } catch (e) {
      if (e instanceof FluxError) throw e;
      fail(
        `its ${o.factory === undefined ? "constructor" : `factory ${o.factory}()`} threw: ${messageOf(e)}`,
        e,
      );
    }
    if (made === null || typeof made !== "object") return made;
    const target = made as Record<string, unknown>;
    for (const p of o.properties) {
      const value = p.ref === undefined ? this.#resolve(p.value) : this.#component(p.ref);
      const setter = target[`set${p.name[0]!.toUpperCase()}${p.name.slice(1)}`];
      // As Flux: a setter when there is one, else the field.
      if (typeof setter === "function") setter.call(made, value);
      else target[p.name] = value;
    }
    for (const m of o.configMethods) {
      const method = target[m.name];
      if (typeof method !== "function") fail(`has no method "${m.name}" (configMethods)`);
      try {
        (method as (...a: unknown[]) => unknown).apply(made, m.args.map((a) => this.#resolve(a)));
      } catch (e) {
        fail(`${m.name}() threw: ${messageOf(e)}`, e);
      }
    }
    return made;
  }
}

/** Adds one stream's grouping to the bolt that subscribes. */
function subscribe(declarer: BoltDeclarer, s: StreamDef, maker: Maker): void {
  const g = s.grouping;
  const stream = g.streamId;
  switch (g.type) {
    case "SHUFFLE":
      declarer.shuffleGrouping(s.from, stream);
      return;
    case "LOCAL_OR_SHUFFLE":
      declarer.localOrShuffleGrouping(s.from, stream);
      return;
    case "ALL":
      declarer.allGrouping(s.from, stream);
      return;
    case "GLOBAL":
      declarer.globalGrouping(s.from, stream);
      return;
    case "NONE":
      declarer.noneGrouping(s.from, stream);
      return;
    case "DIRECT":
      declarer.directGrouping(s.from, stream);
      return;
    case "FIELDS": {
      const fields = new ardea.Fields(...g.args!);
      if (stream === undefined) declarer.fieldsGrouping(s.from, fields);
      else declarer.fieldsGrouping(s.from, stream, fields);
      return;
    }
    case "CUSTOM": {
      const custom = maker.make(g.customClass!);
      if (custom instanceof PartialKeyGrouping) {
        if (custom.fields === undefined) {
          throw new FluxError(
            "FLUX_INVALID",
            `${g.customClass!.at}: PartialKeyGrouping needs the key fields: constructorArgs: [["word"]] ` +
              `(or a ref to an org.apache.storm.tuple.Fields component)`,
          );
        }
        if (stream === undefined) declarer.partialKeyGrouping(s.from, custom.fields);
        else declarer.partialKeyGrouping(s.from, stream, custom.fields);
        return;
      }
      if (typeof (custom as Partial<CustomStreamGrouping> | null)?.chooseTasks !== "function") {
        throw new FluxError(
          "FLUX_CLASS",
          `${g.customClass!.at}: ${g.customClass!.className} is not a custom stream grouping (it has no chooseTasks())`,
        );
      }
      if (stream === undefined) declarer.customGrouping(s.from, custom as CustomStreamGrouping);
      else declarer.customGrouping(s.from, stream, custom as CustomStreamGrouping);
      return;
    }
  }
}

/**
 * The topology of `doc`, with its classNames taken from `modules` (see
 * {@link moduleSpecifiers}). One object of each spout and bolt is made here,
 * so that a wrong class, argument or method fails now, naming its line;
 * each task then makes its own.
 *
 * @example
 * ```ts
 * import { readFlux } from "./document.ts";
 * const doc = await readFlux("examples/flux/word_count.yaml");
 * const modules = new Map();
 * for (const s of moduleSpecifiers(doc)) modules.set(s, await import(s));
 * const topology = buildFluxTopology(doc, modules);
 * ```
 */
export function buildFluxTopology(doc: FluxDocument, modules: FluxModules): StormTopology {
  const builder = new TopologyBuilder();
  const source = (def: ComponentDef) => {
    new Maker(doc, modules).make(def);
    return () => new Maker(doc, modules).make(def);
  };
  const wrap = <T>(def: ComponentDef, add: () => T): T => {
    try {
      return add();
    } catch (e) {
      if (e instanceof FluxError) throw e;
      throw new FluxError("FLUX_INVALID", `${def.at}: ${messageOf(e)}`, { cause: e });
    }
  };
  for (const s of doc.spouts) {
    wrap(s, () => builder.setSpout(s.id, source(s) as () => ISpout, s.parallelism));
  }
  const declarers = new Map<string, BoltDeclarer>();
  for (const b of doc.bolts) {
    declarers.set(b.id, wrap(b, () => builder.setBolt(b.id, source(b) as () => IRichBolt | IBasicBolt, b.parallelism)));
  }
  const maker = new Maker(doc, modules);
  for (const s of doc.streams) {
    try {
      subscribe(declarers.get(s.to)!, s, maker);
    } catch (e) {
      if (e instanceof FluxError) throw e;
      throw new FluxError("FLUX_INVALID", `${s.at}: stream ${s.from} → ${s.to}: ${messageOf(e)}`, {
        cause: e,
      });
    }
  }
  try {
    return builder.createTopology();
  } catch (e) {
    const message = messageOf(e);
    throw new FluxError("FLUX_INVALID", `${culprit(doc, message)?.at ?? doc.file}: ${message}`, { cause: e });
  }
}

/**
 * The stream a topology error (which names components, streams and fields
 * in quotes) is most likely about: one whose ends it names, preferring the
 * one whose stream id and fields it names too.
 */
function culprit(doc: FluxDocument, message: string): StreamDef | undefined {
  const names = (word: string) => message.includes(`"${word}"`);
  let best: { stream: StreamDef; score: number } | undefined;
  for (const s of doc.streams) {
    if (!names(s.from) || !names(s.to)) continue;
    const score = (s.grouping.streamId !== undefined && names(s.grouping.streamId) ? 1 : 0) +
      (s.grouping.args?.filter(names).length ?? 0);
    if (best === undefined || score > best.score) best = { stream: s, score };
  }
  return best?.stream;
}

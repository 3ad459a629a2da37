/**
 * The applications' command-line flags: the standard ones every
 * application takes (input, pacing, output, NATS, delivery mode) plus each
 * application's own, parsed with zod into one typed object. A bad flag ends
 * the program with one line that names it and exit code 2, as `ardea`'s own
 * flags do.
 *
 * | flag | meaning |
 * | --- | --- |
 * | `--seed N` | seed of the event generator (default 1) |
 * | `--rate R` | events per wall-clock second; 0 runs unpaced (default 0) |
 * | `--events N` | how many events to generate |
 * | `--duration D` | how much event time to generate ("90s", "30m", "2h") |
 * | `--from-stream S` | read JSON events from JetStream stream S instead of the generator |
 * | `--idle-ms N` | with `--from-stream`: end the run once the stream has had nothing new for N ms (default: run until stopped) |
 * | `--out SPEC` | also write the results: a file path (JSON lines) or `nats:SUBJECT` (JetStream) |
 * | `--nats URL` | NATS servers for `--from-stream` / `--out nats:` (default `ARDEA_NATS_URL`) |
 * | `--mode M` | delivery: `atmost`, `atleast` or `effectively` |
 * | `--state-dir DIR` | EFFECTIVELY_ONCE checkpoints of an embedded run; a run started again on DIR resumes (default: a fresh folder per run, removed at the end) |
 *
 * @module
 */
import { z } from "zod";
import { args, exit, writeStderr } from "../../../runtime/mod.ts";
import { parseDuration } from "./time.ts";

/** Delivery modes as flags, and the reliability mode each one is. */
const MODES = { atmost: "ATMOST_ONCE", atleast: "ATLEAST_ONCE", effectively: "EFFECTIVELY_ONCE" } as const;

/** A `--mode` value. */
export type ModeFlag = keyof typeof MODES;

/** The flags every application takes (see the module's table). */
export interface StandardFlags {
  seed: number;
  rate: number;
  events?: number;
  /** Event time to generate, in ms. */
  duration?: number;
  fromStream?: string;
  /** With `fromStream`: end once the stream has been idle this long (ms). */
  idleMs?: number;
  out?: string;
  nats?: string;
  mode: ModeFlag;
  /** Checkpoints of an embedded run, kept for a resume (see {@link runState}). */
  stateDir?: string;
}

/** An application's defaults for the standard flags. */
export type StandardDefaults = Partial<Pick<StandardFlags, "seed" | "rate" | "events" | "duration" | "mode">>;

const standard = {
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  rate: z.coerce.number().min(0),
  events: z.coerce.number().int().min(1).optional(),
  duration: z.string().transform((s, ctx) => {
    try {
      return parseDuration(s);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  }).optional(),
  fromStream: z.string().regex(/^[A-Za-z0-9_-]+$/, "a JetStream stream name (letters, digits, - and _)").optional(),
  idleMs: z.coerce.number().int().min(1).optional(),
  out: z.string().min(1).optional(),
  nats: z.string().min(1).optional(),
  mode: z.enum(["atmost", "atleast", "effectively"]),
  stateDir: z.string().min(1).optional(),
};

const kebab = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const camel = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A flag the application does not accept, or a value it cannot use. */
export class FlagError extends Error {}

/**
 * Parses `argv` (`--flag value` or `--flag=value`) into the standard flags
 * and the application's own (`extra`: a zod shape whose camelCase keys are
 * the `--kebab-case` flags; values arrive as strings, so use `z.coerce`).
 * Throws a {@link FlagError} naming the flag; {@link parseAppFlags} turns it
 * into a message and exit code 2.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const f = parseFlags(["--seed", "7", "--top-n=5"], { topN: z.coerce.number().int().default(10) }, { events: 1000 });
 * f.seed; // 7
 * f.topN; // 5
 * f.events; // 1000
 * ```
 */
export function parseFlags<E extends z.ZodRawShape = Record<never, never>>(
  argv: readonly string[],
  extra?: E,
  defaults: StandardDefaults = {},
): StandardFlags & z.output<z.ZodObject<E>> {
  const shape = { ...standard, ...(extra ?? {}) } as z.ZodRawShape;
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s) as [string, string | undefined];
    const key = flag.startsWith("--") ? camel(flag) : "";
    if (!(key in shape)) {
      const known = Object.keys(shape).map(kebab).join(", ");
      throw new FlagError(`unknown flag ${flag} (known: ${known})`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new FlagError(`${flag} needs a value`);
    if (key in raw) throw new FlagError(`${flag} is given twice`);
    raw[key] = value;
  }
  const withDefaults: Record<string, unknown> = {
    seed: defaults.seed ?? 1,
    rate: defaults.rate ?? 0,
    mode: defaults.mode ?? "atleast",
    ...(defaults.events !== undefined ? { events: String(defaults.events) } : {}),
    ...(defaults.duration !== undefined ? { duration: String(defaults.duration) } : {}),
    ...raw,
  };
  const r = z.object(shape).safeParse(withDefaults);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = String(issue.path[0] ?? "");
    const given = raw[key] !== undefined ? ` (got ${JSON.stringify(raw[key])})` : "";
    throw new FlagError(`${key === "" ? "flags" : kebab(key)}: ${issue.message}${given}`);
  }
  return r.data as StandardFlags & z.output<z.ZodObject<E>>;
}

/**
 * {@link parseFlags} for a program: on a bad flag it writes
 * `<app>: <reason>` to stderr and exits with code 2.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const flags = parseAppFlags("trending", ["--seed", "3"], { topN: z.coerce.number().int().min(1).default(10) });
 * flags.topN; // 10
 * ```
 */
export function parseAppFlags<E extends z.ZodRawShape = Record<never, never>>(
  app: string,
  argv: readonly string[] = args(),
  extra?: E,
  defaults?: StandardDefaults,
): StandardFlags & z.output<z.ZodObject<E>> {
  try {
    return parseFlags(argv, extra, defaults);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    writeStderr(`${app}: ${e.message}\n`);
    return exit(2);
  }
}

/**
 * The reliability mode (`topology.reliability.mode`, Heron's delivery
 * semantics) of a `--mode` flag.
 *
 * @example
 * ```ts
 * reliabilityMode("effectively"); // "EFFECTIVELY_ONCE"
 * ```
 */
export function reliabilityMode(mode: ModeFlag): (typeof MODES)[ModeFlag] {
  return MODES[mode];
}

/**
 * The phase of a topology under its master: one discriminated union, and
 * the table of the transitions between phases. The master (master.ts)
 * changes its phase in one place, `#enter`, which refuses a transition the
 * table does not list.
 *
 * ```text
 *            ready (all)                 update                 every process gone
 * starting ─────────────▶ running ◀──▶ paused ───▶ draining ───▶ stopping ───▶ relaunching
 *    ▲                      │   activate/deactivate                              │  │
 *    │                      │ rollback (EFFECTIVELY_ONCE) ──────────────────────▶│  │ same plan: in place
 *    └──────────────────────┴────────────────────────────────────────────────────┴──┘
 *  every container finished ─▶ finishing (EFFECTIVELY_ONCE: the final checkpoint) ─▶ ending
 *  kill ─▶ killing ─▶ ending;  failure, finish ─▶ ending ─▶ ended;  lease lost ─▶ steppedDown
 * ```
 *
 * @module
 */
import type { ControlMessage } from "../../transport/wire/mod.ts";

/** A final state of a run (the `stop` message's states, as recorded in the topology record). */
export type Terminal = Extract<ControlMessage, { type: "stop" }>["state"];

/**
 * What the topology does once a generation runs again: stay deactivated
 * (the user paused it), and carry out an `ardea update` asked for while a
 * relaunch was under way.
 */
export interface After {
  paused: boolean;
  update: boolean;
}

/** The `rollback` an in-place rollback says (again) until every container is ready. */
export interface RollbackAnnouncement {
  generation: number;
  restoreFrom: number;
  /** When it was first said (clock ms). */
  since: number;
}

/** The phase of a topology under its master. */
export type Phase =
  /**
   * The containers of a generation start (or reset, after an in-place
   * rollback: `rollback` set); the run starts when every one is ready.
   */
  | { kind: "starting"; after: After; rollback: RollbackAnnouncement | null }
  /** Every container runs, active. */
  | { kind: "running" }
  /** Every container runs, deactivated by the user (`ardea deactivate`). */
  | { kind: "paused" }
  /**
   * `ardea update`: deactivated, waiting for what is in flight to drain and
   * (EFFECTIVELY_ONCE, when the run had started) a fresh checkpoint.
   */
  | { kind: "draining"; after: After; started: boolean }
  /**
   * Every process was told to stop (an update, or a rollback onto a new
   * plan); waiting until they are gone, then `then`: record the next
   * generation (an update) or start its containers (the rollback recorded it).
   */
  | { kind: "stopping"; after: After; then: "relaunch" | "start" }
  /**
   * The next generation (its plan, restore point) being recorded before any
   * container of it starts. `inPlace`: a rollback, whose live containers
   * reset without exiting.
   */
  | { kind: "relaunching"; after: After; inPlace: boolean }
  /** EFFECTIVELY_ONCE: every container finished; the final checkpoint commits before FINISHED. */
  | { kind: "finishing"; paused: boolean }
  /** `ardea kill`: the containers drain and exit; KILLED when they are gone. */
  | { kind: "killing"; started: boolean }
  /** The run ends: `stop` said (again every 2 s) until every process is gone, the final state recorded. */
  | { kind: "ending"; state: Terminal }
  /** The run ended. */
  | { kind: "ended"; state: Terminal }
  /** Another master took the lease: this one stopped supervising; the containers run on under it. */
  | { kind: "steppedDown"; holder: string };

/** A phase's name. */
export type PhaseKind = Phase["kind"];

/** The phase of kind `K`. */
export type PhaseOf<K extends PhaseKind> = Extract<Phase, { kind: K }>;

const LIVE_EXITS = ["killing", "ending", "steppedDown"] as const;

/**
 * Every transition the master may make, by the phase it leaves. A phase may
 * also be entered again with other fields (a deactivate while starting).
 *
 * @example
 * ```ts
 * TRANSITIONS.draining; // ["stopping", "killing", "ending", "steppedDown"]
 * ```
 */
export const TRANSITIONS: { readonly [K in PhaseKind]: readonly PhaseKind[] } = {
  starting: ["running", "paused", "draining", "relaunching", "finishing", ...LIVE_EXITS],
  running: ["paused", "draining", "relaunching", "finishing", ...LIVE_EXITS],
  paused: ["running", "draining", "relaunching", "finishing", ...LIVE_EXITS],
  draining: ["stopping", ...LIVE_EXITS],
  stopping: ["relaunching", "starting", ...LIVE_EXITS],
  relaunching: ["starting", "stopping", ...LIVE_EXITS],
  finishing: ["relaunching", ...LIVE_EXITS],
  killing: ["ending", "steppedDown"],
  ending: ["ended"],
  ended: [],
  steppedDown: [],
};

/**
 * Whether the master may go from phase `from` to phase `to` (the same kind
 * with other fields always).
 *
 * @example
 * ```ts
 * canEnter("running", "draining"); // true
 * canEnter("ended", "running"); // false
 * ```
 */
export function canEnter(from: PhaseKind, to: PhaseKind): boolean {
  return from === to ? TRANSITIONS[from].length > 0 : TRANSITIONS[from].includes(to);
}

/**
 * Whether the run is over for this master: it ends, ended, or stepped down.
 *
 * @example
 * ```ts
 * isOver({ kind: "ending", state: "KILLED" }); // true
 * ```
 */
export function isOver(p: Phase): boolean {
  return p.kind === "ending" || p.kind === "ended" || p.kind === "steppedDown";
}

/**
 * Whether every container of the generation was told to start (the run is
 * on): the master announces `lost`/`rejoin`, watches silence, and an
 * `activate` applies.
 *
 * @example
 * ```ts
 * hasStarted({ kind: "paused" }); // true
 * ```
 */
export function hasStarted(p: Phase): boolean {
  switch (p.kind) {
    case "running":
    case "paused":
    case "finishing":
      return true;
    case "draining":
    case "killing":
      return p.started;
    default:
      return false;
  }
}

/**
 * Whether every container is being replaced (an update or a rollback under
 * way): a container's death then restarts nothing on its own.
 *
 * @example
 * ```ts
 * isRelaunching({ kind: "stopping", after: { paused: false, update: false }, then: "relaunch" }); // true
 * ```
 */
export function isRelaunching(p: Phase): p is PhaseOf<"draining" | "stopping" | "relaunching"> {
  return p.kind === "draining" || p.kind === "stopping" || p.kind === "relaunching";
}

/**
 * What the user's steering wants of the run once it runs: paused or not;
 * undefined when the run is ending (a late PAUSED/RUNNING write then skips).
 *
 * @example
 * ```ts
 * wantsPaused({ kind: "paused" }); // true
 * ```
 */
export function wantsPaused(p: Phase): boolean | undefined {
  switch (p.kind) {
    case "running":
      return false;
    case "paused":
      return true;
    case "starting":
    case "draining":
    case "stopping":
    case "relaunching":
      return p.after.paused;
    case "finishing":
      return p.paused;
    default:
      return undefined;
  }
}

/**
 * A short text of phase `p` for logs and test messages.
 *
 * @example
 * ```ts
 * describePhase({ kind: "ending", state: "FAILED" }); // "ending FAILED"
 * ```
 */
export function describePhase(p: Phase): string {
  switch (p.kind) {
    case "ending":
    case "ended":
      return `${p.kind} ${p.state}`;
    case "stopping":
      return `stopping, then ${p.then}`;
    case "relaunching":
      return p.inPlace ? "relaunching in place" : "relaunching";
    case "starting":
      return p.rollback ? `starting (rollback to generation ${p.rollback.generation})` : "starting";
    default:
      return p.kind;
  }
}

/**
 * The cooperative scheduler: runs ready actors on the event loop, many
 * messages per turn, and yields to timers and I/O every few milliseconds.
 *
 * @module
 */

/** Something the scheduler runs. */
export interface Runnable {
  /** Set by the scheduler while the actor sits in the ready queue. */
  scheduled: boolean;
  /** Does work until done or until `deadline` (ms, performance clock). */
  run(deadline: number): void;
}

/** Schedules a callback on the next macrotask (runtime adapter). */
export type Yielder = (cb: () => void) => void;

/**
 * A FIFO ready queue drained in time slices.
 *
 * @example
 * ```ts
 * declare const actor: Runnable;
 * const s = new Scheduler((cb) => setTimeout(cb, 0));
 * s.schedule(actor); // runs actor.run(deadline) on a later turn
 * ```
 */
export class Scheduler {
  #queue: Array<Runnable | undefined> = new Array(64);
  #head = 0;
  #tail = 0;
  #size = 0;
  #armed = false;
  #stopped = false;
  /** The time at the start of the current actor run; a cheap clock for the hot path. */
  now = performance.now();
  /** The end of the current slice (ms; in the past between slices): what a run handed work outside its turn may use. */
  deadline = 0;
  /** Number of slices run. */
  slices = 0;

  constructor(
    private readonly yielder: Yielder,
    /** Longest slice before yielding to the event loop (ms). */
    readonly sliceMs = 5,
    private readonly onError: (e: unknown) => void = (e) => {
      throw e;
    },
  ) {}

  /** Puts an actor in the ready queue unless it is already there. */
  schedule(a: Runnable): void {
    if (a.scheduled || this.#stopped) return;
    a.scheduled = true;
    if (this.#size === this.#queue.length) this.#grow();
    this.#queue[this.#tail] = a;
    this.#tail = (this.#tail + 1) % this.#queue.length;
    this.#size++;
    if (!this.#armed) {
      this.#armed = true;
      this.yielder(this.#slice);
    }
  }

  /** Stops running actors; queued ones are dropped. */
  stop(): void {
    this.#stopped = true;
    while (this.#size > 0) this.#pop()!.scheduled = false;
  }

  /** Whether nothing is ready. */
  get idle(): boolean {
    return this.#size === 0;
  }

  #pop(): Runnable | undefined {
    const a = this.#queue[this.#head];
    this.#queue[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#queue.length;
    this.#size--;
    return a;
  }

  #grow(): void {
    const q = new Array<Runnable | undefined>(this.#queue.length * 2);
    for (let i = 0; i < this.#size; i++) q[i] = this.#queue[(this.#head + i) % this.#queue.length];
    this.#queue = q;
    this.#head = 0;
    this.#tail = this.#size;
  }

  #slice = (): void => {
    this.#armed = false;
    if (this.#stopped) return;
    this.slices++;
    let now = performance.now();
    const deadline = now + this.sliceMs;
    this.deadline = deadline;
    try {
      while (this.#size > 0 && now < deadline) {
        const a = this.#pop()!;
        a.scheduled = false;
        this.now = now;
        a.run(deadline);
        now = performance.now();
      }
    } catch (e) {
      this.onError(e);
    }
    this.now = now;
    if (this.#size > 0 && !this.#armed && !this.#stopped) {
      this.#armed = true;
      this.yielder(this.#slice);
    }
  };
}

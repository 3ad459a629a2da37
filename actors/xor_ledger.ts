/**
 * The ack ledger: Storm's XOR tuple trees over typed arrays. A root id is a
 * slot index (20 bits) and a generation (10 bits), so a late delta for a
 * root that already completed, failed or timed out finds another generation
 * and is ignored. Edge ids are 60 bits, kept as two 30-bit halves so that
 * every id stays a small integer in V8 (no boxing, no BigInt).
 *
 * @module
 */

const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const GEN_MASK = (1 << 10) - 1;
/** Largest number of trees in flight in one ledger. */
export const MAX_ROOTS = 1 << SLOT_BITS;

// xoshiro128** state, seeded from Math.random: edge ids need only to
// collide rarely, and this is cheaper than Math.random() per id.
const st = new Int32Array(4).map(() => (Math.random() * 0x100000000) | 0);
st[0] ||= 1;

/**
 * Half of an edge id: 30 random bits (xoshiro128**).
 *
 * @example
 * ```ts
 * const hi = edgeHalf(), lo = edgeHalf(); // a 60-bit edge id
 * ```
 */
export function edgeHalf(): number {
  const a = st[0]!, b = st[1]!, c = st[2]! ^ a, d = st[3]! ^ b;
  const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
  st[0] = a ^ d;
  st[1] = b ^ c;
  st[2] = c ^ (b << 9);
  st[3] = rotl(d, 11);
  return r & 0x3fffffff;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** What the ledger reports when a tree ends. */
export interface LedgerListener {
  /** The tree of `msgId` completed after `latencyMs`. */
  onComplete(owner: number, msgId: unknown, latencyMs: number): void;
  /** The tree of `msgId` failed (explicit fail, timeout, or a crash). */
  onFail(owner: number, msgId: unknown, timedOut: boolean): void;
}

/**
 * Tracks every tuple tree of the spouts of one container.
 *
 * @example
 * ```ts
 * declare const listener: LedgerListener;
 * const ledger = new XorLedger(listener);
 * const now = performance.now();
 * const root = ledger.begin(0, "msg-1", now);
 * const h = edgeHalf(), l = edgeHalf();
 * ledger.xor(root, h, l, now); // a tuple emitted with edge (h, l)
 * ledger.xor(root, h, l, now); // … and acked: the tree completes
 * ```
 */
export class XorLedger {
  #cap = 0;
  #hi = new Int32Array(0);
  #lo = new Int32Array(0);
  #gen = new Uint16Array(0);
  #owner = new Int32Array(0);
  #start = new Float64Array(0);
  #live = new Uint8Array(0);
  #msgIds: unknown[] = [];
  /** Released slots, a FIFO ring, so a root id comes back as late as possible. */
  #free = new Int32Array(0);
  #freeHead = 0;
  #freeCount = 0;
  #used = 0;
  /** Trees in flight. */
  live = 0;

  constructor(private readonly listener: LedgerListener, initialCapacity = 4096) {
    this.#grow(initialCapacity);
  }

  #grow(cap: number): void {
    if (cap > MAX_ROOTS) throw new RangeError(`more than ${MAX_ROOTS} tuple trees in flight in one container`);
    const old = this.#cap;
    const copy = <A extends Int32Array | Uint16Array | Float64Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.#hi = copy(this.#hi, (n) => new Int32Array(n));
    this.#lo = copy(this.#lo, (n) => new Int32Array(n));
    this.#gen = copy(this.#gen, (n) => new Uint16Array(n));
    this.#owner = copy(this.#owner, (n) => new Int32Array(n));
    this.#start = copy(this.#start, (n) => new Float64Array(n));
    this.#live = copy(this.#live, (n) => new Uint8Array(n));
    const free = new Int32Array(cap);
    for (let i = 0; i < this.#freeCount; i++) free[i] = this.#free[(this.#freeHead + i) % old]!;
    this.#free = free;
    this.#freeHead = 0;
    this.#msgIds.length = cap;
    this.#cap = cap;
  }

  /** Starts a tree for `msgId` of spout task `owner`; returns its root id. */
  begin(owner: number, msgId: unknown, now: number): number {
    // Fresh slots first; then reuse the oldest released slot, but only while
    // at least half the table is free, so that each root id (slot and 10-bit
    // generation) recurs only after cap/2 × 1024 trees: a late delta of a
    // timed-out tree practically never meets a live tree with its id.
    let slot: number;
    if (this.#used < this.#cap) slot = this.#used++;
    else if (this.#freeCount * 2 >= this.#cap) {
      slot = this.#free[this.#freeHead]!;
      this.#freeHead = this.#freeHead + 1 === this.#cap ? 0 : this.#freeHead + 1;
      this.#freeCount--;
    } else {
      this.#grow(this.#cap * 2);
      slot = this.#used++;
    }
    this.#hi[slot] = 0;
    this.#lo[slot] = 0;
    this.#owner[slot] = owner;
    this.#start[slot] = now;
    this.#live[slot] = 1;
    this.#msgIds[slot] = msgId;
    this.live++;
    return (this.#gen[slot]! << SLOT_BITS) | slot;
  }

  #slot(root: number): number {
    const slot = root & SLOT_MASK;
    if (slot >= this.#used || this.#live[slot] === 0 || this.#gen[slot] !== root >>> SLOT_BITS) return -1;
    return slot;
  }

  /** XORs an edge id into a tree (emit or ack); completes it at zero. Stale roots are ignored. */
  xor(root: number, hi: number, lo: number, now: number): void {
    const slot = this.#slot(root);
    if (slot < 0) return;
    const h = this.#hi[slot]! ^ hi;
    const l = this.#lo[slot]! ^ lo;
    this.#hi[slot] = h;
    this.#lo[slot] = l;
    if (h === 0 && l === 0) {
      const owner = this.#owner[slot]!;
      const msgId = this.#msgIds[slot];
      const latency = now - this.#start[slot]!;
      this.#release(slot);
      this.listener.onComplete(owner, msgId, latency);
    }
  }

  /** Like `xor` during the emit of a spout tuple: never completes the tree. */
  seed(root: number, hi: number, lo: number): void {
    const slot = this.#slot(root);
    if (slot < 0) return;
    this.#hi[slot] = this.#hi[slot]! ^ hi;
    this.#lo[slot] = this.#lo[slot]! ^ lo;
  }

  /** Completes a tree whose value is zero (a spout tuple that reached no task). */
  settle(root: number, now: number): void {
    this.xor(root, 0, 0, now);
  }

  /** Fails a tree. */
  fail(root: number): void {
    const slot = this.#slot(root);
    if (slot < 0) return;
    this.#failSlot(slot, false);
  }

  /** Restarts the timeout of a tree. */
  touch(root: number, now: number): void {
    const slot = this.#slot(root);
    if (slot >= 0) this.#start[slot] = now;
  }

  /** Fails every tree that started before `deadline`; returns how many. */
  expire(deadline: number): number {
    let n = 0;
    for (let s = 0; s < this.#used; s++) {
      if (this.#live[s] === 1 && this.#start[s]! < deadline) {
        this.#failSlot(s, true);
        n++;
      }
    }
    return n;
  }

  /** Fails every tree of spout task `owner` (it crashed). */
  failOwner(owner: number): number {
    let n = 0;
    for (let s = 0; s < this.#used; s++) {
      if (this.#live[s] === 1 && this.#owner[s] === owner) {
        this.#failSlot(s, false);
        n++;
      }
    }
    return n;
  }

  #failSlot(slot: number, timedOut: boolean): void {
    const owner = this.#owner[slot]!;
    const msgId = this.#msgIds[slot];
    this.#release(slot);
    this.listener.onFail(owner, msgId, timedOut);
  }

  #release(slot: number): void {
    this.#live[slot] = 0;
    this.#msgIds[slot] = undefined;
    this.#gen[slot] = (this.#gen[slot]! + 1) & GEN_MASK;
    this.#free[(this.#freeHead + this.#freeCount++) % this.#cap] = slot;
    this.live--;
  }
}

// Mailbox (bounded ring buffer with watermarks), Pressure and the Scheduler.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { Mailbox, Pressure } from "../actors/mailbox.ts";
import { type Runnable, Scheduler } from "../actors/scheduler.ts";
import { yieldNow } from "../runtime/mod.ts";

function gauge(clock = { t: 0 }) {
  let releases = 0;
  const p = new Pressure(() => releases++, () => clock.t);
  return { p, clock, releases: () => releases };
}

test("Mailbox: FIFO order, peek, shift on empty", () => {
  const { p } = gauge();
  const box = new Mailbox<number>(p, 1000);
  assert.is(box.shift(), undefined);
  assert.is(box.peek(), undefined);
  for (let i = 0; i < 10; i++) box.push(i);
  assert.is(box.size, 10);
  assert.is(box.peek(), 0);
  const out: number[] = [];
  while (box.size > 0) out.push(box.shift()!);
  assert.equal(out, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(box.shift(), undefined);
});

test("Pressure: each cause counts under its source; own pressure is mailboxes and parked tuples only", () => {
  const { p, releases } = gauge();
  p.raise("lease");
  p.raise("credit");
  assert.ok(p.active);
  assert.not.ok(p.own, "another container's lease and a destination out of credit are not this container's own");
  const box = new Mailbox<number>(p, 2, 1);
  for (let i = 0; i < 3; i++) box.push(i);
  assert.ok(p.own);
  assert.equal(p.by, { mailbox: 1, parked: 0, lease: 1, lost: 0, credit: 1 });
  box.shift();
  box.shift();
  assert.not.ok(p.own);
  p.lower("lease");
  p.lower("credit");
  assert.not.ok(p.active);
  assert.is(releases(), 1);
});

test("Mailbox: grows past its initial capacity, FIFO kept across wrap-around", () => {
  const { p } = gauge();
  const box = new Mailbox<number>(p, 1_000_000, undefined, 16);
  let next = 0;
  let expect = 0;
  // interleave pushes and shifts so head/tail wrap before each growth
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 37 + round * 3; i++) box.push(next++);
    for (let i = 0; i < 20; i++) {
      const v = box.shift()!;
      assert.is(v, expect++);
    }
  }
  while (box.size > 0) assert.is(box.shift(), expect++);
  assert.is(expect, next);
  assert.ok(box.peak >= 1000, `peak ${box.peak}`);
});

test("Mailbox: high watermark raises Pressure once per episode, low watermark lowers it once", () => {
  const { p, clock, releases } = gauge();
  const box = new Mailbox<number>(p, 10, 4);
  for (let i = 0; i < 10; i++) box.push(i);
  assert.is(p.count, 0, "at the high mark, not above it");
  assert.is(box.over, false);
  clock.t = 100;
  box.push(10);
  assert.is(p.count, 1);
  assert.ok(p.active);
  assert.is(p.episodes, 1);
  for (let i = 0; i < 50; i++) box.push(i);
  assert.is(p.count, 1, "raised once only");
  assert.is(p.episodes, 1);
  // drain to just above the low mark: still raised
  while (box.size > 5) box.shift();
  assert.is(p.count, 1);
  assert.is(releases(), 0);
  clock.t = 350;
  box.shift(); // size 4 = low mark
  assert.is(p.count, 0);
  assert.is(releases(), 1);
  assert.is(p.totalMs, 250);
  while (box.size > 0) box.shift();
  assert.is(releases(), 1, "lowered once only");
  // a second episode
  clock.t = 1000;
  for (let i = 0; i < 11; i++) box.push(i);
  assert.is(p.episodes, 2);
  clock.t = 1100;
  box.clear();
  assert.is(p.count, 0, "clear releases the gauge");
  assert.is(releases(), 2);
  assert.is(p.totalMs, 350);
});

test("Pressure: shared by two mailboxes, released only when both drain; throttledMs counts the active episode", () => {
  const { p, clock, releases } = gauge();
  const a = new Mailbox<number>(p, 2, 1);
  const b = new Mailbox<number>(p, 2, 1);
  clock.t = 10;
  for (let i = 0; i < 3; i++) a.push(i);
  clock.t = 20;
  for (let i = 0; i < 3; i++) b.push(i);
  assert.is(p.count, 2);
  assert.is(p.episodes, 1);
  assert.is(p.throttledMs(40), 30);
  clock.t = 50;
  a.clear();
  assert.is(p.count, 1);
  assert.is(releases(), 0);
  assert.is(p.throttledMs(60), 50);
  clock.t = 70;
  b.clear();
  assert.is(releases(), 1);
  assert.is(p.throttledMs(1000), 60, "no episode active: only the total");
});

test("Mailbox: default low watermark is half the high one", () => {
  const { p } = gauge();
  const box = new Mailbox<number>(p, 100);
  assert.is(box.lowWater, 50);
});

test("Scheduler: runs every ready actor, once per schedule, FIFO", async () => {
  const order: string[] = [];
  const s = new Scheduler(yieldNow);
  const mk = (name: string): Runnable => ({ scheduled: false, run: () => void order.push(name) });
  const a = mk("a"), b = mk("b"), c = mk("c");
  s.schedule(a);
  s.schedule(b);
  s.schedule(a); // already queued
  s.schedule(c);
  assert.ok(!s.idle);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(order, ["a", "b", "c"]);
  assert.ok(s.idle);
  assert.is(a.scheduled, false);
});

test("Scheduler: an actor re-scheduling itself with long runs does not starve timers", async () => {
  const s = new Scheduler(yieldNow, 5);
  let runs = 0;
  let stop = false;
  const actor: Runnable = {
    scheduled: false,
    run(deadline) {
      runs++;
      // busy until the slice deadline (a long synchronous run)
      while (performance.now() < deadline);
      if (!stop) s.schedule(this);
    },
  };
  let ticks = 0;
  const iv = setInterval(() => ticks++, 5);
  const fired = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now()), 30));
  const t0 = performance.now();
  s.schedule(actor);
  const at = await fired;
  stop = true;
  clearInterval(iv);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(at - t0 < 2000, `a 30 ms timer fired after ${Math.round(at - t0)} ms`);
  assert.ok(runs >= 2, `runs ${runs}`);
  assert.ok(ticks >= 2, `interval ticks ${ticks}`);
  assert.ok(s.slices >= 2, `slices ${s.slices}`);
});

test("Scheduler: many actors share a slice and the rest run on later turns", async () => {
  const s = new Scheduler(yieldNow, 2);
  const ran = new Set<number>();
  const actors: Runnable[] = Array.from({ length: 50 }, (_, i) => ({
    scheduled: false,
    run() {
      ran.add(i);
      const until = performance.now() + 0.5;
      while (performance.now() < until);
    },
  }));
  for (const a of actors) s.schedule(a);
  const deadline = performance.now() + 5000;
  while (ran.size < 50 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.is(ran.size, 50);
  assert.ok(s.slices >= 2, `all 25+ ms of work in ${s.slices} slice(s)`);
});

test("Scheduler: stop drops queued actors; an error goes to onError", async () => {
  const errors: unknown[] = [];
  const s = new Scheduler(yieldNow, 5, (e) => errors.push(e));
  let ran = 0;
  const a: Runnable = { scheduled: false, run: () => void ran++ };
  s.schedule(a);
  s.stop();
  assert.is(a.scheduled, false);
  s.schedule(a);
  await new Promise((r) => setTimeout(r, 10));
  assert.is(ran, 0);
  const s2 = new Scheduler(yieldNow, 5, (e) => errors.push(e));
  s2.schedule({
    scheduled: false,
    run() {
      throw new Error("boom");
    },
  });
  await new Promise((r) => setTimeout(r, 10));
  assert.is(errors.length, 1);
  assert.is((errors[0] as Error).message, "boom");
});

test.run();

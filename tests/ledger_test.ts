// The XOR ack ledger (actors/xor_ledger.ts): tuple trees over typed arrays.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { edgeHalf, type LedgerListener, XorLedger } from "../actors/xor_ledger.ts";

interface Event {
  kind: "complete" | "fail";
  owner: number;
  msgId: unknown;
  timedOut?: boolean;
  latency?: number;
}

function recorder(): { events: Event[]; listener: LedgerListener } {
  const events: Event[] = [];
  return {
    events,
    listener: {
      onComplete: (owner, msgId, latency) => events.push({ kind: "complete", owner, msgId, latency }),
      onFail: (owner, msgId, timedOut) => events.push({ kind: "fail", owner, msgId, timedOut }),
    },
  };
}

/** An edge id, as collectors make them. */
function edge(): [number, number] {
  let h = 0, l = 0;
  while (h === 0 && l === 0) {
    h = edgeHalf();
    l = edgeHalf();
  }
  return [h, l];
}

test("edgeHalf: 30-bit non-negative integers", () => {
  for (let i = 0; i < 1000; i++) {
    const h = edgeHalf();
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 30, String(h));
  }
});

test("a single edge: emit then ack completes the tree with its msgId, owner and latency", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const root = l.begin(3, "m1", 100);
  assert.is(l.live, 1);
  const [h, lo] = edge();
  l.seed(root, h, lo);
  assert.is(events.length, 0);
  l.xor(root, h, lo, 150);
  assert.equal(events, [{ kind: "complete", owner: 3, msgId: "m1", latency: 50 }]);
  assert.is(l.live, 0);
});

test("seed never completes even when the value returns to zero", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const root = l.begin(0, "x", 0);
  const [h, lo] = edge();
  l.seed(root, h, lo);
  l.seed(root, h, lo);
  assert.is(events.length, 0);
  assert.is(l.live, 1);
  // settle completes a tree whose value is zero
  l.settle(root, 1);
  assert.is(events.length, 1);
  assert.is(events[0]!.kind, "complete");
});

test("multi-level tree: completes only when every emit is acked", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const root = l.begin(0, "tree", 0);
  // spout tuple s → bolt A emits a1, a2 anchored to s, acks s
  const s = edge();
  l.seed(root, ...s);
  const a1 = edge(), a2 = edge();
  // ack of s: s ^ a1 ^ a2
  l.xor(root, s[0] ^ a1[0] ^ a2[0], s[1] ^ a1[1] ^ a2[1], 1);
  assert.is(events.length, 0);
  // bolt B gets a1, emits b1 anchored, acks a1
  const b1 = edge();
  l.xor(root, a1[0] ^ b1[0], a1[1] ^ b1[1], 2);
  assert.is(events.length, 0);
  // a2 acked with no children
  l.xor(root, a2[0], a2[1], 3);
  assert.is(events.length, 0);
  // leaf b1 acked
  l.xor(root, b1[0], b1[1], 4);
  assert.equal(events.map((e) => e.kind), ["complete"]);
  assert.is(l.live, 0);
});

test("acks in any order complete the tree (XOR is commutative)", () => {
  for (let trial = 0; trial < 20; trial++) {
    const { events, listener } = recorder();
    const l = new XorLedger(listener);
    const root = l.begin(0, trial, 0);
    const edges = Array.from({ length: 8 }, edge);
    const deltas: Array<[number, number]> = [];
    // root tuple emitted to 8 edges directly: seed all, each ack its own
    for (const e of edges) l.seed(root, ...e);
    for (const e of edges) deltas.push(e);
    deltas.sort(() => Math.random() - 0.5);
    for (let i = 0; i < deltas.length; i++) {
      assert.is(events.length, 0, `completed early at ${i}`);
      l.xor(root, deltas[i]![0], deltas[i]![1], i);
    }
    assert.is(events.length, 1);
    assert.is(events[0]!.msgId, trial);
  }
});

test("multiple roots: a tuple anchored to two trees completes both only when acked", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const r1 = l.begin(0, "r1", 0);
  const r2 = l.begin(1, "r2", 0);
  const s1 = edge(), s2 = edge();
  l.seed(r1, ...s1);
  l.seed(r2, ...s2);
  // A joiner emits j anchored to both s1 and s2; the same edge id lands in both trees.
  const j = edge();
  l.xor(r1, s1[0] ^ j[0], s1[1] ^ j[1], 1);
  l.xor(r2, s2[0] ^ j[0], s2[1] ^ j[1], 1);
  assert.is(events.length, 0);
  // j acked: its ack goes to each root it belongs to
  l.xor(r1, j[0], j[1], 2);
  assert.equal(events.map((e) => e.msgId), ["r1"]);
  l.xor(r2, j[0], j[1], 2);
  assert.equal(events.map((e) => e.msgId), ["r1", "r2"]);
  assert.equal(events.map((e) => e.owner), [0, 1]);
});

test("diamond: s → (a, b) → c anchored to both a and b", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const root = l.begin(0, "d", 0);
  const s = edge(), a = edge(), b = edge();
  l.seed(root, ...s);
  l.xor(root, s[0] ^ a[0] ^ b[0], s[1] ^ a[1] ^ b[1], 1);
  // c is anchored to a and b: one edge per anchor (both in the same root)
  const ca = edge(), cb = edge();
  l.xor(root, a[0] ^ ca[0], a[1] ^ ca[1], 2);
  l.xor(root, b[0] ^ cb[0], b[1] ^ cb[1], 2);
  assert.is(events.length, 0);
  // c's ack carries the XOR of its edge ids in this root
  l.xor(root, ca[0] ^ cb[0], ca[1] ^ cb[1], 3);
  assert.is(events.length, 1);
  assert.is(events[0]!.kind, "complete");
});

test("fail: fails once, later deltas for that root are ignored", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const root = l.begin(2, "f", 0);
  const s = edge();
  l.seed(root, ...s);
  l.fail(root);
  assert.equal(events, [{ kind: "fail", owner: 2, msgId: "f", timedOut: false }]);
  l.xor(root, s[0], s[1], 1);
  l.fail(root);
  assert.is(events.length, 1);
  assert.is(l.live, 0);
});

test("expire: fails (timedOut) only trees started before the deadline; touch restarts the clock", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const old = l.begin(0, "old", 0);
  const touched = l.begin(0, "touched", 0);
  const young = l.begin(0, "young", 900);
  for (const r of [old, touched, young]) l.seed(r, ...edge());
  l.touch(touched, 800);
  assert.is(l.expire(500), 1);
  assert.equal(events, [{ kind: "fail", owner: 0, msgId: "old", timedOut: true }]);
  assert.is(l.expire(500), 0);
  assert.is(l.expire(850), 1);
  assert.is(events[1]!.msgId, "touched");
  assert.is(events[1]!.timedOut, true);
  assert.is(l.live, 1);
});

test("stale root ids are ignored after the slot is reused", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener, 1);
  const r1 = l.begin(0, "first", 0);
  const e1 = edge();
  l.seed(r1, ...e1);
  l.xor(r1, e1[0], e1[1], 1);
  assert.is(events.length, 1);
  // the slot is free; the next tree reuses it with a new generation
  const r2 = l.begin(0, "second", 2);
  assert.is.not(r2, r1, "same slot, different root id");
  const e2 = edge();
  l.seed(r2, ...e2);
  // late deltas, fail and touch for r1 must not touch r2
  l.xor(r1, e2[0], e2[1], 3);
  l.fail(r1);
  l.touch(r1, 1e9);
  assert.is(events.length, 1);
  assert.is(l.live, 1);
  l.xor(r2, e2[0], e2[1], 4);
  assert.equal(events.map((e) => [e.kind, e.msgId]), [["complete", "first"], ["complete", "second"]]);
});

test("generations wrap without confusing live roots", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener, 1);
  const seen = new Set<number>();
  let last = -1;
  for (let i = 0; i < 1030; i++) {
    const r = l.begin(0, i, 0);
    seen.add(r);
    l.settle(r, 0);
    last = r;
  }
  assert.is(events.length, 1030);
  assert.ok(seen.size >= 1024, `distinct root ids: ${seen.size}`);
  // a stale id from long ago on the current slot: only the current one works
  const cur = l.begin(0, "cur", 0);
  l.seed(cur, 1, 1);
  l.xor(last, 1, 1, 0);
  assert.is(events.length, 1030);
  l.xor(cur, 1, 1, 0);
  assert.is(events.length, 1031);
});

test("failOwner fails every tree of that owner and no other", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener);
  const roots: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = l.begin(i % 2, i, 0);
    l.seed(r, ...edge());
    roots.push(r);
  }
  assert.is(l.failOwner(1), 5);
  assert.equal(events.map((e) => e.msgId).sort(), [1, 3, 5, 7, 9]);
  assert.ok(events.every((e) => e.kind === "fail" && e.owner === 1 && e.timedOut === false));
  assert.is(l.live, 5);
  assert.is(l.failOwner(1), 0);
  assert.is(l.failOwner(0), 5);
  assert.is(l.live, 0);
});

test("capacity grows past the initial size and every tree still resolves", () => {
  const { events, listener } = recorder();
  const l = new XorLedger(listener, 4);
  const n = 5000;
  const trees: Array<{ root: number; e: [number, number] }> = [];
  for (let i = 0; i < n; i++) {
    const root = l.begin(i % 3, i, 0);
    const e = edge();
    l.seed(root, ...e);
    trees.push({ root, e });
  }
  assert.is(l.live, n);
  assert.is(new Set(trees.map((t) => t.root)).size, n);
  // ack in reverse order, fail every tenth
  for (let i = n - 1; i >= 0; i--) {
    const t = trees[i]!;
    if (i % 10 === 0) l.fail(t.root);
    else l.xor(t.root, t.e[0], t.e[1], 1);
  }
  assert.is(l.live, 0);
  assert.is(events.length, n);
  assert.is(events.filter((e) => e.kind === "fail").length, n / 10);
  const ids = new Set(events.map((e) => e.msgId));
  assert.is(ids.size, n);
  // freed slots are reused: no further growth needed for n more
  for (let i = 0; i < n; i++) l.settle(l.begin(0, i, 0), 0);
  assert.is(events.length, 2 * n);
});

test.run();

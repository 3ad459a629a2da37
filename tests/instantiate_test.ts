// The copy contract of a component given as an instance: a clone() hook (on
// the component or on what it holds), construction anew for classes whose
// constructor takes no arguments (#private fields included), plain data
// copied deeply, and a clear refusal for a held object that cannot be copied.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { BaseBasicBolt, InvalidTopologyError, iterableSpout, TopologyBuilder } from "../mod.ts";
import { componentFactory } from "../topology/instantiate.ts";

class Limiter {
  #left: number;
  constructor(n: number) {
    this.#left = n;
  }
  take(): boolean {
    return this.#left-- > 0;
  }
  clone(): Limiter {
    return new Limiter(this.#left);
  }
}

test("a component's clone() makes each task's copy: #private fields set from constructor arguments survive", () => {
  let clones = 0;
  class Limited extends BaseBasicBolt {
    #limiter: Limiter;
    constructor(readonly max: number) {
      super();
      this.#limiter = new Limiter(max);
    }
    allowed(): boolean {
      return this.#limiter.take();
    }
    clone(): Limited {
      clones++;
      return new Limited(this.max);
    }
    execute() {}
    declareOutputFields() {}
  }
  const make = componentFactory(new Limited(2));
  const a = make() as Limited;
  const b = make() as Limited;
  assert.is(clones, 2);
  assert.ok(a !== b);
  assert.equal([a.allowed(), a.allowed(), a.allowed(), b.allowed()], [true, true, false, true]);
});

test("a held object's clone() copies it; a held class instance without constructor arguments is constructed anew", () => {
  class Tally {
    #n = 0;
    add(): number {
      return ++this.#n;
    }
  }
  class Holder extends BaseBasicBolt {
    limiter = new Limiter(1);
    tally = new Tally();
    shared = { limiter: this.limiter };
    execute() {}
    declareOutputFields() {}
  }
  const original = new Holder();
  original.tally.add();
  const copy = componentFactory(original)() as Holder;
  assert.ok(copy.limiter !== original.limiter && copy.tally !== original.tally);
  assert.is(copy.shared.limiter, copy.limiter, "an object held twice is copied once");
  assert.is(copy.limiter.take(), true);
  assert.is(copy.limiter.take(), false);
  assert.is(copy.tally.add(), 1, "#private fields of a class built anew start from their initialisers");
});

test("plain data is copied deeply, typed arrays and DataViews included", () => {
  const buf = new ArrayBuffer(8);
  const src = {
    list: [1, [2]],
    map: new Map([["k", { v: 1 }]]),
    when: new Date(5),
    bytes: new Uint8Array([1, 2]),
    view: new DataView(buf, 4, 4),
    buf,
    execute() {},
    declareOutputFields() {},
  };
  const copy = componentFactory(src)();
  copy.list[1] = [3];
  copy.map.get("k")!.v = 2;
  copy.bytes[0] = 9;
  copy.view.setUint8(0, 7);
  assert.equal(src.list, [1, [2]]);
  assert.is(src.map.get("k")!.v, 1);
  assert.is(src.bytes[0], 1);
  assert.is(new Uint8Array(buf)[4], 0);
  assert.is(copy.view.byteLength, 4);
  assert.is(copy.execute, src.execute, "functions are shared");
});

test("a held object whose constructor takes arguments and that has no clone() is refused, naming the component and the class", () => {
  class Point {
    constructor(readonly x: number) {}
  }
  class Holder extends BaseBasicBolt {
    origin = new Point(1);
    execute() {}
    declareOutputFields() {}
  }
  const b = new TopologyBuilder();
  b.setSpout("s", iterableSpout(() => [1], { fields: ["n"] }));
  b.setBolt("h", new Holder()).shuffleGrouping("s");
  assert.throws(
    () => b.createTopology(),
    (e: unknown) =>
      e instanceof InvalidTopologyError &&
      /bolt "h": it holds a Point .*give Point a clone\(\) method, or pass a factory/.test(e.message),
  );
  const ok = new TopologyBuilder();
  ok.setSpout("s", iterableSpout(() => [1], { fields: ["n"] }));
  ok.setBolt("h", () => new Holder()).shuffleGrouping("s");
  ok.createTopology();
});

test("a clone() that returns no object is named", () => {
  const make = componentFactory({ clone: () => null, execute() {}, declareOutputFields() {} });
  assert.throws(make, /clone\(\) returned null/);
});

test("classes are constructed, functions called, per task", () => {
  class Made {
    static count = 0;
    constructor() {
      Made.count++;
    }
  }
  componentFactory(Made)();
  componentFactory(Made)();
  assert.is(Made.count, 2);
  function factory() {
    return { made: true };
  }
  assert.equal(componentFactory(factory)(), { made: true });
  assert.equal(componentFactory(() => ({ arrow: true }))(), { arrow: true });
});

test.run();

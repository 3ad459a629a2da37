// The package's entries: `ardea` (mod.ts) exports the public API by name and
// none of the internals; `ardea/internal` (internal.ts) exports both.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import * as internal from "../internal.ts";
import * as ardea from "../mod.ts";

const INTERNALS = [
  "TupleImpl",
  "buildTopology",
  "hashFields",
  "hashString",
  "StreamCollector",
  "componentFactory",
  "TupleWindowImpl",
];

test("ardea exports no internals; ardea/internal has them", () => {
  const leaked = INTERNALS.filter((name) => name in ardea);
  assert.equal(leaked, []);
  for (const name of INTERNALS) assert.ok(name in internal, `ardea/internal exports ${name}`);
});

test("ardea/internal exports everything ardea does, as the same values", () => {
  for (const [name, value] of Object.entries(ardea)) {
    assert.is((internal as Record<string, unknown>)[name], value, name);
  }
});

test("the API a topology script needs is public", () => {
  for (
    const name of [
      "TopologyBuilder",
      "Fields",
      "BaseRichSpout",
      "BaseRichBolt",
      "BaseBasicBolt",
      "submit",
      "completeTopology",
      "LocalCluster",
      "iterableSpout",
      "bolt",
      "BaseWindowedBolt",
      "BaseStatefulBolt",
      "State",
      "registerType",
      "JetStreamSpout",
      "NatsSinkBolt",
      "ArdeaError",
    ]
  ) {
    assert.ok(name in ardea, `ardea exports ${name}`);
  }
});

test.run();

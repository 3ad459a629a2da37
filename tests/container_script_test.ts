// timeout: 120
// A container process whose topology script fails to load reports what
// `ardea submit` reports: a ScriptError naming the script, the error and its
// frame in the script (through the bundle's source map), on one line; a
// script that loads without calling submit() ends after a short grace, not
// the whole submit timeout. runContainer runs in this process, against a real
// nats-server.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection } from "nats";
import { bundleScript, storeBundle } from "../cluster/bundle.ts";
import { runContainer } from "../cluster/container_process.ts";
import { Records } from "../cluster/records.ts";
import { runtimeName } from "../runtime/mod.ts";
import { type TopologyRecord, WIRE_VERSION } from "../transport/wire/mod.ts";
import { type NatsHandle, startNats } from "../testing/nats_server.ts";

let nats: NatsHandle;
let nc: NatsConnection;
let records: Records;

test.before(async () => {
  nats = await startNats({ servers: 1, jetstream: true });
  nc = await connect({ servers: nats.urls[0] });
  records = await Records.open(nc);
});

test.after(async () => {
  await nc?.close();
  await nats?.stop();
});

async function submitRecord(name: string, script: string): Promise<void> {
  const bundle = await storeBundle(nc, await bundleScript(script));
  const now = Date.now();
  const rec: TopologyRecord = {
    version: WIRE_VERSION,
    name,
    state: "SUBMITTED",
    config: {},
    bundle,
    args: [],
    cwd: "/tmp",
    containers: 1,
    packing: { "1": 0 },
    components: { words: [1] },
    scheduler: "local",
    runtime: runtimeName(),
    ardeaVersion: "0.1.0",
    submittedAt: now,
    updatedAt: now,
  };
  await records.putTopology(rec);
}

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("it did not fail");
}

test("a script that throws while loading: ScriptError with the script, the error and its line", async () => {
  await submitRecord("throws", "tests/fixtures/submit_throws.ts");
  const lines: string[] = [];
  const e = await failure(
    runContainer({ nc, topology: "throws", index: 0, log: (l) => lines.push(l), submitTimeoutMs: 20_000 }),
  );
  assert.is(e.code, "SCRIPT_FAILED");
  assert.is(e.name, "ScriptError");
  assert.match(
    e.message,
    /^tests\/fixtures\/submit_throws\.ts failed while loading: TypeError: cannot reach the database \(at tests\/fixtures\/submit_throws\.ts:3:\d+\)$/,
  );
});

test("a script that loads without calling submit(): NO_SUBMIT after a short grace, naming the script", async () => {
  await submitRecord("none", "tests/fixtures/submit_none.ts");
  const t0 = Date.now();
  const e = await failure(runContainer({ nc, topology: "none", index: 0, log: () => {}, submitTimeoutMs: 20_000 }));
  assert.is(e.code, "NO_SUBMIT");
  assert.is(e.message, "tests/fixtures/submit_none.ts finished loading without calling submit()");
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
});

test.run();

import { suite } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { connect, type NatsConnection, StringCodec } from "nats";
import { fileExists } from "../runtime/mod.ts";
import { freePorts, type NatsHandle, startNats } from "../testing/nats_server.ts";

const sc = StringCodec();

async function roundTrip(pub: NatsConnection, sub: NatsConnection, subject: string): Promise<string> {
  const subscription = sub.subscribe(subject, { max: 1 });
  await sub.flush(); // the subscription has reached the server (and its routes)
  const received = (async () => {
    for await (const msg of subscription) return sc.decode(msg.data);
    throw new Error("subscription closed without a message");
  })();
  // Interest propagates over routes asynchronously: publish until it arrives.
  const timer = setInterval(() => pub.publish(subject, sc.encode(`hello ${subject}`)), 50);
  let timeout: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      received,
      new Promise<string>((_, reject) => {
        timeout = setTimeout(() => reject(new Error("no message within 10 s")), 10_000);
      }),
    ]);
  } finally {
    clearInterval(timer);
    clearTimeout(timeout);
  }
}

const harness = suite("nats_server harness");

harness("freePorts gives distinct loopback ports", async () => {
  const ports = await freePorts(5);
  assert.is(new Set(ports).size, 5);
  for (const p of ports) assert.ok(p > 0 && p < 65536);
});

harness("single server: connect, publish/subscribe, stop removes the store", async () => {
  const nats = await startNats();
  let nc: NatsConnection | undefined;
  try {
    assert.is(nats.servers.length, 1);
    assert.match(nats.urls[0]!, /^nats:\/\/127\.0\.0\.1:\d+$/);
    nc = await connect({ servers: nats.urls });
    assert.is(await roundTrip(nc, nc, "ardea.test.single"), "hello ardea.test.single");
    const jsm = await nc.jetstreamManager();
    const info = await jsm.getAccountInfo();
    assert.type(info.streams, "number");
  } finally {
    await nc?.close();
    await nats.stop();
  }
  assert.not.ok(await fileExists(nats.servers[0]!.storeDir));
  await nats.stop(); // twice is fine
});

harness("3-server cluster: routes up, message crosses servers, stop", async () => {
  const nats: NatsHandle = await startNats({ servers: 3 });
  const conns: NatsConnection[] = [];
  try {
    assert.is(nats.urls.length, 3);
    assert.is(new Set(nats.urls).size, 3);
    for (const url of nats.urls) conns.push(await connect({ servers: url }));
    assert.is(await roundTrip(conns[0]!, conns[2]!, "ardea.test.cluster.a"), "hello ardea.test.cluster.a");
    assert.is(await roundTrip(conns[1]!, conns[0]!, "ardea.test.cluster.b"), "hello ardea.test.cluster.b");
    // JetStream is clustered: a replicated stream can be created.
    const jsm = await conns[0]!.jetstreamManager();
    await jsm.streams.add({ name: "ARDEA_TEST", subjects: ["ardea.js.>"], num_replicas: 3 });
    const info = await jsm.streams.info("ARDEA_TEST");
    assert.is(info.config.num_replicas, 3);
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await nats.stop();
  }
  for (const s of nats.servers) assert.not.ok(await fileExists(s.storeDir));
});

harness("a server that cannot start is reported with its log", async () => {
  try {
    await startNats({ args: ["--no-such-flag"], readyTimeoutMs: 5000 });
    assert.unreachable("should have thrown");
  } catch (error) {
    assert.match((error as Error).message, /startNats: nats-server 0 exited early/);
  }
});

harness.run();

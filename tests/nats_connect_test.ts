// timeout: 240
// transport/nats_connect.ts: settings from flags and ARDEA_NATS_*, and real
// connections to nats-server with user/password, token, nkey and TLS
// (certificates made with openssl in a temp folder), with the one-line errors
// a user sees when something is missing or wrong.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { nkeys } from "nats";
import {
  acrossReconnects,
  closeNats,
  connectNats,
  NatsConnectError,
  type NatsFlags,
  natsSettingsEnv,
  NatsSettingsError,
  parseNatsFlags,
} from "../transport/nats_connect.ts";
import { makeTempDir, removePath, resolvePath, writeTextFile } from "../runtime/mod.ts";
import { freePorts, startNats } from "../testing/nats_server.ts";

// nats.js's node transport under Deno: when the server closes a refused
// connection, a late read error (ECONNRESET) can reach a socket whose
// listeners nats.js already removed, and Deno reports it as uncaught. Node is
// not affected. Ignore exactly that error here.
const deno = globalThis as {
  addEventListener?: (type: "error", f: (e: { error?: unknown; preventDefault(): void }) => void) => void;
};
deno.addEventListener?.("error", (e) => {
  if ((e.error as { code?: unknown } | undefined)?.code === "ECONNRESET") e.preventDefault();
});

function settingsError(flags: NatsFlags, env: Record<string, string> = {}): string {
  try {
    parseNatsFlags(flags, env);
  } catch (e) {
    assert.instance(e, NatsSettingsError);
    return (e as Error).message;
  }
  throw new Error(`parseNatsFlags(${JSON.stringify(flags)}) did not throw`);
}

async function connectError(flags: NatsFlags): Promise<string> {
  try {
    const nc = await connectNats(parseNatsFlags(flags, {}), { name: "test" });
    await nc.close();
  } catch (e) {
    assert.instance(e, NatsConnectError);
    const message = (e as Error).message;
    assert.not.match(message, /\n/, "one line");
    return message;
  }
  throw new Error(`connecting with ${JSON.stringify(flags)} worked`);
}

async function connectsWith(flags: NatsFlags): Promise<void> {
  const nc = await connectNats(parseNatsFlags(flags, {}), { name: "test" });
  try {
    await nc.flush();
  } finally {
    await nc.close();
  }
}

test("settings: --nats list, environment fallback, flags win", () => {
  assert.equal(parseNatsFlags({ nats: "nats://127.0.0.1:4222, nats://127.0.0.1:4223" }, {}).servers, [
    "nats://127.0.0.1:4222",
    "nats://127.0.0.1:4223",
  ]);
  const env = { ARDEA_NATS_URL: "nats://127.0.0.1:1", ARDEA_NATS_TOKEN: "envtoken", ARDEA_NATS_TLS_CA: "/ca.pem" };
  const fromEnv = parseNatsFlags({}, env);
  assert.equal(fromEnv.servers, ["nats://127.0.0.1:1"]);
  assert.is(fromEnv.token, "envtoken");
  assert.equal(fromEnv.tls, { ca: "/ca.pem", cert: undefined, key: undefined });
  // Credentials are a group: a flag credential hides every credential variable.
  const mixed = parseNatsFlags({ nats: "nats://127.0.0.1:2", user: "u", password: "p" }, env);
  assert.equal(mixed.servers, ["nats://127.0.0.1:2"]);
  assert.is(mixed.token, undefined);
  assert.is(mixed.user, "u");
  // An env lookup function works too (runtime env()).
  assert.is(
    parseNatsFlags({}, (n) => (n === "ARDEA_NATS_URL" ? "127.0.0.1:4222" : undefined)).servers[0],
    "127.0.0.1:4222",
  );
});

test("settings: mistakes are one line naming the flag", () => {
  assert.match(settingsError({}), /no NATS server: pass --nats .* or set ARDEA_NATS_URL/);
  assert.match(settingsError({ nats: "http://x y" }), /--nats: "http:\/\/x y" is not a NATS URL/);
  assert.match(settingsError({ nats: " , " }), /names no server/);
  assert.match(settingsError({ nats: "nats://h:1", user: "u" }), /--user .* needs --password/);
  assert.match(settingsError({ nats: "nats://h:1", password: "p" }), /--password .* needs --user/);
  assert.match(
    settingsError({ nats: "nats://h:1", token: "t", user: "u", password: "p" }),
    /one kind of NATS credentials, not --user\/--password and --token/,
  );
  assert.match(
    settingsError({ nats: "nats://h:1", "tls-cert": "c.pem" }),
    /--tls-cert .* and --tls-key .* go together/,
  );
  assert.match(settingsError({ nats: "nats://h:1" }, { ARDEA_NATS_USER: "u" }), /ARDEA_NATS_USER/);
});

test("natsSettingsEnv round-trips, with absolute file paths and blanks for unused variables", () => {
  const s = parseNatsFlags({ nats: "nats://127.0.0.1:4222,nats://127.0.0.1:4223", token: "t", "tls-ca": "ca.pem" }, {});
  const env = natsSettingsEnv(s);
  assert.is(env["ARDEA_NATS_USER"], "");
  assert.is(env["ARDEA_NATS_TLS_CA"], resolvePath("ca.pem"));
  const back = parseNatsFlags({}, { ...env, ARDEA_NATS_PASSWORD: env["ARDEA_NATS_PASSWORD"]! });
  assert.equal(back.servers, s.servers);
  assert.is(back.token, "t");
  assert.is(back.user, undefined);
});

test("user/password: missing or wrong credentials are refused with a clear message", async () => {
  const nats = await startNats({ jetstream: false, args: ["--user", "ardea", "--pass", "s3cret"] });
  const url = nats.urls[0]!;
  try {
    assert.is(
      await connectError({ nats: url }),
      `NATS at ${url} refused the credentials: authorization violation (pass --user/--password, --token, --creds or --nkey)`,
    );
    assert.match(
      await connectError({ nats: url, user: "ardea", password: "wrong" }),
      /^NATS at .* refused the credentials: authorization violation \(check /,
    );
    await connectsWith({ nats: url, user: "ardea", password: "s3cret" });
  } finally {
    await nats.stop();
  }
});

test("token", async () => {
  const nats = await startNats({ jetstream: false, args: ["--auth", "tok-123"] });
  const url = nats.urls[0]!;
  try {
    assert.match(await connectError({ nats: url }), /refused the credentials: authorization violation/);
    assert.match(await connectError({ nats: url, token: "nope" }), /refused the credentials/);
    await connectsWith({ nats: url, token: "tok-123" });
  } finally {
    await nats.stop();
  }
});

test("nkey seed file", async () => {
  const dir = await makeTempDir("ardea-nkey-");
  const user = nkeys.createUser();
  const conf = resolvePath(dir, "server.conf");
  const seedFile = resolvePath(dir, "user.nk");
  await writeTextFile(conf, `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`);
  await writeTextFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
  const nats = await startNats({ jetstream: false, args: ["-c", conf] });
  const url = nats.urls[0]!;
  try {
    assert.match(await connectError({ nats: url }), /refused the credentials/);
    await connectsWith({ nats: url, nkey: seedFile });
    assert.match(
      await connectError({ nats: url, nkey: resolvePath(dir, "missing.nk") }),
      /cannot read --nkey .* file .*missing\.nk/,
    );
  } finally {
    await nats.stop();
    await removePath(dir);
  }
});

test("nobody listening: connection refused; a cluster list connects when the first server is down", async () => {
  const nats = await startNats({ jetstream: false });
  const [deadPort] = await freePorts(1);
  const dead = `nats://127.0.0.1:${deadPort}`;
  try {
    assert.is(await connectError({ nats: dead }), `cannot reach NATS at ${dead}: connection refused`);
    const nc = await connectNats(parseNatsFlags({ nats: `${dead},${nats.urls[0]}` }, {}), {
      name: "test",
      reconnectForever: true,
    });
    try {
      assert.is(`nats://${nc.getServer()}`, nats.urls[0]);
    } finally {
      await nc.close();
    }
  } finally {
    await nats.stop();
  }
});

test("closeNats ends a connection that reconnects forever to a server that is gone, within its bound", async () => {
  const nats = await startNats({ jetstream: false });
  const nc = await connectNats(parseNatsFlags({ nats: nats.urls[0] }, {}), { name: "test", reconnectForever: true });
  nc.subscribe("x.>", { callback: () => {} });
  nc.publish("x.1", new Uint8Array(10));
  await nats.stop(); // the connection now tries to reconnect, forever
  nc.publish("x.2", new Uint8Array(10)); // pending: a drain would wait for a server to flush to
  const started = performance.now();
  await closeNats(nc, 500);
  const ms = performance.now() - started;
  assert.ok(nc.isClosed(), "closed");
  assert.ok(ms < 3000, `closeNats took ${Math.round(ms)} ms`);
  await closeNats(nc, 500); // again: a no-op
});

test("acrossReconnects: a KV write issued while the server is down is answered soon after it is back, not at the request timeout", async () => {
  const nats = await startNats({ jetstream: true });
  const nc = await connectNats(parseNatsFlags({ nats: nats.urls[0] }, {}), { name: "test", reconnectForever: true });
  try {
    const kv = await nc.jetstream().views.kv("across", { history: 1 });
    await kv.put("k", new TextEncoder().encode("before"));
    const restarted = nats.restartServer(0, { downMs: 800 });
    await new Promise((r) => setTimeout(r, 300)); // the server is down now
    const started = performance.now();
    await acrossReconnects(nc, () => kv.put("k", new TextEncoder().encode("after")));
    const ms = performance.now() - started;
    await restarted;
    // A bare kv.put here waits out its 5 s request timeout: its request went out while the server was away.
    assert.ok(ms < 4000, `the write took ${Math.round(ms)} ms`);
    const e = await acrossReconnects(nc, () => kv.get("k"));
    assert.is(new TextDecoder().decode(e!.value), "after");
  } finally {
    await closeNats(nc);
    await nats.stop();
  }
});

test("TLS with certificates made here: no CA, wrong CA, client certificate", async () => {
  const dir = await makeTempDir("ardea-tls-");
  const p = (name: string) => resolvePath(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=ardea-test-ca",
    );
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "other.key",
      "-out",
      "other.pem",
      "-days",
      "1",
      "-subj",
      "/CN=other-ca",
    );
    await writeTextFile(p("san.cnf"), "subjectAltName=IP:127.0.0.1\n");
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "1",
      "-extfile",
      "san.cnf",
    );
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "client.key",
      "-out",
      "client.csr",
      "-subj",
      "/CN=client",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      "client.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "client.pem",
      "-days",
      "1",
    );

    const tls = ["--tls", "--tlscert", p("server.pem"), "--tlskey", p("server.key")];
    const nats = await startNats({ jetstream: false, args: tls });
    const url = nats.urls[0]!;
    try {
      assert.match(
        await connectError({ nats: url }),
        new RegExp(`^TLS with NATS at ${url} failed: .*certificate.* \\(pass --tls-ca`),
      );
      assert.match(
        await connectError({ nats: url, "tls-ca": p("other.pem") }),
        /^TLS with NATS at .* failed: .* \(check --tls-ca/,
      );
      await connectsWith({ nats: url, "tls-ca": p("ca.pem") });
      await connectsWith({ nats: url.replace("nats://", "tls://"), "tls-ca": p("ca.pem") });
    } finally {
      await nats.stop();
    }

    const mutual = await startNats({ jetstream: false, args: [...tls, "--tlsverify", "--tlscacert", p("ca.pem")] });
    try {
      const m = mutual.urls[0]!;
      await connectsWith({ nats: m, "tls-ca": p("ca.pem"), "tls-cert": p("client.pem"), "tls-key": p("client.key") });
    } finally {
      await mutual.stop();
    }

    const plain = await startNats({ jetstream: false });
    try {
      assert.match(await connectError({ nats: plain.urls[0]!, "tls-ca": p("ca.pem") }), /does not offer TLS/);
    } finally {
      await plain.stop();
    }
  } finally {
    await removePath(dir);
  }
});

test.run();

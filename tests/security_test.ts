// timeout: 240
// What a hostile user found (issue 10). The tracker's HTTP side runs in a
// child process of this runtime (tests/fixtures/tracker_server.ts, a tracker
// with one stand-in topology) so that its memory can be read from /proc:
// control POSTs a cross-site form could send, request bodies read whole
// before any check, requests that could not be parsed answered 500 with a
// stack in the log. Then NATS passwords in error messages, through the
// library and through the `ardea` command.
import { test } from "../testing/harness.ts";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import net from "node:net";
import { Tracker } from "../tracker/mod.ts";
import { emptyStatsSnapshot } from "../metrics/snapshot.ts";
import { ardeaRoot, type ChildHandle, resolvePath, scriptCommand, serveHttp, spawnProcess } from "../runtime/mod.ts";
import {
  connectNats,
  NatsConnectError,
  NatsSettingsError,
  parseNatsFlags,
  redactUrl,
} from "../transport/nats_connect.ts";
import { collect, runArdea } from "../testing/child.ts";
import { freePorts, startNats } from "../testing/nats_server.ts";
import { sleep } from "../testing/wait.ts";

// nats.js's node transport under Deno: a late ECONNRESET of a refused
// connection can reach a socket nats.js already let go (see nats_connect_test.ts).
const deno = globalThis as {
  addEventListener?: (type: "error", f: (e: { error?: unknown; preventDefault(): void }) => void) => void;
};
deno.addEventListener?.("error", (e) => {
  if ((e.error as { code?: unknown } | undefined)?.code === "ECONNRESET") e.preventDefault();
});

const SECRET = "s3cret";

/** This runtime running `file` (TypeScript) as a child. */
function runScript(file: string): ChildHandle {
  const { cmd, args } = scriptCommand(resolvePath(ardeaRoot(), file));
  return spawnProcess(cmd, args, { cwd: ardeaRoot(), stdio: "pipe" });
}

let child: ChildHandle;
let port = 0;
const childErr: string[] = [];

test.before(async () => {
  child = runScript("tests/fixtures/tracker_server.ts");
  const out: string[] = [];
  void collect(child.lines("stdout"), out);
  void collect(child.lines("stderr"), childErr);
  const end = Date.now() + 30_000;
  while (port === 0) {
    const line = out.find((l) => l.startsWith("port "));
    if (line !== undefined) port = Number(line.slice(5));
    else if (Date.now() > end) throw new Error(`the tracker fixture did not start:\n${childErr.join("\n")}`);
    else await sleep(50);
  }
});

test.after(() => {
  child?.kill("SIGKILL");
});

const url = (path: string) => `http://127.0.0.1:${port}${path}`;

// deno-lint-ignore no-explicit-any
async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url(path), init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body };
}

const stubState = async () => (await call("/api/v1/topologies/stub")).body.state as string;

/** Sends `text` as is on a new connection; the status line and body of the answer. */
function raw(text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d));
    s.on("error", reject);
    s.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0);
      resolve({ status, body: got.slice(got.indexOf("\r\n\r\n") + 4) });
    });
    s.write(text.replaceAll("\n", "\r\n").replaceAll("PORT", String(port)));
  });
}

/**
 * POSTs `mb` MiB to `path` over a raw socket, written as the server takes
 * them (never all in memory here); declared with Content-Length or chunked.
 * Resolves with the answer's status once the server has answered and the
 * connection ended (the server may cut it before the body is through).
 */
function bigPost(
  path: string,
  mb: number,
  opts: { declared: boolean; headers?: string },
): Promise<{ status: number; ms: number; sentMb: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const total = mb * 1024 * 1024;
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    let sent = 0;
    let answeredAt = 0;
    s.on("data", (d) => {
      if (got === "") answeredAt = Date.now();
      got += d;
    });
    s.on("error", () => {});
    s.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0);
      resolve({ status, ms: (answeredAt || Date.now()) - started, sentMb: sent / 1024 / 1024 });
    });
    const length = opts.declared ? `Content-Length: ${total}` : "Transfer-Encoding: chunked";
    s.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\n${
        opts.headers ?? ""
      }${length}\r\n\r\n`,
    );
    const chunk = new Uint8Array(64 * 1024).fill(97);
    const frame = opts.declared
      ? chunk
      : Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    const pump = () => {
      while (sent < total && !s.destroyed) {
        sent += chunk.length;
        if (!s.write(frame)) return void s.once("drain", pump);
      }
      if (!s.destroyed) s.end(opts.declared ? "" : "0\r\n\r\n");
    };
    pump();
  });
}

/** Peak resident memory of the tracker process so far (MiB). */
function peakMb(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

// ----------------------------------------------------------- cross-site control

test("control POSTs need X-Ardea-Control; Origin null and other sites are refused; the web page's request works", async () => {
  const kill = "/api/v1/topologies/stub/kill";
  // What a form on any page can send (from a sandboxed frame its Origin is "null").
  const form = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1" };
  const plain = await call(kill, form);
  assert.is(plain.status, 403, JSON.stringify(plain.body));
  assert.is(plain.body.error.code, "CONTROL_HEADER_MISSING");
  assert.match(plain.body.error.message, /X-Ardea-Control: 1/);
  const sandboxed = await call(kill, { ...form, headers: { ...form.headers, origin: "null" } });
  assert.is(sandboxed.status, 403);
  // Even with the header (which a browser sends cross-site only after a preflight this server never grants).
  const nullWithHeader = await call(kill, { method: "POST", headers: { origin: "null", "x-ardea-control": "1" } });
  assert.is(nullWithHeader.status, 403);
  assert.is(nullWithHeader.body.error.code, "CROSS_ORIGIN");
  const foreign = await call(kill, {
    method: "POST",
    headers: { origin: "http://evil.example", "x-ardea-control": "1" },
  });
  assert.is(foreign.status, 403);
  assert.is(await stubState(), "RUNNING");
  // As ui/app.js sends it: same origin, the header, no body.
  const off = await call("/api/v1/topologies/stub/deactivate", {
    method: "POST",
    headers: { origin: url(""), "x-ardea-control": "1" },
  });
  assert.is(off.status, 200, JSON.stringify(off.body));
  assert.is(off.body.state, "PAUSED");
  const on = await call("/api/v1/topologies/stub/activate", { method: "POST", headers: { "x-ardea-control": "1" } });
  assert.is(on.body.state, "RUNNING");
});

test("ui/app.js sends X-Ardea-Control with its control POSTs", () => {
  const app = readFileSync(resolvePath(ardeaRoot(), "ui", "app.js"), "utf8");
  assert.match(app, /method: "POST",[\s\S]{0,200}"x-ardea-control": "1"/);
});

// ----------------------------------------------------------- request bodies

test("large bodies: 413 (or 403) at once, not read whole; the tracker's memory does not grow by the body's size", async () => {
  const before = peakMb();
  const kill = "/api/v1/topologies/stub/kill";
  const control = "X-Ardea-Control: 1\r\n";
  const declared = await bigPost(kill, 256, { declared: true, headers: control });
  assert.is(declared.status, 413);
  const refused = await bigPost(kill, 256, { declared: false });
  assert.is(refused.status, 403, "the control header is checked before the body is read");
  const chunked = await bigPost(kill, 256, { declared: false, headers: control });
  assert.is(chunked.status, 413, "a control request takes no body");
  const elsewhere = await bigPost("/api/v1/topologies", 256, { declared: false });
  assert.is(elsewhere.status, 405);
  for (const r of [declared, refused, chunked, elsewhere]) assert.ok(r.ms < 10_000, `answered after ${r.ms} ms`);
  const grown = peakMb() - before;
  assert.ok(grown < 100, `the tracker's peak memory grew by ${grown.toFixed(0)} MiB for 256 MiB bodies`);
  assert.is(await stubState(), "RUNNING");
  // A small body is harmless: read and ignored.
  const small = await call("/api/v1/topologies/stub/deactivate", {
    method: "POST",
    headers: { "x-ardea-control": "1" },
    body: "{}",
  });
  assert.is(small.status, 200);
  await call("/api/v1/topologies/stub/activate", { method: "POST", headers: { "x-ardea-control": "1" } });
});

test("serveHttp: a handler reads a body within maxBodyBytes; past it the read fails and the answer is 413", async () => {
  const server = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1000,
    handler: async (request) => new Response(`read ${(await request.text()).length}`),
  });
  try {
    const at = `http://127.0.0.1:${server.port}/`;
    const small = await fetch(at, { method: "POST", body: "x".repeat(999) });
    assert.is(await small.text(), "read 999");
    const declared = await fetch(at, { method: "POST", body: "x".repeat(1001) });
    assert.is(declared.status, 413);
    await declared.body?.cancel();
    // No Content-Length: the bound holds while the handler reads.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(400).fill(97));
        c.close();
      },
    });
    const chunked = await fetch(at, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    assert.is(chunked.status, 413);
    await chunked.body?.cancel();
    const again = await fetch(at, { method: "POST", body: "y".repeat(10) });
    assert.is(await again.text(), "read 10");
  } finally {
    await server.close();
  }
});

// ----------------------------------------------------------- bad requests

test("requests that cannot be parsed are 400 with a short message, and no stack is logged", async () => {
  const cases: Array<[string, string]> = [
    ["malformed %-escape", "GET /api/v1/topologies/%ZZ HTTP/1.1\nHost: 127.0.0.1:PORT\nConnection: close\n\n"],
    [
      "malformed %-escape in a control path",
      "POST /api/v1/topologies/%E0%A4%A/kill HTTP/1.1\nHost: 127.0.0.1:PORT\nContent-Length: 0\nConnection: close\n\n",
    ],
    [
      "malformed Origin",
      "POST /api/v1/topologies/stub/kill HTTP/1.1\nHost: 127.0.0.1:PORT\nOrigin: http://[\nX-Ardea-Control: 1\nContent-Length: 0\nConnection: close\n\n",
    ],
    ["malformed Host", "GET / HTTP/1.1\nHost: [\nConnection: close\n\n"],
    ["a Host that makes no URL", "GET / HTTP/1.1\nHost: a b\nConnection: close\n\n"],
    ["TRACE", "TRACE / HTTP/1.1\nHost: 127.0.0.1:PORT\nConnection: close\n\n"],
  ];
  for (const [what, request] of cases) {
    const r = await raw(request);
    assert.is(r.status, 400, `${what}: ${r.body}`);
    assert.ok(r.body.length < 200 && !/\bat .*:\d+:\d+/.test(r.body), `${what}: ${r.body}`);
  }
  assert.is(await stubState(), "RUNNING");
  await sleep(200);
  assert.not.ok(childErr.some((l) => /handler failed|^\s+at /.test(l)), childErr.join("\n"));
});

test("Tracker.handle: a malformed %-escape or Origin is 400, not an exception", async () => {
  const tracker = new Tracker();
  tracker.add({
    name: "t",
    state: "RUNNING",
    stats: () => emptyStatsSnapshot("t", "RUNNING"),
    kill: () => Promise.resolve(),
    activate: () => {},
    deactivate: () => {},
  });
  const bad = await tracker.handle(new Request("http://127.0.0.1:8889/api/v1/topologies/%ZZ"));
  assert.is(bad.status, 400);
  assert.is((await bad.json()).error.code, "BAD_REQUEST");
  const origin = await tracker.handle(
    new Request("http://127.0.0.1:8889/api/v1/topologies/t/kill", {
      method: "POST",
      headers: { origin: "not a url", "x-ardea-control": "1" },
    }),
  );
  assert.is(origin.status, 400);
  assert.is(tracker.get("t")!.state, "RUNNING");
});

// ----------------------------------------------------------- NATS credentials

test("redactUrl hides user-info in URLs and in text", () => {
  assert.is(redactUrl("nats://admin:s3cret@127.0.0.1:4222"), "nats://admin:***@127.0.0.1:4222");
  assert.is(redactUrl("tls://tok-123@host:4222"), "tls://***@host:4222");
  assert.is(redactUrl("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
  assert.is(redactUrl("at nats://a:b@h:1, nats://c:d@h:2"), "at nats://a:***@h:1, nats://c:***@h:2");
  assert.is(redactUrl("nats://a:p@ss@h:1"), "nats://a:***@h:1", "an @ in the password");
});

async function connectMessage(nats: string, extra: Record<string, string> = {}): Promise<string> {
  try {
    const nc = await connectNats(parseNatsFlags({ nats, ...extra }, {}), { name: "test", timeoutMs: 3000 });
    await nc.close();
  } catch (e) {
    assert.ok(e instanceof NatsConnectError || e instanceof NatsSettingsError, String(e));
    return (e as Error).message;
  }
  throw new Error(`connecting to ${nats} worked`);
}

test("library: refused connection, refused credentials and bad URLs never print the password", async () => {
  const [closed] = await freePorts(1);
  const refused = await connectMessage(`nats://admin:${SECRET}@127.0.0.1:${closed}`);
  assert.match(refused, /cannot reach NATS at nats:\/\/admin:\*\*\*@127\.0\.0\.1:\d+: connection refused/);
  assert.not.match(refused, SECRET);
  const nats = await startNats({ jetstream: false, args: ["--user", "admin", "--pass", "other"] });
  try {
    const server = `127.0.0.1:${nats.servers[0]!.port}`;
    const auth = await connectMessage(`nats://admin:${SECRET}@${server}`);
    assert.match(auth, /refused the credentials/);
    assert.match(auth, /credentials in the URL are not used/);
    assert.not.match(auth, SECRET);
    const token = await connectMessage(`nats://${server}`, { token: SECRET });
    assert.not.match(token, SECRET);
    const wrong = await connectMessage(`nats://${server}`, { user: "admin", password: SECRET });
    assert.not.match(wrong, SECRET);
  } finally {
    await nats.stop();
  }
  const badUrl = await connectMessage(`nats://admin:${SECRET}@127.0.0.1:4222/path`);
  assert.match(badUrl, /is not a NATS URL/);
  assert.not.match(badUrl, SECRET);
});

async function ardea(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runArdea(args, { ARDEA_DEBUG: "", ARDEA_NATS_URL: "" });
  return { code: r.code, out: [...r.stdout, ...r.stderr].join("\n") };
}

test("ardea list / status / submit with a password in --nats: the messages hide it", async () => {
  const [closed] = await freePorts(1);
  for (
    const args of [
      ["list", "--nats", `nats://admin:${SECRET}@127.0.0.1:${closed}`],
      ["submit", "tests/fixtures/cli_finite.ts", "--nats", `nats://admin:${SECRET}@127.0.0.1:${closed}`],
      ["list", "--nats", `nats://admin:${SECRET}@127.0.0.1:4222/x`],
    ]
  ) {
    const r = await ardea(args);
    assert.ok(r.code !== 0, r.out);
    assert.match(r.out, /admin:\*\*\*@127\.0\.0\.1/, r.out);
    assert.not.match(r.out, SECRET, r.out);
  }
  // A server without authentication takes the connection (nats.js ignores URL credentials): `status` names it.
  const nats = await startNats({ jetstream: true });
  try {
    const r = await ardea(["status", "nope", "--nats", `nats://admin:${SECRET}@127.0.0.1:${nats.servers[0]!.port}`]);
    assert.is(r.code, 1, r.out);
    assert.match(r.out, /no topology "nope"/, r.out);
    assert.not.match(r.out, SECRET, r.out);
    const auth = await startNats({ jetstream: false, args: ["--user", "admin", "--pass", "other"] });
    try {
      const a = await ardea(["list", "--nats", `nats://admin:${SECRET}@127.0.0.1:${auth.servers[0]!.port}`]);
      assert.is(a.code, 1, a.out);
      assert.match(a.out, /refused the credentials/, a.out);
      assert.not.match(a.out, SECRET, a.out);
    } finally {
      await auth.stop();
    }
  } finally {
    await nats.stop();
  }
});

test.run();

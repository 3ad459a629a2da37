/**
 * How a process of Ardea reaches NATS: connection settings from command-line
 * flags and `ARDEA_NATS_*` environment variables, parsed with zod once, and a
 * `connect` whose failures are one-line errors that name the server and the
 * fix.
 *
 * Flags win over the environment. Credentials are taken as a group: when any
 * of `--creds`, `--nkey`, `--user`, `--password` or `--token` is given, the
 * credential variables of the environment are ignored, so a flag never mixes
 * with a stale variable.
 *
 * | flag | environment | meaning |
 * | --- | --- | --- |
 * | `--nats URL[,URL…]` | `ARDEA_NATS_URL` | servers of the cluster |
 * | `--creds FILE` | `ARDEA_NATS_CREDS` | user JWT and nkey seed (`.creds`) |
 * | `--nkey FILE` | `ARDEA_NATS_NKEY` | nkey seed file |
 * | `--user`, `--password` | `ARDEA_NATS_USER`, `ARDEA_NATS_PASSWORD` | user and password |
 * | `--token` | `ARDEA_NATS_TOKEN` | token |
 * | `--tls-ca`, `--tls-cert`, `--tls-key` | `ARDEA_NATS_TLS_CA`, `…_CERT`, `…_KEY` | PEM files |
 *
 * @module
 */
import { z } from "zod";
import {
  connect,
  type ConnectionOptions,
  credsAuthenticator,
  ErrorCode,
  type NatsConnection,
  NatsError,
  nkeyAuthenticator,
} from "nats";
import { readTextFile, resolvePath } from "../runtime/mod.ts";
import { ArdeaError } from "../topology/errors.ts";

/** The NATS connection flags, by name without the leading `--`. */
export const NATS_FLAGS = [
  "nats",
  "creds",
  "nkey",
  "user",
  "password",
  "token",
  "tls-ca",
  "tls-cert",
  "tls-key",
] as const;

/** One of {@link NATS_FLAGS}. */
export type NatsFlagName = typeof NATS_FLAGS[number];

/** Raw values of the NATS connection flags, as given on the command line. */
export type NatsFlags = Partial<Record<NatsFlagName, string>>;

const ENV: Readonly<Record<NatsFlagName, string>> = {
  nats: "ARDEA_NATS_URL",
  creds: "ARDEA_NATS_CREDS",
  nkey: "ARDEA_NATS_NKEY",
  user: "ARDEA_NATS_USER",
  password: "ARDEA_NATS_PASSWORD",
  token: "ARDEA_NATS_TOKEN",
  "tls-ca": "ARDEA_NATS_TLS_CA",
  "tls-cert": "ARDEA_NATS_TLS_CERT",
  "tls-key": "ARDEA_NATS_TLS_KEY",
};

const CREDENTIAL_FLAGS: readonly NatsFlagName[] = ["creds", "nkey", "user", "password", "token"];

/** Environment lookup: a function such as runtime `env`, or a plain record. */
export type EnvSource = ((name: string) => string | undefined) | Readonly<Record<string, string | undefined>>;

const URL_RE = /^(nats|tls|ws|wss):\/\/[^\s,/]+(:\d+)?\/?$|^[A-Za-z0-9.[\]:-]+:\d+$/;

const settingsSchema = z.object({
  servers: z.array(z.string().regex(URL_RE, "is not a NATS URL (nats://host:port)")).min(1),
  creds: z.string().min(1).optional(),
  nkey: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  token: z.string().min(1).optional(),
  tls: z.object({
    ca: z.string().min(1).optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
  }).optional(),
});

/** Parsed NATS connection settings. File options hold paths; files are read by {@link connectNats}. */
export type NatsSettings = z.infer<typeof settingsSchema>;

/**
 * NATS settings that cannot be used: a missing URL, a bad URL, half of a
 * user/password or cert/key pair, two kinds of credentials at once. The
 * message names the flag and its environment variable.
 *
 * @example
 * ```ts
 * try { parseNatsFlags({}, {}); } catch (e) { if (e instanceof NatsSettingsError) console.error(e.message); }
 * ```
 */
export class NatsSettingsError extends ArdeaError {
  constructor(message: string) {
    super("BAD_NATS_SETTINGS", message);
  }
}

/**
 * NATS could not be reached or refused us. The message is one line naming
 * the server(s) and, where there is one, the fix.
 *
 * @example
 * ```ts
 * const settings = parseNatsFlags({}, {});
 * try { await connectNats(settings, { name: "ardea list" }); } catch (e) { if (e instanceof NatsConnectError) console.error(e.message); }
 * ```
 */
export class NatsConnectError extends ArdeaError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

function lookup(env: EnvSource, name: string): string | undefined {
  const v = typeof env === "function" ? env(name) : env[name];
  return v === undefined || v === "" ? undefined : v;
}

const USERINFO_RE = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/,]*)@/gi;

/**
 * `url` with the credentials of its user-info hidden, for messages and logs:
 * `nats://admin:s3cret@host:4222` reads `nats://admin:***@host:4222`, a
 * token (`nats://tok@host`) `nats://***@host`. Applied to any text, it hides
 * the user-info of every URL in it. Every message that shows a NATS server
 * goes through here.
 *
 * @example
 * ```ts
 * redactUrl("nats://admin:s3cret@127.0.0.1:4222"); // "nats://admin:***@127.0.0.1:4222"
 * redactUrl("nats://127.0.0.1:4222"); // unchanged
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_RE, (_all, scheme: string, info: string) => {
    const colon = info.indexOf(":");
    return `${scheme}${colon < 0 ? "***" : `${info.slice(0, colon)}:***`}@`;
  });
}

/** The servers of `settings` for a message, credentials hidden. */
function serversShown(settings: NatsSettings): string {
  return settings.servers.map(redactUrl).join(", ");
}

/** `text` without the secrets of `settings` (URL user-info, password, token). */
function scrub(text: string, settings: NatsSettings): string {
  let out = redactUrl(text);
  for (const secret of [settings.password, settings.token]) {
    if (secret !== undefined && secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}

const flagName = (f: NatsFlagName) => `--${f} (or ${ENV[f]})`;

/**
 * Parses NATS connection flags, falling back on `ARDEA_NATS_*` variables.
 * Throws {@link NatsSettingsError}.
 *
 * @example
 * ```ts
 * const settings = parseNatsFlags({ nats: "nats://127.0.0.1:4222,nats://127.0.0.1:4223", user: "a", password: "s" }, {});
 * settings.servers; // ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]
 * ```
 */
export function parseNatsFlags(flags: NatsFlags, env: EnvSource): NatsSettings {
  const useEnvCredentials = CREDENTIAL_FLAGS.every((f) => flags[f] === undefined);
  const get = (f: NatsFlagName): string | undefined => {
    const v = flags[f];
    if (v !== undefined) return v;
    if (!useEnvCredentials && CREDENTIAL_FLAGS.includes(f)) return undefined;
    return lookup(env, ENV[f]);
  };

  const url = get("nats");
  if (url === undefined) throw new NatsSettingsError(`no NATS server: pass --nats nats://host:4222 or set ${ENV.nats}`);
  const servers = url.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (servers.length === 0) throw new NatsSettingsError(`--nats "${redactUrl(url)}" names no server`);

  const user = get("user"), password = get("password");
  if (user !== undefined && password === undefined) {
    throw new NatsSettingsError(`${flagName("user")} needs ${flagName("password")}`);
  }
  if (password !== undefined && user === undefined) {
    throw new NatsSettingsError(`${flagName("password")} needs ${flagName("user")}`);
  }
  const kinds = [
    get("creds") !== undefined && "--creds",
    get("nkey") !== undefined && "--nkey",
    user !== undefined && "--user/--password",
    get("token") !== undefined && "--token",
  ].filter((k): k is string => k !== false);
  if (kinds.length > 1) throw new NatsSettingsError(`give one kind of NATS credentials, not ${kinds.join(" and ")}`);

  const ca = get("tls-ca"), cert = get("tls-cert"), key = get("tls-key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new NatsSettingsError(`${flagName("tls-cert")} and ${flagName("tls-key")} go together`);
  }
  const tls = ca !== undefined || cert !== undefined ? { ca, cert, key } : undefined;

  const r = settingsSchema.safeParse({
    servers,
    creds: get("creds"),
    nkey: get("nkey"),
    user,
    password,
    token: get("token"),
    tls,
  });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const [field, index] = issue.path;
    if (field === "servers" && typeof index === "number") {
      throw new NatsSettingsError(`--nats: "${redactUrl(servers[index]!)}" ${issue.message}`);
    }
    throw new NatsSettingsError(`NATS setting ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return r.data;
}

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** Connection name shown by the server (`ardea list`, `ardea container wc/1`). */
  name: string;
  /** Reconnect forever (containers, masters, workers); otherwise nats.js's default attempts. */
  reconnectForever?: boolean;
  /** Timeout of the first connection, in ms. Default 5000. */
  timeoutMs?: number;
  /**
   * Keep trying an unreachable server this long before giving up (ms; a
   * container started while its server restarts). Default 0: fail at once.
   */
  retryFirstMs?: number;
}

async function readFileFor(flag: NatsFlagName, path: string): Promise<string> {
  try {
    return await readTextFile(path);
  } catch (e) {
    throw new NatsConnectError(
      "BAD_NATS_SETTINGS",
      `cannot read ${flagName(flag)} file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** nats.js connection options for `settings` (reads the credential files). */
async function connectionOptions(settings: NatsSettings, options: ConnectNatsOptions): Promise<ConnectionOptions> {
  const o: ConnectionOptions = {
    servers: settings.servers,
    name: options.name,
    noAsyncTraces: true,
    reconnect: true,
    timeout: options.timeoutMs ?? 5000,
  };
  if (options.reconnectForever === true) {
    o.maxReconnectAttempts = -1;
    // A long-lived process is back soon after its server (default: 2 s between attempts).
    o.reconnectTimeWait = 250;
  }
  const enc = new TextEncoder();
  if (settings.creds !== undefined) {
    o.authenticator = credsAuthenticator(enc.encode(await readFileFor("creds", settings.creds)));
  }
  if (settings.nkey !== undefined) {
    const seed = (await readFileFor("nkey", settings.nkey)).split(/\r?\n/).map((l) => l.trim()).find((l) =>
      l.startsWith("SU")
    );
    if (seed === undefined) {
      throw new NatsConnectError(
        "BAD_NATS_SETTINGS",
        `${flagName("nkey")} file ${settings.nkey} holds no user nkey seed (a line starting with SU)`,
      );
    }
    o.authenticator = nkeyAuthenticator(enc.encode(seed));
  }
  if (settings.user !== undefined) {
    o.user = settings.user;
    o.pass = settings.password ?? "";
  }
  if (settings.token !== undefined) o.token = settings.token;
  if (settings.tls !== undefined) {
    // The node transport of nats.js reads these files itself. It sends no
    // server name for an IP address, so node checks the certificate against
    // "localhost"; with one host in the list, `host` makes it check that one.
    const hosts = new Set(settings.servers.map(hostOf));
    o.tls = {
      ...(settings.tls.ca !== undefined ? { caFile: settings.tls.ca } : {}),
      ...(settings.tls.cert !== undefined ? { certFile: settings.tls.cert } : {}),
      ...(settings.tls.key !== undefined ? { keyFile: settings.tls.key } : {}),
      ...(hosts.size === 1 ? { host: [...hosts][0] } : {}),
    } as NonNullable<ConnectionOptions["tls"]>;
  }
  return o;
}

function hostOf(server: string): string {
  const hostPort = server.replace(/^[a-z]+:\/\//, "").replace(/\/$/, "");
  const bracketed = /^\[([^\]]+)\]/.exec(hostPort);
  if (bracketed) return bracketed[1]!;
  const colon = hostPort.lastIndexOf(":");
  return colon < 0 ? hostPort : hostPort.slice(0, colon);
}

function hasCredentials(s: NatsSettings): boolean {
  return s.creds !== undefined || s.nkey !== undefined || s.user !== undefined || s.token !== undefined;
}

const TLS_HINT =
  /certificate|self[- ]signed|tls|ssl|handshake|x509|unable to verify|wrong version number|EPROTO|ERR_TLS|alert/i;

/**
 * Turns a nats.js or socket error into a one-line {@link NatsConnectError};
 * its message shows no credentials (see {@link redactUrl}).
 */
export function describeConnectError(error: unknown, settings: NatsSettings): NatsConnectError {
  const e = describeConnectErrorRaw(error, settings);
  return new NatsConnectError(e.code, scrub(e.message, settings), { cause: error });
}

function describeConnectErrorRaw(error: unknown, settings: NatsSettings): NatsConnectError {
  const where = serversShown(settings);
  const err = error instanceof Error ? error : new Error(String(error));
  const code = error instanceof NatsError ? error.code : (error as { code?: unknown }).code;
  const detail = (err.message || String(code ?? "unknown error")).split("\n")[0]!.replace(/^'|'$/g, "");
  if (
    code === ErrorCode.AuthorizationViolation || code === ErrorCode.AuthenticationExpired ||
    code === ErrorCode.BadAuthentication || /authoriz|authentic/i.test(detail)
  ) {
    const inUrl = settings.servers.some((server) => redactUrl(server) !== server);
    const fix = hasCredentials(settings)
      ? "check --user/--password, --token, --creds or --nkey"
      : `pass --user/--password, --token, --creds or --nkey${inUrl ? "; credentials in the URL are not used" : ""}`;
    return new NatsConnectError(
      "NATS_AUTH",
      `NATS at ${where} refused the credentials: ${detail.toLowerCase()} (${fix})`,
      { cause: error },
    );
  }
  if (code === ErrorCode.ServerOptionNotAvailable && /tls/i.test(detail)) {
    return new NatsConnectError(
      "NATS_TLS",
      `NATS at ${where} does not offer TLS (drop --tls-ca/--tls-cert/--tls-key, or enable TLS on the server)`,
      { cause: error },
    );
  }
  if (code === ErrorCode.Tls || TLS_HINT.test(detail) || TLS_HINT.test(String(code ?? ""))) {
    const fix = settings.tls === undefined
      ? "pass --tls-ca with the CA of the server's certificate, and --tls-cert/--tls-key if it asks for a client certificate"
      : "check --tls-ca, --tls-cert and --tls-key";
    return new NatsConnectError("NATS_TLS", `TLS with NATS at ${where} failed: ${detail} (${fix})`, { cause: error });
  }
  if (code === ErrorCode.ConnectionRefused || code === "ECONNREFUSED" || /refused/i.test(detail)) {
    return new NatsConnectError("NATS_UNREACHABLE", `cannot reach NATS at ${where}: connection refused`, {
      cause: error,
    });
  }
  if (code === ErrorCode.ConnectionTimeout || code === ErrorCode.Timeout) {
    // A TLS server that wants a client certificate never answers a client without one.
    const hint = settings.tls !== undefined && settings.tls.cert === undefined
      ? " (if the server asks for a client certificate, pass --tls-cert and --tls-key)"
      : "";
    return new NatsConnectError("NATS_UNREACHABLE", `cannot reach NATS at ${where}: timed out${hint}`, {
      cause: error,
    });
  }
  return new NatsConnectError("NATS_UNREACHABLE", `cannot connect to NATS at ${where}: ${detail}`, { cause: error });
}

/**
 * Connects to NATS with `settings`. Throws {@link NatsConnectError} with a
 * one-line message (refused credentials, refused connection, TLS failure).
 *
 * @example
 * ```ts
 * const settings = parseNatsFlags({ nats: "nats://127.0.0.1:4222" }, {});
 * const nc = await connectNats(settings, { name: "ardea list" });
 * await nc.close();
 * ```
 */
export async function connectNats(settings: NatsSettings, options: ConnectNatsOptions): Promise<NatsConnection> {
  const o = await connectionOptions(settings, options);
  const until = Date.now() + (options.retryFirstMs ?? 0);
  for (;;) {
    try {
      return await connect(o);
    } catch (e) {
      const error = describeConnectError(e, settings);
      if (error.code !== "NATS_UNREACHABLE" || Date.now() >= until) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** How long {@link closeNats} lets a drain run before it closes outright (ms). */
const CLOSE_DRAIN_MS = 5000;

/**
 * Drains `nc` (pending publishes flushed, subscriptions finished) and closes
 * it, but never hangs: a drain that has not ended after `timeoutMs` (the
 * server is gone and the connection reconnects forever) or that fails is cut
 * short by `close()`. Safe on a closed connection. Every process and
 * component that ends a connection goes through here, so that a NATS server
 * stopped at the wrong moment cannot keep a process alive.
 *
 * @example
 * ```ts
 * const settings = parseNatsFlags({}, {});
 * const nc = await connectNats(settings, { name: "ardea list" });
 * await closeNats(nc);
 * ```
 */
export async function closeNats(nc: NatsConnection, timeoutMs = CLOSE_DRAIN_MS): Promise<void> {
  if (nc.isClosed()) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    nc.drain().then(() => true, () => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!drained && !nc.isClosed()) await nc.close().catch(() => {});
}

/** Per connection, who listens for its reconnects (see {@link onReconnect}). */
const reconnectListeners = new WeakMap<NatsConnection, Set<() => void>>();

/**
 * Calls `fn` each time `nc` reconnects (one status reader per connection,
 * shared by every listener); returns the function that stops it.
 *
 * @example
 * ```ts
 * import type { NatsConnection } from "nats";
 * declare const nc: NatsConnection;
 * const off = onReconnect(nc, () => console.log("back"));
 * off();
 * ```
 */
export function onReconnect(nc: NatsConnection, fn: () => void): () => void {
  let listeners = reconnectListeners.get(nc);
  if (listeners === undefined) {
    const set = listeners = new Set();
    reconnectListeners.set(nc, set);
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") { for (const f of [...set]) f(); }
    })().catch(() => {});
  }
  const listener = () => fn();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const AGAIN = Symbol("again");

/**
 * Runs the request `op` (a JetStream or KV call) and starts it again when
 * the connection reconnects before it has settled: a request published
 * while the server was away, or whose reply was lost with it, gets no answer
 * and would only end at its timeout (5 s by default, for every such call
 * after a NATS server restart), while a request sent after the reconnect is
 * answered at once. The earlier attempt's outcome is ignored. Only for
 * requests that may safely run twice: reads, unconditional writes, and
 * creates whose "already exists" the caller handles.
 *
 * @example
 * ```ts
 * import type { KV, NatsConnection } from "nats";
 * declare const nc: NatsConnection, kv: KV;
 * const entry = await acrossReconnects(nc, () => kv.get("topology.wc"));
 * ```
 */
export async function acrossReconnects<T>(nc: NatsConnection, op: () => Promise<T>): Promise<T> {
  for (;;) {
    let off!: () => void;
    const reconnected = new Promise<typeof AGAIN>((r) => (off = onReconnect(nc, () => r(AGAIN))));
    const attempt = op();
    try {
      const r = await Promise.race([attempt, reconnected]);
      if (r !== AGAIN) return r as T;
    } finally {
      off();
    }
    attempt.catch(() => {}); // lost with the old connection: its timeout no longer matters
  }
}

/**
 * `settings` as `ARDEA_NATS_*` environment variables, for a child process
 * that reads them back with {@link parseNatsFlags}. Every variable is
 * present; unused ones are empty (which reads as unset), so a stale variable
 * inherited from the parent cannot mix in.
 *
 * @example
 * ```ts
 * const env = natsSettingsEnv(parseNatsFlags({ nats: "nats://127.0.0.1:4222", token: "t" }, {}));
 * env.ARDEA_NATS_TOKEN; // "t"
 * ```
 */
export function natsSettingsEnv(settings: NatsSettings): Record<string, string> {
  // Files as absolute paths: the child may run in another directory.
  const file = (p: string | undefined) => (p === undefined ? undefined : resolvePath(p));
  const values: Record<NatsFlagName, string | undefined> = {
    nats: settings.servers.join(","),
    creds: file(settings.creds),
    nkey: file(settings.nkey),
    user: settings.user,
    password: settings.password,
    token: settings.token,
    "tls-ca": file(settings.tls?.ca),
    "tls-cert": file(settings.tls?.cert),
    "tls-key": file(settings.tls?.key),
  };
  const out: Record<string, string> = {};
  for (const f of NATS_FLAGS) out[ENV[f]] = values[f] ?? "";
  return out;
}

/**
 * A tiny HTTP server with web-standard `Request`/`Response` handlers, the
 * same on both runtimes: Deno through `Deno.serve`, Node through `node:http`
 * and a small adapter. Meant for the tracker's REST API and web page, not
 * for heavy traffic.
 *
 * Request bodies are bounded and never read ahead: a request that declares
 * a `Content-Length` above {@link ServeOptions.maxBodyBytes} is answered 413
 * before the handler runs; the handler gets the body as a stream that fails
 * with {@link BodyTooLargeError} (answered 413) once it grows past the bound;
 * and a body the handler did not read is not read at all: the connection is
 * closed after the answer. A request the adapter cannot even turn into a
 * `Request` (a malformed Host, a method such as TRACE) is answered 400,
 * without a stack in the log.
 *
 * @example
 * ```ts
 * const server = await serveHttp({ hostname: "127.0.0.1", port: 0, handler: () => new Response("ok") });
 * console.log(`http://127.0.0.1:${server.port}/`);
 * await server.close();
 * ```
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Readable } from "node:stream";

/** Answers one request. */
export type HttpHandler = (request: Request) => Response | Promise<Response>;

/** Largest request body {@link serveHttp} accepts unless told otherwise (bytes). */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** Interface to listen on, e.g. "127.0.0.1" (loopback) or "0.0.0.0". */
  hostname: string;
  /** TCP port; 0 picks a free one (read it from {@link HttpServer.port}). */
  port: number;
  handler: HttpHandler;
  /** Called with a handler's exception (default: logged to stderr); the client gets a 500. */
  onError?: (error: unknown) => void;
  /**
   * Largest request body, in bytes (default 1 MiB):
   * a larger declared `Content-Length` is answered 413 before the handler
   * runs; a longer body without one fails the handler's read with
   * {@link BodyTooLargeError}, answered 413.
   */
  maxBodyBytes?: number;
}

/** A listening server. */
export interface HttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * A request body grew past {@link ServeOptions.maxBodyBytes} while the
 * handler read it; thrown by the read, answered 413 when the handler lets it
 * through.
 *
 * @example
 * ```ts
 * const handler = async (request: Request) => {
 *   try {
 *     return new Response(`${(await request.text()).length} characters`);
 *   } catch (e) {
 *     if (e instanceof BodyTooLargeError) return new Response("too large", { status: 413 });
 *     throw e;
 *   }
 * };
 * ```
 */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

interface DenoServer {
  readonly addr: { port: number };
  shutdown(): Promise<void>;
  readonly finished: Promise<void>;
}

interface DenoServe {
  serve(
    options: {
      hostname: string;
      port: number;
      signal?: AbortSignal;
      onListen?: (addr: { port: number }) => void;
      onError?: (e: unknown) => Response;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer;
}

function denoServe(): DenoServe | undefined {
  return (globalThis as unknown as { Deno?: DenoServe }).Deno;
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(`${text}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
}

function tooLarge(limit: number): Response {
  return plain(413, `request body too large (at most ${limit} bytes)`, { connection: "close" });
}

function badRequest(): Response {
  return plain(400, "bad request", { connection: "close" });
}

function failure(error: unknown, onError: ServeOptions["onError"], limit: number): Response {
  if (error instanceof BodyTooLargeError) return tooLarge(limit);
  (onError ??
    ((e) => console.error(`[ardea] http handler failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)))(
      error,
    );
  return plain(500, "internal error");
}

/** The declared body length, null when none is declared, NaN when malformed. */
function declaredLength(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
}

/** `body` that fails with {@link BodyTooLargeError} once more than `limit` bytes went through; `onEnd` when it ended within. */
function bounded(body: ReadableStream<Uint8Array>, limit: number, onEnd: () => void): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new BodyTooLargeError(limit));
        else controller.enqueue(chunk);
      },
      flush: onEnd,
    }),
  );
}

/**
 * Listens on `hostname:port` and answers every request with `handler`.
 * Resolves once listening; rejects if the address is taken.
 *
 * @example
 * ```ts
 * const server = await serveHttp({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   handler: (req) => Response.json({ path: new URL(req.url).pathname }),
 * });
 * const body = await (await fetch(`http://127.0.0.1:${server.port}/x`)).json(); // { path: "/x" }
 * await server.close();
 * ```
 */
export function serveHttp(options: ServeOptions): Promise<HttpServer> {
  const deno = denoServe();
  if (deno !== undefined && typeof deno.serve === "function") return serveDeno(deno, options);
  return serveNode(options);
}

function serveDeno(deno: DenoServe, options: ServeOptions): Promise<HttpServer> {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const handler = async (request: Request): Promise<Response> => {
    const length = declaredLength(request.headers.get("content-length"));
    if (length !== null && !(length <= limit)) {
      void request.body?.cancel().catch(() => {});
      return tooLarge(limit);
    }
    // Deno reads a body only as it is consumed; one not declared small is read through a bound.
    let wrapped: Request | undefined;
    let ended = false;
    try {
      new URL(request.url); // built from the Host header, which may not make a URL
      const bound = request.body !== null && length === null && request.method !== "GET" && request.method !== "HEAD";
      if (bound) {
        wrapped = new Request(
          request.url,
          {
            method: request.method,
            headers: request.headers,
            body: bounded(request.body!, limit, () => (ended = true)),
            duplex: "half",
          } as RequestInit,
        );
      }
    } catch {
      void request.body?.cancel().catch(() => {});
      return badRequest();
    }
    if (wrapped === undefined) return await answer(request);
    const response = await answer(wrapped);
    if (ended) return response;
    // A body left unread is not read: the connection ends with the answer.
    void wrapped.body?.cancel().catch(() => {});
    return withConnectionClose(response);
  };
  const answer = async (request: Request): Promise<Response> => {
    try {
      return await options.handler(request);
    } catch (e) {
      return failure(e, options.onError, limit);
    }
  };
  return new Promise((resolve, reject) => {
    try {
      const ac = new AbortController();
      const server = deno.serve(
        {
          hostname: options.hostname,
          port: options.port,
          onListen: () => {},
          signal: ac.signal,
          onError: (e) => failure(e, options.onError, limit),
        },
        handler,
      );
      resolve({
        port: server.addr.port,
        close: async () => {
          ac.abort();
          await server.finished;
        },
      });
    } catch (e) {
      reject(e);
    }
  });
}

/** The request's body as a stream read on demand, failing past `limit` bytes; null when it has none. */
function nodeBody(req: IncomingMessage, limit: number): ReadableStream<Uint8Array> | null {
  const length = declaredLength(req.headers["content-length"]);
  if (
    req.method === "GET" || req.method === "HEAD" || (length === 0 && req.headers["transfer-encoding"] === undefined)
  ) return null;
  if (length === null && req.headers["transfer-encoding"] === undefined) return null;
  // Stopping early must leave the socket open for the answer.
  const chunks = req.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done === true) return controller.close();
      seen += next.value.byteLength;
      if (seen > limit) controller.error(new BodyTooLargeError(limit));
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    },
    cancel() {
      void chunks.return?.();
    },
  });
}

/** `req` as a web `Request`; throws on what `Request` refuses (a malformed Host, a TRACE). */
function toRequest(req: IncomingMessage, limit: number): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const body = nodeBody(req, limit);
  const init = { method: req.method ?? "GET", headers, ...(body === null ? {} : { body, duplex: "half" }) };
  return new Request(new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`), init as RequestInit);
}

async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    const prev = headers[key];
    headers[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  });
  res.writeHead(response.status, response.statusText, headers);
  if (head || response.body === null) {
    res.end();
    return;
  }
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  await new Promise<void>((resolve, reject) => {
    body.on("error", reject);
    res.on("close", () => resolve());
    body.pipe(res);
  });
}

async function answerNode(req: IncomingMessage, options: ServeOptions, limit: number): Promise<Response> {
  const length = declaredLength(req.headers["content-length"]);
  if (length !== null && !(length <= limit)) return tooLarge(limit);
  let request: Request;
  try {
    request = toRequest(req, limit);
  } catch {
    return badRequest();
  }
  try {
    return await options.handler(request);
  } catch (e) {
    return failure(e, options.onError, limit);
  }
}

function withConnectionClose(response: Response): Response {
  const r = new Response(response.body, response);
  r.headers.set("connection", "close");
  return r;
}

/** How long a connection whose request body was left unread is drained before it is cut. */
const LINGER_MS = 2000;

/** How long close() waits for requests in progress before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

function serveNode(options: ServeOptions): Promise<HttpServer> {
  let inFlight = 0;
  let drained: (() => void) | null = null;
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    inFlight++;
    res.on("close", () => {
      if (--inFlight === 0) drained?.();
    });
    void (async () => {
      let response = await answerNode(req, options, limit);
      // A body left unread is not read: the answer ends the connection.
      if (!req.complete) {
        response = withConnectionClose(response);
        // Node ends such a connection with destroySoon() once the answer is
        // written; with the client's unread bytes still arriving, the kernel
        // then resets it and the client may lose the answer. A lingering
        // close instead: end our side, read and drop what the client still
        // sends for a moment (nothing is kept), then cut it.
        const socket = req.socket;
        socket.destroySoon = () => {
          socket.end();
          socket.on("data", () => {});
          socket.resume();
          setTimeout(() => socket.destroy(), LINGER_MS).unref();
        };
      }
      try {
        await writeResponse(res, response, req.method === "HEAD");
      } catch {
        res.destroy();
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : options.port;
      resolve({
        port,
        close: async () => {
          const closed = new Promise<void>((done) => server.close(() => done()));
          // Answers in progress (a kill that ends the process's last topology) are finished first.
          if (inFlight > 0) {
            let timer: ReturnType<typeof setTimeout> | undefined;
            await Promise.race([
              new Promise<void>((r) => (drained = r)),
              new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS))),
            ]);
            clearTimeout(timer);
          }
          server.closeAllConnections();
          await closed;
        },
      });
    });
  });
}

/**
 * A tiny HTTP server with web-standard `Request`/`Response` handlers, the
 * same on both runtimes: Deno through `Deno.serve`, Node through `node:http`
 * and a small adapter. Meant for the tracker's REST API and web page, not
 * for heavy traffic: request bodies are read whole.
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

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** Interface to listen on, e.g. "127.0.0.1" (loopback) or "0.0.0.0". */
  hostname: string;
  /** TCP port; 0 picks a free one (read it from {@link HttpServer.port}). */
  port: number;
  handler: HttpHandler;
  /** Called with a handler's exception (default: logged to stderr); the client gets a 500. */
  onError?: (error: unknown) => void;
}

/** A listening server. */
export interface HttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
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
      onListen?: (addr: { port: number }) => void; onError?: (e: unknown) => Response;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer;
}

function denoServe(): DenoServe | undefined {
  return (globalThis as unknown as { Deno?: DenoServe }).Deno;
}

function failure(error: unknown, onError: ServeOptions["onError"]): Response {
  (onError ?? ((e) => console.error(`[ardea] http handler failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)))(error);
  return new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
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
  return new Promise((resolve, reject) => {
    try {
      const ac = new AbortController();
      const server = deno.serve(
        {
          hostname: options.hostname,
          port: options.port,
          onListen: () => {},
          signal: ac.signal,
          onError: (e) => failure(e, options.onError),
        },
        options.handler,
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

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const method = req.method ?? "GET";
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (chunks.length > 0) body = new Uint8Array(Buffer.concat(chunks));
  }
  return new Request(new URL(req.url ?? "/", origin), { method, headers, body });
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

/** How long close() waits for requests in progress before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

function serveNode(options: ServeOptions): Promise<HttpServer> {
  let inFlight = 0;
  let drained: (() => void) | null = null;
  const server = createServer((req, res) => {
    inFlight++;
    res.on("close", () => {
      if (--inFlight === 0) drained?.();
    });
    void (async () => {
      let response: Response;
      try {
        response = await options.handler(await toRequest(req, `http://${req.headers.host ?? "localhost"}`));
      } catch (e) {
        response = failure(e, options.onError);
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

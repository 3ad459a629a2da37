/**
 * Replies to every request on SUBJECT with its payload: the other end of the
 * `latency` benchmark's nats.js request/reply baseline, in its own process.
 *
 *   node --import ./runtime/node_loader.mjs bench/nats_echo.ts URL SUBJECT
 *
 * Prints "ready" once subscribed; exits when stdin closes or on SIGTERM.
 *
 * @module
 */
import process from "node:process";
import { connect } from "nats";

const [url, subject] = process.argv.slice(2);
if (!url || !subject) {
  console.error("usage: bench/nats_echo.ts URL SUBJECT");
  process.exit(2);
}
const nc = await connect({ servers: url, name: "bench echo" });
nc.subscribe(subject, { callback: (_err, m) => m.respond(m.data) });
await nc.flush();
console.log("ready");
const stop = () => void nc.drain().finally(() => process.exit(0));
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);

/**
 * A container process, part by part: start-up reads (startup.ts), the
 * script and its captured `submit()` (script.ts), each generation's plan and
 * restore (plan.ts), one generation's run and phases (generation.ts), the
 * control messages (control.ts), the heartbeat (heartbeat.ts), the master's
 * rollbacks (rollback_watch.ts) and liveness (master_watch.ts), and the
 * console copied into the log ring (console_capture.ts).
 * `cluster/container_process.ts` runs them in order.
 *
 * @module
 */
export { captureConsole, lineText } from "./console_capture.ts";
export { controlHandler, type ControlHandlerOptions, type ControlTarget } from "./control.ts";
export {
  afterFailure,
  type GenerationOptions,
  type GenerationOutcome,
  type GenerationPhase,
  READY_AGAIN_MS,
  ROLLBACK_WAIT_MS,
  runGeneration,
} from "./generation.ts";
export { componentErrors, heartbeatStats } from "./heartbeat.ts";
export { LEASE_CHECK_MS, MASTER_GRACE_MS, watchConnection, watchMasterLease } from "./master_watch.ts";
export { type Generation, generationOf, restoreFor } from "./plan.ts";
export { type ControlListener, controlListener, type RollbackAsked, RollbackWatch } from "./rollback_watch.ts";
export { type CapturedScript, captureScript } from "./script.ts";
export { isTransient, PATIENCE_MS, patiently } from "./startup.ts";

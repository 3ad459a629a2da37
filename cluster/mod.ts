/**
 * The cluster control plane (Heron's tmanager, stream manager and
 * schedulers): submitting a topology to NATS, its KV records and bundle, the
 * master that supervises a run, the container processes and their stream
 * managers, the local and pool schedulers, packing.
 *
 * @module
 */
//
// The CLI's light commands (`list`, `status`, `activate`…) import
// records.ts alone, so that they do not load the whole control plane.
export { captureTopology, prepareSubmission, type SubmissionOptions } from "./submission.ts";
export { runContainer } from "./container_process.ts";
export { localSpawner, type StandbyAssignment, type Standbys, startStandbys } from "./container_spawn.ts";
export { endLostMaster, runMaster } from "./master.ts";
export { planFor } from "./packing.ts";
export { poolSpawner, runWorker } from "./pool.ts";
export { Records, RecordsError } from "./records.ts";
export { StreamManager } from "./stream_manager.ts";

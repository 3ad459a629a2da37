/**
 * The topology master, part by part: its phase and transitions
 * (phase.ts), the master itself (master.ts), the containers' state
 * (container_slots.ts), budgets and repeat schedules (relaunch_policy.ts),
 * EFFECTIVELY_ONCE checkpoints (checkpoint_coordinator.ts), its record
 * writes (record_writer.ts), the lease (lease.ts), and the ports its I/O
 * goes through (ports.ts; the clock is ../clock.ts).
 * `cluster/master.ts` plugs NATS into them.
 *
 * @module
 */
export { CheckpointCoordinator, type CheckpointCoordinatorOptions } from "./checkpoint_coordinator.ts";
export { ContainerSlots, type Slot, tasksOf } from "./container_slots.ts";
export {
  endLostMaster,
  type EndLostMasterOptions,
  type HeldLease,
  holdLease,
  LOST_HOLDER,
  MASTER_LEASE_MS,
  MASTER_LOST,
} from "./lease.ts";
export { effectivelyOnce, Master, type MasterParts, runMasterWith } from "./master.ts";
export {
  type After,
  canEnter,
  describePhase,
  hasStarted,
  isOver,
  isRelaunching,
  type Phase,
  type PhaseKind,
  type PhaseOf,
  type RollbackAnnouncement,
  type Terminal,
  TRANSITIONS,
  wantsPaused,
} from "./phase.ts";
export {
  type CheckpointStore,
  type Clock,
  type ContainerProcess,
  type ControlBus,
  type MasterRecords,
  sleep,
  type Spawn,
  systemClock,
  type Timer,
} from "./ports.ts";
export { RecordWriter, type RecordWriterOptions, STATE_WRITE_MS } from "./record_writer.ts";
export {
  type DeathVerdict,
  DRAIN_MS,
  FINAL_CHECKPOINT_MS,
  KILL_GRACE_MS,
  RelaunchPolicy,
  ROLLBACK_READY_MS,
  ROLLBACK_TICK_MS,
  sayRollbackAgain,
  STOP_AGAIN_MS,
  WATCH_MS,
} from "./relaunch_policy.ts";

export type {
  Action,
  ActionConfig,
  ActionContext,
  ActionDescription,
  ActionInput,
  ActionOutput,
  AttemptOptions,
  ExecuteOptions,
} from './action.js'
export { action } from './action.js'
export type { KeyvStoreOptions } from './datastore/keyv.js'
export { keyvStore } from './datastore/keyv.js'
export type {
  ExpirySweeper,
  ExpirySweeperOptions,
  LazyResource,
  LazyResourceOptions,
  NamespaceRules,
  PromiseLock,
} from './datastore/kit.js'
export {
  compareCodePoints,
  describeBatch,
  expirySweeper,
  lazyResource,
  namespaceOption,
  prefixEnd,
  promiseLock,
  storeError,
} from './datastore/kit.js'
export type { KV } from './datastore/kv.js'
export type { MemoryStoreOptions } from './datastore/memory.js'
export { memoryStore } from './datastore/memory.js'
export type {
  BatchResult,
  Datastore,
  DatastoreCapabilities,
  ListedEntry,
  ListOptions,
  StoredEntry,
  WriteOp,
} from './datastore/types.js'
export type { Duration, DurationUnit } from './duration.js'
export { parseDuration, toMs } from './duration.js'
export type { Clock } from './engine/clock.js'
export { systemClock } from './engine/clock.js'
export { createEngine, hookNames } from './engine/engine.js'
export type {
  BufferedSignal,
  CancelOutcome,
  CountRunsOptions,
  Engine,
  EngineOptions,
  ListRunsOptions,
  RunHandle,
  RunInfoOf,
  SignalPayloadArg,
  TriggerOptions,
} from './engine/engine-types.js'
export type { Limits } from './engine/execution-deps.js'
export type { ForkOptions } from './engine/fork.js'
export type { PendingReason, RunStatus, ScheduleCatchup, ScheduleOverlap, StepKind, StoredError } from './engine/records.js'
export type { ReplayCheckOptions, ReplayCheckReport, ReplayFailure } from './engine/replay-check.js'
export type { RunInfo, StepInfo } from './engine/run-info.js'
export type { EngineSchedules, ScheduleInfo, ScheduleOptions, ScheduleUpdate } from './engine/schedule-types.js'
export type { DoSdkErrorOptions, ErrorCode, ValidationIssue } from './errors.js'
export {
  ActionFailedError,
  CancelledError,
  CapabilityError,
  ConflictError,
  CorruptRecordError,
  DoSdkError,
  EngineStateError,
  ErrorCodes,
  HookError,
  InvalidArgumentError,
  LeaseLostError,
  NonDeterminismError,
  NonRetryableError,
  RateLimitedError,
  RetryAfterError,
  RunFailedError,
  RunNotFoundError,
  ScheduleNotFoundError,
  SerializationError,
  SizeLimitError,
  StoreError,
  TimeoutError,
  ValidationError,
  WorkflowNotFoundError,
} from './errors.js'
export type {
  ActionInterceptor,
  ActionInterceptorContext,
  HookEvents,
  HookName,
  HookRegistry,
  Interceptors,
  Observer,
  RunEventBase,
  StepEventBase,
  StepInterceptor,
  StepInterceptorContext,
} from './hooks/types.js'
export type { Logger } from './logger.js'
export { consoleLogger, silentLogger } from './logger.js'
export type { Plugin, PluginContext } from './plugin.js'
export { definePlugin } from './plugin.js'
export type { ResolvedRetry, RetryOptions } from './retry.js'
export { DEFAULT_RETRY, isRetryable, retryDelay } from './retry.js'
export type { Serializer } from './serializer.js'
export { jsonSerializer, roundTrip } from './serializer.js'
export type {
  ConcurrencyOption,
  DebounceOption,
  FlowControl,
  FlowKey,
  RateOption,
  SignalName,
  SignalPayload,
  SignalSchemas,
  SingletonOption,
  Step,
  StepFnContext,
  StepMapOptions,
  StepRunOptions,
  StepStore,
  WaitForEvent,
  WaitForEventOptions,
  Workflow,
  WorkflowConfig,
  WorkflowContext,
  WorkflowInput,
  WorkflowOutput,
  WorkflowSchedule,
  WorkflowSignals,
  WorkflowState,
} from './workflow.js'
export { workflow } from './workflow.js'

export type { VirtualClock } from '../engine/clock.js'
export { virtualClock } from '../engine/clock.js'
export { SimulatedCrash } from '../engine/store.js'
export { datastoreConformance } from './conformance.js'
export type {
  ConformanceContext,
  ConformanceRunner,
  DatastoreConformanceOptions,
  DatastoreFactory,
} from './conformance-context.js'
export type { CrashPoint, TestEngine, TestEngineOptions } from './test-engine.js'
export { createTestEngine } from './test-engine.js'

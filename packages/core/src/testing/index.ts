export { datastoreConformance } from './conformance.js'
export type {
  ConformanceContext,
  ConformanceRunner,
  DatastoreConformanceOptions,
  DatastoreFactory,
} from './conformance-context.js'

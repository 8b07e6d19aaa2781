import { memoryStore } from '@do-sdk/core'
import { datastoreConformance } from '@do-sdk/core/testing'
import { describe, it } from 'vitest'

datastoreConformance({ describe, it }, () => memoryStore(), { name: 'memoryStore conformance' })

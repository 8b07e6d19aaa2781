// The engine of the app, on a SQLite file.
import { createEngine, type Engine } from '@do-sdk/core'
import { sqliteStore } from '@do-sdk/store-sqlite'
import { workflows } from './workflows.js'

export const createApp = (path: string): Engine => createEngine({ store: sqliteStore({ path }), workflows })

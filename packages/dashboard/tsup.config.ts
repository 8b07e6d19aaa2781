import { resolve } from 'node:path'
import { defineConfig } from 'tsup'
import { baseConfig } from '../../tsup.base'
import { clientAssetsPlugin } from './src/client-build'

// The browser script and style sheet are compiled into the package as strings (src/client-build.ts).
const client = clientAssetsPlugin(resolve('src/client'))

export default defineConfig(baseConfig({ index: 'src/index.ts' }).map((c) => ({ ...c, esbuildPlugins: [client] })))

// Bundles the CLI, the extension and the server worker with esbuild. Type-checking is separate
// (`npm run check-types`). `vscode` stays external; everything else is bundled.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  define: { PORTHOLE_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
  // encoding-sniffer needs only the Encoding Standard's label table (labelToName); the `-lite`
  // entry exports the same functions without the legacy multi-byte decoders (~165 KB less).
  alias: { '@exodus/bytes/encoding.js': '@exodus/bytes/encoding-lite.js' },
};

const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/core/index.ts'], outfile: 'dist/core.js' },
  { entryPoints: ['src/core/worker/server-worker.ts'], outfile: 'dist/server-worker.js' },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
].filter((e) => existsSync(e.entryPoints[0]));

await Promise.all(entries.map((e) => build({ ...common, ...e })));

// Bundles the CLI, the extension and the server worker with esbuild. Type-checking is separate
// (`npm run check-types`). `vscode` stays external; everything else is bundled.
import { build } from 'esbuild';
import { chmodSync, existsSync, readFileSync } from 'node:fs';

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

// Libraries loaded only on first use (`require` inside a function in the core: undici for a
// proxy route, parse5 for the first page injected) get a file of their own beside the bundles,
// which require them as `./undici.js` / `./parse5.js`: a server that never needs them neither
// parses nor holds their code. Measured on the CLI: about 4.5 MB less idle RSS and a shorter
// start than with both inside dist/cli.js (scripts/bench, start-up table).
const LAZY = ['undici', 'parse5'];
const lazyLibraries = {
  name: 'lazy-libraries',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${LAZY.join('|')})$`) }, (args) => ({ path: `./${args.path}.js`, external: true }));
  },
};

const entries = [
  // The `porthole` command: a small launcher (dist/cli.js) that runs the CLI's bundle
  // (dist/cli-main.js) from a V8 code cache (src/cli/compile-cache.ts).
  { entryPoints: ['src/cli/launch.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-main.js' },
  { entryPoints: ['src/core/index.ts'], outfile: 'dist/core.js' },
  { entryPoints: ['src/core/worker/server-worker.ts'], outfile: 'dist/server-worker.js' },
  // Pages are planned (parsed to place the live-reload tag) on a thread of their own, beside the
  // bundles that start it (src/core/reload/page-planner.ts).
  { entryPoints: ['src/core/reload/page-plan-worker.ts'], outfile: 'dist/page-plan-worker.js' },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
].filter((e) => existsSync(e.entryPoints[0]));

await Promise.all([
  ...entries.map((e) => build({ ...common, ...e, plugins: [lazyLibraries] })),
  ...LAZY.map((name) =>
    build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.', loader: 'js' }, outfile: `dist/${name}.js` }),
  ),
]);
// The launcher is a command (`#!/usr/bin/env node`): executable, so `./dist/cli.js` runs it as
// `npm link`'s `porthole` does.
if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);

// Type-aware lint for TypeScript; syntax-only lint for plain JavaScript (scripts, browser and
// editor tests). The rooms are enforced here: src/core and src/cli never import `vscode`; nothing may
// import Node's http, https or http2 (the server is raw sockets); the core's rooms import one way
// (CORE_ROOMS), and so do the benchmark's modules (BENCH_MODULES); the CLI and the extension reach
// the core only through its index.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbiddenHttp = ['http', 'https', 'http2', 'node:http', 'node:https', 'node:http2'].map((name) => ({
  name,
  message: 'Porthole is built on net/tls: never http, https or http2.',
}));

const noVscode = { name: 'vscode', message: 'src/core and src/cli are pure Node: only src/extension imports vscode.' };

/** Outside the core, only its public surface (src/core/index.ts) is imported. */
const throughCoreIndex = { regex: '/core/.+', message: 'Import the core through its index (src/core), not a file inside it.' };

/**
 * The core's rooms and the rooms each may import (besides src/core/options.ts and
 * src/core/node-crypto.ts, which import nothing of the core). Lower rooms never import higher ones; ARCHITECTURE.md draws the same arrows.
 */
const CORE_ROOMS = {
  text: [],
  access: ['text'],
  http: ['access', 'text'],
  files: ['http', 'access', 'text'],
  log: ['http', 'access', 'text'],
  reload: ['files', 'http', 'access', 'text'],
  proxy: ['reload', 'http', 'access', 'text'],
  // Strict validation of every option and the porthole.config.json file (used by the CLI, the
  // extension and PreviewServer); it checks proxy routes with the proxy room's own rule (one way:
  // proxy never imports config), mount prefixes with files' (mounts.ts) and header fields with
  // http's grammar.
  config: ['proxy', 'reload', 'files', 'http', 'access', 'text'],
  server: ['config', 'proxy', 'reload', 'files', 'log', 'http', 'access', 'text'],
  worker: ['server', 'config', 'proxy', 'reload', 'files', 'log', 'http', 'access', 'text'],
};

/**
 * The benchmark's modules (scripts/bench) and the ones each may import; run.mjs uses them all.
 * Pure helpers (docroot.mjs) are not listed: anyone may use them, as before.
 */
const BENCH_MODULES = {
  report: [],
  measurement: [],
  servers: ['measurement'],
  workloads: ['measurement', 'servers'],
  startup: ['measurement', 'servers'],
  'reload-race': ['measurement', 'servers'],
};
const BENCH_ALL = ['run', ...Object.keys(BENCH_MODULES)];

const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'performance', 'fetch'].map((g) => [g, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-output/**', '**/*.d.ts', '**/*.generated.ts'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test/describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
  },
  {
    files: ['media/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { acquireVsCodeApi: 'readonly', window: 'readonly', document: 'readonly', navigator: 'readonly' } },
  },
  { rules: { 'no-restricted-imports': ['error', { paths: forbiddenHttp }] } },
  {
    files: ['src/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [...forbiddenHttp, noVscode], patterns: [throughCoreIndex] }] },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: forbiddenHttp, patterns: [throughCoreIndex] }] },
  },
  ...Object.entries(CORE_ROOMS).map(([room, mayUse]) => ({
    files: [`src/core/${room}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...forbiddenHttp, noVscode],
          patterns: [
            {
              regex: `^\\.\\./(?!(${[...mayUse, 'options', 'node-crypto'].join('|')})(/|$))`,
              message: `src/core/${room} may import only from ${mayUse.length ? mayUse.join(', ') + ', ' : ''}options and node-crypto (see ARCHITECTURE.md): the arrows between rooms point one way.`,
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['src/core/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [...forbiddenHttp, noVscode] }] },
  },
  ...Object.entries(BENCH_MODULES).map(([file, mayUse]) => ({
    files: [`scripts/bench/${file}.mjs`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenHttp,
          patterns: [
            {
              regex: `^\\./(${BENCH_ALL.filter((m) => m !== file && !mayUse.includes(m)).join('|')})\\.mjs$`,
              message: `scripts/bench/${file}.mjs may import ${mayUse.length ? `only ${mayUse.join(', ')}` : 'none'} of the benchmark's modules (see scripts/bench/README.md): the arrows point one way.`,
            },
          ],
        },
      ],
    },
  })),
);

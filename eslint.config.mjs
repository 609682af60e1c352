// Type-aware lint for TypeScript; syntax-only lint for plain JavaScript (scripts, browser and
// editor tests). The rooms are enforced here: src/core and src/cli never import `vscode`, and
// nothing may import Node's http, https or http2 (the server is raw sockets).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbiddenHttp = ['http', 'https', 'http2', 'node:http', 'node:https', 'node:http2'].map((name) => ({
  name,
  message: 'Porthole is built on net/tls: never http, https or http2.',
}));

const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'performance', 'fetch'].map((g) => [g, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-output/**', '**/*.d.ts'] },
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
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [...forbiddenHttp, { name: 'vscode', message: 'src/core and src/cli are pure Node: only src/extension imports vscode.' }] },
      ],
    },
  },
);

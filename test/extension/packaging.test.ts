import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './helpers';

const root = repoRoot();

void test('the webview script type-checks against webview-protocol.ts', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'media', 'jsconfig.json')], { cwd: root, stdio: 'pipe', timeout: 120_000 });
});

void test('vsce ls: the .vsix ships only dist/extension.js, dist/server-worker.js (and its lazy undici.js, parse5.js, its page planner thread), media, manifest, docs', () => {
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const out = execFileSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const files = out.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).sort();
  const allowed = new Set([
    'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE',
    'dist/extension.js', 'dist/server-worker.js', 'dist/undici.js', 'dist/parse5.js', 'dist/page-plan-worker.js',
    'media/requests.js', 'media/requests.css', 'media/porthole.svg', 'media/icon.png',
    'schemas/porthole.config.schema.json',
  ]);
  for (const f of files) assert.ok(allowed.has(f), `unexpected file in the .vsix: ${f}`);
  // The schema contributed through jsonValidation must ship, or the editor cannot complete porthole.config.json.
  // The worker requires these on first use (a proxy route, the first page injected: planned on its own thread).
  for (const f of ['dist/undici.js', 'dist/parse5.js', 'dist/page-plan-worker.js', 'package.json', 'LICENSE', 'CHANGELOG.md', 'media/requests.js', 'media/requests.css', 'media/icon.png', 'schemas/porthole.config.schema.json']) {
    assert.ok(files.includes(f), `missing from the .vsix: ${f}`);
  }
  assert.ok(!files.some((f) => f.endsWith('.map') || f.endsWith('.ts')), 'no maps or sources');
});

// The installer's inner npm under an outer npm, as `npm test` runs it: an outer `npm exec` (the
// machine's Node) starts a probe that runs an inner npm the way install.mjs runs code-server's
// install (the private Node 24 first on PATH). With the outer npm's variables the inner npm's user
// agent names the outer Node, which code-server's postinstall reads and refuses; withoutOuterNpm()
// leaves the inner npm to name its own Node 24. Needs the test cache (npm run test:deps).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureSetup } from './vscode.mjs';

const INSTALL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'install.mjs');
const OUTER_MAJOR = process.versions.node.split('.')[0];
let manifest;
let dir;

before(() => {
  manifest = ensureSetup({ quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-install-test-'));
  // Run by the outer npm: prints what an inner npm, started with or without the outer npm's
  // variables, gives its own scripts as npm_config_user_agent and nodedir.
  fs.writeFileSync(
    path.join(dir, 'probe.mjs'),
    `import { execFileSync } from 'node:child_process';
import { withoutOuterNpm } from ${JSON.stringify(INSTALL)};
const outer = process.env;
const report = {};
for (const [name, base] of [['raw', outer], ['clean', withoutOuterNpm(outer)]]) {
  const env = { ...base, PATH: ${JSON.stringify(path.dirname(manifest.node))} + ':' + base.PATH, npm_config_nodedir: ${JSON.stringify(path.dirname(path.dirname(manifest.node)))} };
  const out = execFileSync('npm', ['exec', '--yes', '-c', 'echo "$npm_config_user_agent|$npm_config_nodedir"'], { env, encoding: 'utf8', timeout: 60000 });
  report[name] = out.trim().split('\\n').pop();
}
report.outerUserAgent = outer.npm_config_user_agent ?? '';
console.log(JSON.stringify(report));
`,
  );
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "probe", "private": true }\n');
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('under an outer npm, the inner npm names Node 24 only when the outer npm variables are removed', () => {
  const out = execFileSync('npm', ['exec', '--yes', '-c', 'node probe.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  const report = JSON.parse(out.trim().split('\n').pop());
  assert.match(report.outerUserAgent, new RegExp(`node/v${OUTER_MAJOR}\\.`), 'the outer npm exports its user agent');
  const [rawAgent] = report.raw.split('|');
  const [cleanAgent, cleanNodedir] = report.clean.split('|');
  if (OUTER_MAJOR !== '24') assert.match(rawAgent, new RegExp(`node/v${OUTER_MAJOR}\\.`), 'inherited, the outer user agent wins (the trap)');
  assert.match(cleanAgent, /node\/v24\./, 'cleaned, the inner npm names the Node it runs on');
  assert.equal(cleanNodedir, path.dirname(path.dirname(manifest.node)), 'node-gyp gets Node 24 headers, not the machine nodedir');
});

test('withoutOuterNpm keeps everything but the outer npm variables', async () => {
  const { withoutOuterNpm } = await import('./install.mjs');
  const env = { PATH: '/bin', HOME: '/root', npm_config_user_agent: 'npm/11 node/v20.0.0', npm_config_nodedir: '/usr', npm_lifecycle_event: 'test', npm_package_name: 'porthole', npm_execpath: '/x', npm_node_execpath: '/y', npm_command: 'run', NPM_CONFIG_REGISTRY: 'https://mirror.example/' };
  assert.deepEqual(withoutOuterNpm(env), { PATH: '/bin', HOME: '/root', NPM_CONFIG_REGISTRY: 'https://mirror.example/' });
});

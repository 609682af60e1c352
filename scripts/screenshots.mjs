// `npm run screenshots`: redoes the README's pictures of the Requests view. Runs the side-bar
// editor test (test/e2e/sidebar.test.mjs: code-server + Chromium, the side bar at 300 px in the
// light, dark and high-contrast themes), which writes test-output/e2e/sidebar/requests-view-*.png,
// and copies those three into docs/screenshots/ only when every test of the file passed (a
// failing layout is not a picture for the README). Needs the .vsix: `npm run screenshots` packages
// it first. Run as root for the long-URL line (an address on a veth the test adds and removes).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FROM = path.join(REPO, 'test-output', 'e2e', 'sidebar');
const TO = path.join(REPO, 'docs', 'screenshots');
const NAMES = ['light', 'dark', 'high-contrast'].map((t) => `requests-view-${t}.png`);

for (const name of NAMES) fs.rmSync(path.join(FROM, name), { force: true });
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', path.join(REPO, 'test', 'e2e', 'sidebar.test.mjs')], { cwd: REPO, stdio: 'inherit' });
if (run.status !== 0) {
  console.error(`screenshots: test/e2e/sidebar.test.mjs failed (exit ${run.status ?? run.signal}); docs/screenshots/ left as it was`);
  process.exit(1);
}
fs.mkdirSync(TO, { recursive: true });
for (const name of NAMES) {
  const file = path.join(FROM, name);
  if (!fs.existsSync(file)) {
    console.error(`screenshots: the test passed but wrote no ${path.relative(REPO, file)}`);
    process.exit(1);
  }
  fs.copyFileSync(file, path.join(TO, name));
  console.log(`${path.relative(REPO, path.join(TO, name))}: ${fs.statSync(file).size} bytes`);
}

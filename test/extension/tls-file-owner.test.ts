/**
 * `porthole.https.cert` / `.key` naming a file of another user (helper-113): the extension says
 * whose it is and what fits (run as that user, or copy it), never a bare "no permission to read
 * it" nor `chmod u+r`, which its owner alone could run. prepareTls runs in a real Node process
 * as nobody (its uid and gid dropped by spawn) against root's files, as the extension host of
 * another user would meet them: skipped when the tests do not run as root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
/** out/test/extension → out/, where the compiled extension code is. */
const OUT = path.resolve(__dirname, '..', '..');
let dir = '';

before(() => {
  if (!asRoot) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-ext-tls-owner-'));
  fs.chmodSync(dir, 0o755);
  const pair = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'cert.pem'), pair.cert, { mode: 0o644 });
  // Root's key, 0600: nobody may not read it.
  fs.writeFileSync(path.join(dir, 'key.pem'), pair.key, { mode: 0o600 });
});

after(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

test("porthole.https.key of another user: the error says it is that user's, and what fits", { skip: !asRoot && 'needs root, to run prepareTls as nobody against root-owned files' }, () => {
  const script = `
    const { prepareTls } = require(${JSON.stringify(path.join(OUT, 'src/extension/sharing/node-sharing.js'))});
    const { DEFAULT_CONFIG } = require(${JSON.stringify(path.join(OUT, 'src/extension/config/node-config.js'))});
    const dir = ${JSON.stringify(dir)};
    prepareTls({ ...DEFAULT_CONFIG, httpsCert: 'cert.pem', httpsKey: 'key.pem' }, { folderPath: dir, folderName: 'site', logDir: dir }, dir, {})
      .then(() => process.stdout.write('started'), (err) => process.stdout.write(err.message));
  `;
  const said = execFileSync(process.execPath, ['-e', script], { uid: NOBODY, gid: NOBODY, cwd: dir, encoding: 'utf8', timeout: 10_000 });
  const key = path.join(dir, 'key.pem');
  assert.equal(
    said,
    `cannot read the HTTPS key ${key}: no permission (EACCES): it belongs to another user (uid 0), and Porthole runs as uid ${NOBODY}; run Porthole as that user, or copy the file (as that user, or with sudo) to one of yours`,
  );
});

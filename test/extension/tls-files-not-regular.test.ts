/**
 * The extension's HTTPS files (`porthole.https.cert` / `.key`) that are no regular file of sane
 * size: a named pipe nobody writes to, a character device (/dev/zero), a file over
 * MAX_SMALL_FILE_BYTES. prepareTls read them with readFileSync, which froze the extension host for
 * ever (the pipe) or read without end (/dev/zero); now the start fails (ERR_TLS_CONFIG) within a
 * bounded time, naming the setting, what the file is and what to name instead. prepareTls runs in
 * a child process here, so that the old blocking read could be stopped. Linux only (mkfifo,
 * /dev/zero).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SMALL_FILE_BYTES, PIPE_CLOSE_WAIT_MS } from '../../src/core/access/read-small-file';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { withTimeout } from '../core/raw-client';

const skip = process.platform !== 'linux' && 'mkfifo and /dev/zero';
/** The compiled module prepareTls lives in (this test runs from out/test/extension). */
const NODE_SHARING = join(__dirname, '..', '..', 'src', 'extension', 'sharing', 'node-sharing.js');
/** The longest a refusal may take: the pipe's wait, and a child's start. */
const SETTLED_WITHIN_MS = PIPE_CLOSE_WAIT_MS + 10_000;

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porthole-ext-tls-not-regular-'));
  const made = createSelfSignedCertificate(['localhost']);
  await writeFile(join(dir, 'cert.pem'), made.cert);
  await writeFile(join(dir, 'key.pem'), made.key, { mode: 0o600 });
  execFileSync('mkfifo', [join(dir, 'pipe.pem')]);
  await writeFile(join(dir, 'big.pem'), '-----BEGIN CERTIFICATE-----\n'.padEnd(2 * MAX_SMALL_FILE_BYTES, 'A'));
});

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/**
 * prepareTls for the folder `dir` with these settings, in a child process: the error's code and
 * message it rejected with (undefined when it did not), within SETTLED_WITHIN_MS.
 */
async function prepareInChild(httpsCert: string, httpsKey: string): Promise<{ code: string; message: string } | undefined> {
  const script = `
    const { prepareTls } = require(${JSON.stringify(NODE_SHARING)});
    const { DEFAULT_CONFIG } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'extension', 'config', 'node-config.js'))});
    const [dir, httpsCert, httpsKey] = process.argv.slice(1);
    const folder = { folderPath: dir, folderName: 'site', logDir: dir };
    prepareTls({ ...DEFAULT_CONFIG, httpsCert, httpsKey }, folder, dir, { root: dir }).then(
      () => process.stdout.write('null'),
      (err) => process.stdout.write(JSON.stringify({ code: err.code, message: err.message })),
    );`;
  const child = spawn(process.execPath, ['-e', script, dir, httpsCert, httpsKey], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  try {
    await withTimeout(new Promise((resolve) => child.once('exit', resolve)), SETTLED_WITHIN_MS, `prepareTls with cert ${httpsCert}, key ${httpsKey}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  return (JSON.parse(out) as { code: string; message: string } | null) ?? undefined;
}

const CERT_TODO = "name a PEM certificate file (e.g. mkcert's NAME.pem)";
const KEY_TODO = "name a PEM private key file (e.g. mkcert's NAME-key.pem)";

test('porthole.https.cert or .key naming a named pipe nobody writes to: the start fails after the pipe\'s wait, saying so', { skip }, async () => {
  const pipe = () => join(dir, 'pipe.pem');
  assert.deepEqual(await prepareInChild('pipe.pem', 'key.pem'), {
    code: 'ERR_TLS_CONFIG',
    message: `porthole.https.cert ${pipe()} is a named pipe (FIFO) that nothing wrote to and closed within ${PIPE_CLOSE_WAIT_MS / 1000} s: ${CERT_TODO}`,
  });
  assert.deepEqual(await prepareInChild('cert.pem', 'pipe.pem'), {
    code: 'ERR_TLS_CONFIG',
    message: `porthole.https.key ${pipe()} is a named pipe (FIFO) that nothing wrote to and closed within ${PIPE_CLOSE_WAIT_MS / 1000} s: ${KEY_TODO}`,
  });
});

test('porthole.https.cert or .key naming /dev/zero: the start fails at once, never reading it', { skip }, async () => {
  assert.deepEqual(await prepareInChild('/dev/zero', 'key.pem'), { code: 'ERR_TLS_CONFIG', message: `porthole.https.cert /dev/zero is a character device, not a file: ${CERT_TODO}` });
  assert.deepEqual(await prepareInChild('cert.pem', '/dev/zero'), { code: 'ERR_TLS_CONFIG', message: `porthole.https.key /dev/zero is a character device, not a file: ${KEY_TODO}` });
});

test(`porthole.https.cert or .key naming a file over ${MAX_SMALL_FILE_BYTES} bytes: the start fails, saying its size and the limit`, async () => {
  const big = join(dir, 'big.pem');
  const size = `is 2.0 MiB (${2 * MAX_SMALL_FILE_BYTES} bytes), more than the 1.0 MiB (${MAX_SMALL_FILE_BYTES} bytes) such a file may hold`;
  assert.deepEqual(await prepareInChild('big.pem', 'key.pem'), { code: 'ERR_TLS_CONFIG', message: `porthole.https.cert ${big} ${size}: ${CERT_TODO}` });
  assert.deepEqual(await prepareInChild('cert.pem', 'big.pem'), { code: 'ERR_TLS_CONFIG', message: `porthole.https.key ${big} ${size}: ${KEY_TODO}` });
  // The pair itself still prepares.
  assert.equal(await prepareInChild('cert.pem', 'key.pem'), undefined);
});

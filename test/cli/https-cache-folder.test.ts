/**
 * `--https` when the folder that keeps the self-signed certificate ($XDG_CACHE_HOME/porthole)
 * cannot be made: XDG_CACHE_HOME names a file, or a folder under /proc (where Node's recursive
 * mkdir loops for ever). The CLI says in one line what happened and what to do, starts nothing
 * and exits 1 (before: `porthole: Error: ENOTDIR: not a directory, mkdir '…'`, or a busy hang).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tlsGetStatus, withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, siteFolderForTests, stopCli, waitForLocalPort } from './run-cli';

const site = siteFolderForTests('porthole-https-cache-');

for (const [what, cacheHome] of [
  ['a file', (): string => join(site.base, 'not-a-folder')],
  ['a folder under /proc', (): string => '/proc/self'],
] as const) {
  test(`--https, XDG_CACHE_HOME is ${what}: one plain line, exit 1`, { skip: process.platform !== 'linux' && 'XDG_CACHE_HOME and /proc are Linux' }, async () => {
    await writeFile(join(site.base, 'not-a-folder'), 'x');
    const dir = join(cacheHome(), 'porthole');
    const cli = runCli([site.root, '--port', '21873', '--https', '--quiet'], site.base, { XDG_CACHE_HOME: cacheHome() });
    assert.equal(await withTimeout(cli.exited, WAIT_MS, `exit when the certificate folder is ${what}`), 1, cli.stderr);
    assert.equal(cli.stdout, '');
    const lines = cli.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, cli.stderr);
    assert.ok(lines[0]!.startsWith(`porthole: --https: cannot keep the self-signed certificate in ${dir}: `), cli.stderr);
    assert.match(cli.stderr, /XDG_CACHE_HOME|--cert/);
    assert.doesNotMatch(cli.stderr, /Error:/);
    // Which part is the file, by name (helper-117: "a part of its path is a file" left it to find).
    if (what === 'a file') assert.ok(lines[0]!.includes(`: ${cacheHome()} is a regular file, not a folder (`), cli.stderr);
  });
}

// XDG Base Directory spec: a relative (or empty) XDG_CACHE_HOME is invalid and ignored. Read as
// given, `XDG_CACHE_HOME=` put the private key in ./porthole/key.pem: under the working folder,
// here the folder being served (and the start then failed on its relative path).
for (const [what, value] of [
  ['empty', ''],
  ['relative', 'cache'],
] as const) {
  test(`--https, XDG_CACHE_HOME ${what}: the key goes under the home folder, never under the working folder`, async () => {
    const home = join(site.base, `home-${what}`);
    await mkdir(home);
    const cli = runCli([site.root, '--port', '0', '--https', '--no-reload'], site.root, { XDG_CACHE_HOME: value, HOME: home });
    const port = await waitForLocalPort(cli);
    const kept = join(home, '.cache', 'porthole');
    assert.match(cli.stdout, new RegExp(`self-signed certificate \\(new in ${kept.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},`));
    // How to trust it, with the file that does (helper-121: nothing said it): a client given that
    // file as its CA gets through.
    assert.ok(cli.stdout.includes(`Trust it: curl --cacert ${join(kept, 'cert.pem')} …;`), cli.stdout);
    assert.equal(await tlsGetStatus(port, await readFile(join(kept, 'cert.pem'), 'utf8'), '/index.html'), 200);
    assert.equal((await stat(join(kept, 'key.pem'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(site.root)).sort(), ['index.html'], 'nothing written in the working (served) folder');
    assert.equal(await stopCli(cli), 0, cli.stderr);
  });
}

// A kept file that is a folder (helper-113): the rename of the new file onto it failed with Node's
// raw `EISDIR … rename` and the advice to set XDG_CACHE_HOME; with cert.pem a folder, the new
// key.pem was already in place, without its certificate. Now an empty folder is replaced, as any
// kept file that is no regular file is, and a folder with files in it (never removed: they are
// not Porthole's) stops the start before anything is written, naming the folder to remove.
for (const name of ['key.pem', 'cert.pem', 'meta.json']) {
  test(`--https, the kept ${name} is a folder: an empty one is replaced by the new pair; one with files stops the start, naming it, and nothing is written`, { skip: process.platform !== 'linux' && 'XDG_CACHE_HOME' }, async () => {
    const cache = join(site.base, `cache-${name}`);
    const kept = join(cache, 'porthole');
    const start = (): ReturnType<typeof runCli> => runCli([site.root, '--port', '0', '--https', '--quiet', '--no-reload'], site.base, { XDG_CACHE_HOME: cache });
    const first = start();
    await waitForLocalPort(first);
    assert.equal(await stopCli(first), 0, first.stderr);
    const path = join(kept, name);
    await rm(path);
    await mkdir(path);
    const second = start();
    await waitForLocalPort(second);
    assert.match(second.stdout, /self-signed certificate \(new in /);
    assert.equal(await stopCli(second), 0, second.stderr);
    assert.ok((await stat(path)).isFile(), `${name} is a file again`);
    assert.ok(new X509Certificate(await readFile(join(kept, 'cert.pem'))).checkPrivateKey(createPrivateKey(await readFile(join(kept, 'key.pem')))), 'the pair belongs together');
    // A folder with a file in it: not removed; the kept files stay as they were.
    const before = await Promise.all(['key.pem', 'cert.pem', 'meta.json'].filter((n) => n !== name).map((n) => readFile(join(kept, n), 'utf8')));
    await rm(path);
    await mkdir(path);
    await writeFile(join(path, 'notes.txt'), 'mine');
    const third = start();
    assert.equal(await withTimeout(third.exited, WAIT_MS, `exit when ${name} is a folder with files`), 1, third.stderr);
    assert.equal(
      third.stderr,
      `porthole: --https: cannot keep the self-signed certificate in ${kept}: ${path} is a folder with files in it, where the kept ${name} belongs; remove that folder (or move it away) and start again\n`,
    );
    assert.deepEqual(await Promise.all(['key.pem', 'cert.pem', 'meta.json'].filter((n) => n !== name).map((n) => readFile(join(kept, n), 'utf8'))), before, 'nothing written');
    assert.equal(await readFile(join(path, 'notes.txt'), 'utf8'), 'mine');
  });
}

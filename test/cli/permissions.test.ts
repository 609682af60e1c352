/**
 * Permission faults as a user meets them (helper-69 §8), the CLI run as a user that is not root
 * (nobody when the tests run as root: root reads every file, so EACCES never happens to it):
 * - a root folder that cannot be opened stops the start, saying so and what to do, never naming a
 *   porthole.config.json the user did not make (with and without --no-config);
 * - a 403 says what could not be read: a file, a folder (its listing), or a folder on the way;
 * - a folder that can be traversed but not listed (mode 711) still serves its index file, and
 *   `/sub` still moves to `/sub/`; without an index, its listing is a 403 that says why;
 * - such a folder cannot be watched for live reload: said once, naming it and what to do.
 * POSIX only. Needs `npm run build` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchOnce, request, withTimeout } from '../core/raw-client';
import { WAIT_MS, eventStream, killAllClis, requireBuiltCli, runCliUnprivileged, stopCli, waitForLocalPort } from './run-cli';

const posix = process.platform !== 'win32';
let work = '';
/** Folders whose mode a test took away, given back before the clean-up (a user other than root needs that to remove them). */
const locked: string[] = [];

/** chmod `path` to `mode`; a folder is noted, to be opened again for the clean-up. */
async function lock(path: string, mode: number): Promise<void> {
  locked.push(path);
  await chmod(path, mode);
}

before(async () => {
  if (!posix) return;
  requireBuiltCli();
  work = await mkdtemp(join(tmpdir(), 'porthole-permissions-'));
  await chmod(work, 0o755); // the unprivileged CLI reaches its sites through it
});

after(async () => {
  killAllClis();
  if (work === '') return;
  for (const path of locked) await chmod(path, 0o755).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

/** A site folder under `work` (mode 755) with `files` (relative path → text), every folder 755, files 644. */
async function site(name: string, files: Record<string, string>): Promise<string> {
  const root = join(work, name);
  await mkdir(root, { mode: 0o755 });
  await chmod(root, 0o755);
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, rel);
    const parts = rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = join(root, ...parts.slice(0, i));
      await mkdir(dir, { recursive: true });
      await chmod(dir, 0o755);
    }
    await writeFile(path, text);
    await chmod(path, 0o644);
  }
  return root;
}

test('a root folder that cannot be opened stops the start, saying so and what to do', { skip: !posix && 'POSIX permissions' }, async () => {
  const root = await site('locked-root', { 'index.html': '<p>hidden</p>' });
  await lock(root, 0o000);
  for (const args of [[root, '--port', '0'], [root, '--port', '0', '--no-config']]) {
    const cli = runCliUnprivileged(args, work);
    const code = await withTimeout(cli.exited, WAIT_MS, 'the CLI to exit');
    assert.equal(code, 1, `${args.join(' ')}: ${cli.stdout}${cli.stderr}`);
    assert.doesNotMatch(cli.stderr, /porthole\.config\.json/, `the user made no config file: ${cli.stderr}`);
    assert.match(cli.stderr, new RegExp(`root folder ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), cli.stderr);
    assert.match(cli.stderr, /no permission/, cli.stderr);
    assert.match(cli.stderr, /chmod/, `says what to do: ${cli.stderr}`);
  }
});

test('a config file that cannot be read says so and what to do', { skip: !posix && 'POSIX permissions' }, async () => {
  const root = await site('locked-config', { 'index.html': '<p>i</p>', 'porthole.config.json': '{}' });
  await chmod(join(root, 'porthole.config.json'), 0o000);
  const cli = runCliUnprivileged([root, '--port', '0'], work);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'the CLI to exit'), 1, cli.stderr);
  assert.match(cli.stderr, /porthole\.config\.json: cannot be read: no permission \(EACCES\)/, cli.stderr);
  assert.match(cli.stderr, /--no-config/, `says what to do: ${cli.stderr}`);
});

test('a 403 says whether a file, a folder or a folder on the way could not be read', { skip: !posix && 'POSIX permissions' }, async () => {
  const root = await site('forbidden', { 'index.html': '<p>i</p>', 'secret.txt': 's', 'closed/inner.txt': 'c', 'unlisted/a.txt': 'a' });
  await chmod(join(root, 'secret.txt'), 0o000);
  await lock(join(root, 'closed'), 0o000);
  await lock(join(root, 'unlisted'), 0o711);
  const cli = runCliUnprivileged([root, '--port', '0', '--no-config', '--no-host-names'], work);
  const port = await waitForLocalPort(cli);
  try {
    const answer = async (target: string): Promise<{ status: number; text: string }> => {
      const res = await fetchOnce(port, request(target));
      return { status: res.status, text: res.body.toString() };
    };
    const file = await answer('/secret.txt');
    assert.equal(file.status, 403);
    assert.match(file.text, /may not read this file/);
    for (const target of ['/closed/', '/unlisted/']) {
      const folder = await answer(target);
      assert.equal(folder.status, 403, target);
      assert.match(folder.text, /this folder/, `${target}: ${folder.text}`);
      assert.doesNotMatch(folder.text, /this file/, `${target}: ${folder.text}`);
    }
    const below = await answer('/closed/inner.txt');
    assert.equal(below.status, 403);
    assert.match(below.text, /a folder on the way/, below.text);
    // What is readable is served as ever.
    assert.equal((await answer('/unlisted/a.txt')).status, 200);
  } finally {
    await stopCli(cli);
  }
});

test('a folder that can be opened but not listed (711) serves its index, as nginx does', { skip: !posix && 'POSIX permissions' }, async () => {
  const root = await site('traversable', {
    'index.html': '<p>root index</p>',
    'sub/index.html': '<p>sub index</p>',
    'sub/page.html': '<p>page</p>',
    'guarded/index.html': '<p>guarded</p>',
  });
  await lock(root, 0o711);
  await lock(join(root, 'sub'), 0o711);
  await lock(join(root, 'guarded'), 0o711);
  await chmod(join(root, 'guarded', 'index.html'), 0o600);
  const cli = runCliUnprivileged([root, '--port', '0', '--no-host-names'], work);
  const port = await waitForLocalPort(cli);
  try {
    const root200 = await fetchOnce(port, request('/'));
    assert.equal(root200.status, 200, root200.body.toString());
    assert.match(root200.body.toString(), /root index/);
    const sub = await fetchOnce(port, request('/sub/'));
    assert.equal(sub.status, 200, sub.body.toString());
    assert.match(sub.body.toString(), /sub index/);
    const moved = await fetchOnce(port, request('/sub'));
    assert.equal(moved.status, 301, moved.body.toString());
    assert.equal(moved.header('location'), '/sub/');
    assert.equal((await fetchOnce(port, request('/sub/page.html'))).status, 200);
    // An index that is there but cannot be read: a 403 naming the file, never the folder's listing.
    const guarded = await fetchOnce(port, request('/guarded/'));
    assert.equal(guarded.status, 403);
    assert.match(guarded.body.toString(), /may not read this file/, guarded.body.toString());
  } finally {
    await stopCli(cli);
  }
});

test('a folder live reload may not watch is named once, with what to do; the others still reload pages', { skip: !posix && 'POSIX permissions' }, async () => {
  const root = await site('unwatched', { 'index.html': '<p>one</p>', 'sub/index.html': '<p>sub</p>', 'open/a.html': '<p>a</p>' });
  await lock(join(root, 'sub'), 0o711);
  const cli = runCliUnprivileged([root, '--port', '0', '--no-host-names'], work);
  const port = await waitForLocalPort(cli);
  const events = { text: '' };
  const stream = await eventStream(port, events);
  try {
    // The root is watched: an edit of its page is sent (bounded: 40 edits at most).
    const sent = (): string => events.text.slice(events.text.indexOf('\r\n\r\n'));
    for (let i = 0; i < 40 && !/index\.html/.test(sent()); i++) {
      await writeFile(join(root, 'index.html'), `<p>${i}</p>`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(sent(), /index\.html/, `the root's page reloads: ${JSON.stringify(sent().slice(0, 400))}`);
    const sub = join(root, 'sub');
    const said = cli.stderr.split('\n').filter((line) => line.includes(sub));
    assert.equal(said.length, 1, `said once: ${cli.stderr}`);
    assert.match(said[0] ?? '', /cannot watch/);
    assert.match(said[0] ?? '', /no permission/);
    assert.match(said[0] ?? '', /chmod/, 'says what to do');
    assert.doesNotMatch(cli.stderr, /stopped watching/, cli.stderr);
  } finally {
    stream.destroy();
    await stopCli(cli);
  }
});

test('a mount or a --watch folder live reload may not watch is named once in its warning, not twice', { skip: !posix && 'POSIX permissions' }, async () => {
  // helper-57: the watcher's warning names the folder, and the one for a --watch folder or a
  // mount had the folder added after it again.
  const root = await site('watched-extras', { 'index.html': '<p>one</p>' });
  const lib = await site('watched-extras-lib', { 'index.html': '<p>lib</p>' });
  const tpl = await site('watched-extras-tpl', { 'page.tpl': 'x' });
  await lock(lib, 0o711);
  await lock(tpl, 0o711);
  const cli = runCliUnprivileged([root, '--port', '0', '--no-host-names', '--mount', `/lib=${lib}`, '--watch', tpl], work);
  await waitForLocalPort(cli);
  try {
    for (const folder of [lib, tpl]) {
      await withTimeout(
        (async () => {
          while (!cli.stderr.split('\n').some((l) => l.includes(folder) && l.includes('cannot watch'))) await new Promise((r) => setTimeout(r, 20));
        })(),
        WAIT_MS,
        `a warning naming ${folder} (stderr: ${JSON.stringify(cli.stderr)})`,
      );
      const line = cli.stderr.split('\n').find((l) => l.includes(folder) && l.includes('cannot watch')) ?? '';
      assert.equal(line.split(folder).length - 1, 1, `named once: ${line}`);
    }
  } finally {
    await stopCli(cli);
  }
});

test('a root live reload may not watch is named, not "stopped watching files"', { skip: !posix && 'POSIX permissions' }, async () => {
  const root = await site('unwatched-root', { 'index.html': '<p>one</p>' });
  await lock(root, 0o711);
  const cli = runCliUnprivileged([root, '--port', '0', '--no-host-names'], work);
  const port = await waitForLocalPort(cli);
  try {
    // Served as ever (the index of a folder that may not be listed).
    assert.equal((await fetchOnce(port, request('/'))).status, 200);
    await withTimeout(
      (async () => {
        while (!cli.stderr.includes(root)) await new Promise((r) => setTimeout(r, 20));
      })(),
      WAIT_MS,
      `a warning naming ${root} (stderr: ${JSON.stringify(cli.stderr)})`,
    );
    assert.match(cli.stderr, /cannot watch/);
    assert.match(cli.stderr, /chmod/);
    assert.doesNotMatch(cli.stderr, /stopped watching/, cli.stderr);
  } finally {
    await stopCli(cli);
  }
});

test('a locked file or folder that a symlink leads to, out of the root or hidden, is the 404 of a missing path, not a 403 (with and without --spa)', { skip: !posix && 'POSIX permissions' }, async () => {
  // Before: GET /up/locked/x (up -> a folder out of the root, locked/ mode 000) answered 403
  // "a folder on the way", /up/none/x 404: what exists and is locked anywhere on the machine
  // showed through a symlink the server refuses to follow; so did a locked hidden folder.
  const root = await site('refused-locked', { 'index.html': '<p>app</p>', '.private/x.txt': 'p' });
  const out = await site('refused-locked-out', { 'locked/x.txt': 'l', 'locked/x': 'l', 'file.txt': 'f', file: 'f' });
  await symlink(out, join(root, 'up'));
  await symlink('.private', join(root, 'cfg'));
  await symlink('.private-none', join(root, 'cfg-none'));
  await lock(join(out, 'locked'), 0o000);
  await chmod(join(out, 'file.txt'), 0o000);
  await chmod(join(out, 'file'), 0o000);
  await lock(join(root, '.private'), 0o000);
  // [there, missing, whether --spa's fallback answers both]: a name of an asset type (.txt) is
  // never rewritten, so with --spa it is the 404 too; a name without an extension is a route.
  const pairs: Array<[string, string, boolean]> = [
    ['/up/locked/x.txt', '/up/none/x.txt', false],
    ['/up/locked/x', '/up/none/x', true],
    ['/up/locked/', '/up/none/', true],
    ['/up/file.txt', '/up/none.txt', false],
    ['/up/file', '/up/none', true],
    ['/cfg/x.txt', '/cfg-none/x.txt', false],
  ];
  const navigation = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];
  for (const args of [[], ['--spa']]) {
    const cli = runCliUnprivileged([root, '--port', '0', '--no-config', '--no-host-names', ...args], work);
    const port = await waitForLocalPort(cli);
    try {
      for (const [there, missing, route] of pairs) {
        const a = await fetchOnce(port, request(there, { headers: navigation }));
        const b = await fetchOnce(port, request(missing, { headers: navigation }));
        assert.equal(a.status, b.status, `${args.join(' ')} ${there} answers as ${missing} does: ${a.body.toString().slice(0, 120)}`);
        assert.equal(a.status, args.length > 0 && route ? 200 : 404, `${args.join(' ')} ${there}`);
      }
    } finally {
      await stopCli(cli);
    }
  }
});

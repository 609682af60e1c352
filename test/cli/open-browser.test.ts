/**
 * `--open` when no browser can be opened: the opener (xdg-open here, a stand-in first on PATH)
 * exits non-zero, as xdg-open does with no browser set up (exit 3), or there is none at all. The
 * CLI keeps serving and says on stderr what happened (xdg-open's exit codes 3 and 4 in words) and
 * which URL to open by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, stopCli, waitForLocalUrl, siteFolderForTests, waitForStderr } from './run-cli';

const linux = process.platform === 'linux';

const site = siteFolderForTests('porthole-open-');

/** A folder holding an `xdg-open` that records its argument in `<folder>/asked` and exits `code`. */
async function fakeOpener(name: string, code: number): Promise<string> {
  const bin = join(site.base, name);
  await mkdir(bin);
  await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > "${join(bin, 'asked')}"\nexit ${code}\n`);
  await chmod(join(bin, 'xdg-open'), 0o755);
  return bin;
}

test('--open: an opener that exits non-zero is said, with the URL to open by hand', { skip: !linux && 'xdg-open is the Linux opener' }, async () => {
  const bin = await fakeOpener('failing', 3);
  const cli = runCli([site.root, '--port', '0', '--quiet', '--open'], site.base, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  const { text } = await waitForLocalUrl(cli);
  await waitForStderr(cli, /could not open/);
  assert.equal(await readFile(join(bin, 'asked'), 'utf8'), text, 'the opener was asked for the printed URL');
  assert.equal(cli.stderr, `porthole: could not open a browser: xdg-open exited with code 3 (it found no browser to open); open ${text} yourself\n`);
  assert.equal(await stopCli(cli), 0, 'it kept serving');
});

test('--open with no opener installed: said once, with the URL', { skip: !linux && 'xdg-open is the Linux opener' }, async () => {
  // A PATH with nothing on it (the CLI itself is started by node's full path).
  const cli = runCli([site.root, '--port', '0', '--quiet', '--open'], site.base, { PATH: join(site.base, 'nothing') });
  const { text } = await waitForLocalUrl(cli);
  await waitForStderr(cli, /could not open/);
  assert.equal(cli.stderr, `porthole: could not open a browser: xdg-open was not found; open ${text} yourself\n`);
  assert.equal(await stopCli(cli), 0);
});

test('--open: an opener that succeeds says nothing', { skip: !linux && 'xdg-open is the Linux opener' }, async () => {
  const bin = await fakeOpener('working', 0);
  const cli = runCli([site.root, '--port', '0', '--quiet', '--open'], site.base, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  const { text } = await waitForLocalUrl(cli);
  for (let i = 0; i < 500 && (await readFile(join(bin, 'asked'), 'utf8').catch(() => '')) !== text; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await readFile(join(bin, 'asked'), 'utf8'), text);
  assert.equal(await stopCli(cli), 0);
  assert.equal(cli.stderr, '');
});

test('--open: xdg-open\'s exit 4 (a browser found but it failed to start) is said in words', { skip: !linux && 'xdg-open is the Linux opener' }, async () => {
  const bin = await fakeOpener('failing-4', 4);
  const cli = runCli([site.root, '--port', '21878', '--quiet', '--open'], site.base, { PATH: `${bin}:${process.env.PATH ?? ''}` });
  const { text } = await waitForLocalUrl(cli);
  await waitForStderr(cli, /could not open/);
  assert.equal(cli.stderr, `porthole: could not open a browser: xdg-open exited with code 4 (the browser it found failed to start); open ${text} yourself\n`);
  assert.equal(await stopCli(cli), 0, 'it kept serving');
});

/**
 * SIGUSR1, which nginx takes as "reopen the log files" and which logrotate configurations copied
 * from nginx's send after a rotation (`postrotate kill -USR1 …`). Node's default for it starts the
 * inspector on 127.0.0.1:9229, where any local process may run code as the user serving the
 * folder, with no password. The CLI (and each worker) takes SIGUSR1 itself: no inspector, the
 * server keeps serving and logging, and stderr says that Porthole does not reopen its log file
 * and how to rotate it (copytruncate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchOnce } from '../core/raw-client';
import { runCli, stopCli, waitForLocalPort, siteFolderForTests, waitForStderr } from './run-cli';

const site = siteFolderForTests('porthole-usr1-');

for (const workers of ['1', '2']) {
  test(`SIGUSR1 (--workers ${workers}) starts no inspector; the CLI serves on, logs, and says how to rotate`, { skip: process.platform === 'win32' && 'no SIGUSR1' }, async () => {
    const log = join(site.base, `usr1-${workers}.log`);
    const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--workers', workers], site.base);
    const port = await waitForLocalPort(cli);
    cli.child.kill('SIGUSR1');
    await waitForStderr(cli, /SIGUSR1/, 'a note about SIGUSR1');
    assert.doesNotMatch(cli.stderr, /Debugger listening/);
    assert.match(cli.stderr, /copytruncate/);
    assert.equal(cli.child.exitCode, null, 'still serving');
    const res = await fetchOnce(port, `GET /?after-usr1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 200);
    assert.equal(await stopCli(cli), 0, cli.stderr);
    assert.match(await readFile(log, 'utf8'), /GET \/\?after-usr1 /);
  });
}

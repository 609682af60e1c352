/**
 * A --log file inside the served folder that is renamed while the CLI serves (logrotate without
 * copytruncate, or `mv access.log access.log.1` by hand): the CLI goes on writing into the same
 * file under its new name, and those writes must reload no page. Before, the log was known to
 * the watcher by its path only, so after the rename every line written was a change of
 * /access.log.1: each request reloaded every page, whose requests wrote more lines, for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchOnce } from '../core/raw-client';
import { eventStream, runCli, stopCli, waitForLocalPort, siteFolderForTests } from './run-cli';

const site = siteFolderForTests('porthole-log-renamed-');

test('the log file renamed inside the served folder: its lines reload no page', async () => {
  const log = join(site.root, 'access.log');
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--no-host-names', '--reload-debounce', '20'], site.base);
  const port = await waitForLocalPort(cli);
  const received = { text: '' };
  let stream: Socket | undefined;
  const events = (): string => received.text.slice(received.text.indexOf('\r\n\r\n') + 4);
  try {
    stream = await eventStream(port, received);
    await fetchOnce(port, `GET /?before HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 300));
    await rename(log, join(site.root, 'access.log.1'));
    for (let i = 0; i < 10; i++) {
      const res = await fetchOnce(port, `GET /?after${i} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, 200);
      // Each line reaches the file within 0.1 s: one write (and change event) per request.
      await new Promise((r) => setTimeout(r, 150));
    }
    // A change of a page after them: once its event is in, the log's would be too.
    for (let i = 0; i < 40 && !/sentinel\.css/.test(events()); i++) {
      await writeFile(join(site.root, 'sentinel.css'), `p { order: ${i} }\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(events(), /sentinel\.css/, `the watcher works: ${JSON.stringify(events().slice(0, 600))}`);
    assert.doesNotMatch(events(), /access\.log/, `the log's writes reloaded pages: ${JSON.stringify(events().slice(0, 600))}`);
  } finally {
    stream?.destroy();
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});

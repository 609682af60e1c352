/**
 * Issue 11 item 12, the core: with no port given (DERIVED_PORT, the default) a server listens on
 * its root's own port, derived from the root's real path — the same on every start, the same
 * through a symlink, inside DERIVED_PORT_RANGE, falling forward inside the range when busy — and
 * an explicit port still wins. Real sockets on 127.0.0.1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_OPTIONS, DERIVED_PORT, DERIVED_PORT_RANGE, PreviewServer, derivePort } from '../../src/core';
import { derivedPortCandidates } from '../../src/core/server/derived-port';
import { fetchOnce, request } from './raw-client';

let base: string;

before(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'porthole-derived-')));
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

function occupy(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
  });
}

async function listenDefault(root: string): Promise<{ server: PreviewServer; port: number; requestedPort: number | undefined }> {
  const server = new PreviewServer();
  const address = await server.listen({ root, host: '127.0.0.1', resolveHostNames: false, reload: { enabled: false }, timeouts: { closeGraceMs: 200 } });
  return { server, port: address.port, requestedPort: address.requestedPort };
}

test('derivePort: stable, inside the range, spread over it', () => {
  assert.equal(DEFAULT_OPTIONS.port, DERIVED_PORT);
  const ports = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const p = derivePort(`/home/user/projects/site-${i}`);
    assert.equal(p, derivePort(`/home/user/projects/site-${i}`));
    assert.ok(p >= DERIVED_PORT_RANGE.first && p < DERIVED_PORT_RANGE.first + DERIVED_PORT_RANGE.count, String(p));
    ports.add(p);
  }
  // 200 paths into 1000 ports: a handful of clashes at most, never a collapse onto a few.
  assert.ok(ports.size > 150, `only ${ports.size} distinct ports`);
  assert.notEqual(derivePort('/a'), derivePort('/A'));
});

test('derivedPortCandidates falls forward and wraps inside the range', () => {
  const last = DERIVED_PORT_RANGE.first + DERIVED_PORT_RANGE.count - 1;
  assert.deepEqual(derivedPortCandidates(last - 1, 4), [last - 1, last, DERIVED_PORT_RANGE.first, DERIVED_PORT_RANGE.first + 1]);
});

test('no port given: the root\'s derived port, again on restart and through a symlink', async () => {
  const root = await mkdtemp(join(base, 'site-'));
  const link = join(base, 'link-to-site');
  await symlink(root, link);
  const want = derivePort(await realpath(root));
  const first = await listenDefault(root);
  try {
    // Another process may hold the derived port on a shared machine: then it fell forward and says so.
    assert.ok(first.port === want || first.requestedPort === want, `${first.port} / ${String(first.requestedPort)} vs ${want}`);
    assert.equal((await fetchOnce(first.port, request('/'))).status, 200);
  } finally {
    await first.server.close();
  }
  for (const path of [root, link]) {
    const again = await listenDefault(path);
    try {
      assert.equal(again.port, first.port, path);
    } finally {
      await again.server.close();
    }
  }
});

test('a busy derived port falls forward (said in requestedPort); an explicit port wins', async () => {
  const root = await mkdtemp(join(base, 'busy-'));
  const want = derivePort(await realpath(root));
  const blocker = await occupy(want);
  try {
    const moved = await listenDefault(root);
    try {
      if (blocker !== undefined) {
        assert.notEqual(moved.port, want);
        assert.equal(moved.requestedPort, want);
        assert.deepEqual(derivedPortCandidates(want, 10).includes(moved.port), true);
      }
    } finally {
      await moved.server.close();
    }
  } finally {
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  }
  // An explicit port wins over the derived one.
  const probe = await occupy(0);
  const free = (probe?.address() as { port: number } | null)?.port ?? 0;
  await new Promise<void>((r) => (probe ? probe.close(() => r()) : r()));
  const explicit = new PreviewServer();
  const address = await explicit.listen({ root, port: free, host: '127.0.0.1', resolveHostNames: false, reload: { enabled: false } });
  try {
    assert.equal(address.port, free);
    assert.equal(address.requestedPort, undefined);
  } finally {
    await explicit.close();
  }
});

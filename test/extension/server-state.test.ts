import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/extension/config/node-config';
import type { ServerEvent, ServerState } from '../../src/extension/server/node-server-state';
import { INITIAL_STATE, toFailure, transition } from '../../src/extension/server/node-server-state';

const address = { host: '127.0.0.1', port: 8000, url: 'http://127.0.0.1:8000/', requestedPort: undefined };
const failure = { code: 'EADDRINUSE', message: 'busy' };
const events: ServerEvent[] = [
  { type: 'start', config: DEFAULT_CONFIG },
  { type: 'listening', address, at: 1 },
  { type: 'failed', failure },
  { type: 'stop' },
  { type: 'closed' },
  { type: 'exited', failure },
];
const states: ServerState[] = [
  INITIAL_STATE,
  { kind: 'starting', config: DEFAULT_CONFIG },
  { kind: 'running', config: DEFAULT_CONFIG, address, since: 1 },
  { kind: 'stopping', config: DEFAULT_CONFIG },
];

void test('the transition table', () => {
  const table: Record<string, string> = {};
  for (const s of states) {
    for (const e of events) {
      const next = transition(s, e);
      if (next) table[`${s.kind} --${e.type}-->`] = next.kind;
    }
  }
  assert.deepEqual(table, {
    'stopped --start-->': 'starting',
    'starting --listening-->': 'running',
    'starting --failed-->': 'stopped',
    'starting --exited-->': 'stopped',
    'running --stop-->': 'stopping',
    'running --exited-->': 'stopped',
    'stopping --closed-->': 'stopped',
    'stopping --exited-->': 'stopped',
  });
});

void test('a failed start keeps the failure; a clean stop clears it', () => {
  const failed = transition({ kind: 'starting', config: DEFAULT_CONFIG }, { type: 'failed', failure });
  assert.deepEqual(failed, { kind: 'stopped', failure });
  assert.deepEqual(transition({ kind: 'stopping', config: DEFAULT_CONFIG }, { type: 'closed' }), INITIAL_STATE);
  assert.equal(transition(failed, { type: 'start', config: DEFAULT_CONFIG })?.kind, 'starting');
});

void test('toFailure keeps a string code and the first line', () => {
  assert.deepEqual(toFailure(Object.assign(new Error('Port 8000 is busy\nstack'), { code: 'EADDRINUSE' })), { code: 'EADDRINUSE', message: 'Port 8000 is busy' });
  assert.deepEqual(toFailure('boom'), { code: 'ERR_UNKNOWN', message: 'boom' });
});

/** Shared helpers for the extension's node tests (no `vscode`). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RequestRecord } from '../../src/core';

/** The repository root: the nearest folder above this file with Porthole's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'porthole') return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`package.json of porthole not found above ${__dirname}`);
}

export interface ConfigProperty {
  type: string;
  default: unknown;
  scope?: string;
  markdownDescription?: string;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  enumDescriptions?: string[];
}

export interface Manifest {
  main: string;
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: boolean; description?: string }; virtualWorkspaces: unknown };
  contributes: {
    commands: Array<{ command: string; title: string; category?: string }>;
    menus: Record<string, Array<{ command: string; when?: string; group?: string }>>;
    viewsContainers: { activitybar: Array<{ id: string; title: string; icon: string }> };
    views: Record<string, Array<{ id: string; type?: string; name: string }>>;
    configuration: { properties: Record<string, ConfigProperty> };
  };
  icon: string;
  version: string;
}

export function readManifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as Manifest;
}

/** A plausible request record; override what a test cares about. */
export function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 1,
    time: new Date(2025, 0, 2, 14, 3, 7, 123).getTime(),
    clientIp: '127.0.0.1',
    clientPort: 50000,
    connectionId: 1,
    secure: false,
    serverIp: '127.0.0.1',
    serverPort: 8000,
    clientHost: undefined,
    method: 'GET',
    target: '/index.html',
    protocol: 'HTTP/1.1',
    status: 200,
    bytes: 1234,
    durationMs: 3.2,
    requestMs: 0.4,
    responseStartMs: 1.1,
    referer: undefined,
    userAgent: 'test',
    requestHeaders: [['Host', '127.0.0.1:8000']],
    responseHeaders: [['Content-Length', '1234']],
    aborted: false,
    note: undefined,
    filePath: '/site/index.html',
    ...overrides,
  };
}

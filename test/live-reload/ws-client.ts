/**
 * A WebSocket client for tests, over raw TCP (masking, framing written here, not a library): opens
 * `/__porthole/socket` on 127.0.0.1:`port` and reads the server's frames as they come.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer } from '../../src/core/server/server';

const WAIT_MS = 10_000;

/** A client frame: FIN set unless `fin` is false, masked unless `masked` is false. */
export function frame(opcode: number, payload: Buffer | string = '', { fin = true, masked = true } = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = body.length;
  const lengthBytes = len < 126 ? Buffer.from([len]) : len < 65536 ? Buffer.from([126, len >> 8, len & 0xff]) : (() => {
    const b = Buffer.alloc(9);
    b[0] = 127;
    b.writeBigUInt64BE(BigInt(len), 1);
    return b;
  })();
  lengthBytes[0] = (lengthBytes[0] as number) | (masked ? 0x80 : 0);
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const data = Buffer.from(body);
  if (masked) for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), lengthBytes, mask, data]);
}

/** Server frames, read as they come (unmasked; parsed with a tiny reader of our own). */
export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

export interface Client {
  socket: Socket;
  /** The raw response head (up to the blank line). */
  head(): Promise<string>;
  /** The next server frame. */
  next(): Promise<ServerFrame>;
  /** The next text frame's JSON (skipping pings). */
  message(): Promise<Record<string, unknown>>;
  ended: Promise<void>;
}

export function openWebSocket(port: number, extra = '', key = randomBytes(16).toString('base64')): Client {
  const socket = connect(port, '127.0.0.1');
  let buffer = Buffer.alloc(0);
  let headText: string | undefined;
  let wake: () => void = () => undefined;
  const ended = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('data', (c: Buffer) => {
    buffer = Buffer.concat([buffer, c]);
    if (headText === undefined) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        headText = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 4);
      }
    }
    wake();
  });
  socket.on('close', () => wake());
  socket.on('error', () => undefined);
  socket.write(
    `GET /__porthole/socket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${port}\r\n${extra}\r\n`,
  );
  const until = (ok: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the server')), WAIT_MS);
      const check = (): void => {
        wake = () => undefined;
        if (ok()) {
          clearTimeout(timer);
          resolve();
        } else if (socket.destroyed) {
          clearTimeout(timer);
          reject(new Error('the connection closed'));
        } else {
          wake = check;
        }
      };
      check();
    });
  const parseFrame = (): ServerFrame | undefined => {
    if (buffer.length < 2) return undefined;
    let len = (buffer[1] as number) & 0x7f;
    let off = 2;
    if (len === 126) {
      if (buffer.length < 4) return undefined;
      len = buffer.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (buffer.length < 10) return undefined;
      len = Number(buffer.readBigUInt64BE(2));
      off = 10;
    }
    assert.equal((buffer[1] as number) & 0x80, 0, 'server frames are never masked');
    if (buffer.length < off + len) return undefined;
    const f = { opcode: (buffer[0] as number) & 0x0f, payload: buffer.subarray(off, off + len) };
    buffer = buffer.subarray(off + len);
    return f;
  };
  const client: Client = {
    socket,
    ended,
    async head() {
      await until(() => headText !== undefined);
      return headText as string;
    },
    async next() {
      await client.head();
      let f: ServerFrame | undefined;
      await until(() => (f = parseFrame()) !== undefined);
      return f as unknown as ServerFrame;
    },
    async message() {
      for (;;) {
        const f = await client.next();
        if (f.opcode === 0x1) return JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>;
        if (f.opcode === 0x8) throw new Error(`closed: ${f.payload.readUInt16BE(0)}`);
      }
    },
  };
  return client;
}


/**
 * One raw request to `/__porthole/socket` (or `path`) on 127.0.0.1:`port`: `Host` (127.0.0.1:port
 * unless given), then `lines` (each ending in CRLF) as written — repeated fields stay separate
 * lines. Resolves with the status line's code once the head arrived (the socket is then closed).
 */
export function askStatus(port: number, lines: string, { host = `127.0.0.1:${port}`, path = '/__porthole/socket', socket = connect(port, '127.0.0.1') }: { host?: string; path?: string; socket?: Socket } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${WAIT_MS} ms`));
    }, WAIT_MS);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      text += c;
      const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n[\s\S]*?\r\n\r\n/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`closed without an answer: ${JSON.stringify(text.slice(0, 200))}`));
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${lines}\r\n`);
  });
}

/** A PreviewServer on a fresh folder with one page, live reload on and its watcher off. */
export interface SocketSite {
  readonly root: string;
  readonly server: PreviewServer;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a SocketSite (folder name `prefix…` under the temp folder). */
export async function startSocketSite(prefix: string): Promise<SocketSite> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>x</p>\n');
  const server = new PreviewServer();
  const address = await server.listen({ root, port: 0, resolveHostNames: false, reload: { watch: false } });
  return {
    root,
    server,
    port: address.port,
    close: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

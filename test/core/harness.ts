/**
 * Starts a real PreviewServer on 127.0.0.1 port 0 for a test, collecting its `request` events.
 * Defaults suit tests: no reverse DNS, a short close grace; callers override anything.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PreviewServer, type RequestRecord, type ServerOptionsInput } from '../../src/core';

export interface Running {
  readonly server: PreviewServer;
  readonly port: number;
  readonly records: RequestRecord[];
  close(): Promise<void>;
}

export async function startServer(input: ServerOptionsInput): Promise<Running> {
  const server = new PreviewServer();
  const records: RequestRecord[] = [];
  server.on('request', (r) => records.push(r));
  const address = await server.listen({
    port: 0,
    host: '127.0.0.1',
    resolveHostNames: false,
    ...input,
    timeouts: { closeGraceMs: 500, ...input.timeouts },
  });
  return { server, port: address.port, records, close: () => server.close() };
}

/**
 * A raw `net` back-end on 127.0.0.1 (a free port) for proxy tests: each request head is read
 * whole (to CRLF CRLF, as the request line's bytes), and `answer` writes what it likes to the
 * socket for its target (the request line's second word). Requests without a body only. Resolves
 * with the server and its port.
 */
export async function rawBackend(answer: (target: string, socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let head = '';
    socket.on('data', (data: Buffer) => {
      head += data.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const target = head.split(' ')[1] ?? '';
      head = head.slice(end + 4);
      answer(target, socket);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

/**
 * Starts a real PreviewServer on 127.0.0.1 port 0 for a test, collecting its `request` events.
 * Defaults suit tests: no reverse DNS, a short close grace; callers override anything.
 */
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

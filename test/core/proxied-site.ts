/**
 * A site behind Porthole's reverse proxy, for the proxy's end-to-end tests over loopback: the
 * fixture site (makeSite) served by a real PreviewServer whose `/api` prefix goes to a raw-`net`
 * back-end (startBackend) that records every request it gets. `close()` stops all three.
 */
import { makeSite, type Site } from '../fixtures/make-site';
import { startBackend, type Backend } from '../fixtures/backend';
import { startServer, type Running } from './harness';

export interface ProxiedSite {
  readonly site: Site;
  readonly backend: Backend;
  readonly srv: Running;
  close(): Promise<void>;
}

/** Starts the back-end, then Porthole in front of it (`/api` → the back-end, 2 s response timeout). */
export async function startProxiedSite(): Promise<ProxiedSite> {
  const site = await makeSite();
  const backend = await startBackend();
  const srv = await startServer({
    root: site.root,
    proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }], responseTimeoutMs: 2_000 },
  });
  return {
    site,
    backend,
    srv,
    close: async () => {
      await srv.close();
      await backend.close();
      await site.cleanup();
    },
  };
}

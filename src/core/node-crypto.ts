/**
 * node:crypto, loaded on first use. A plain start of the CLI (serving files with live reload
 * on) hashes and signs nothing until a request asks for it (an ETag, a page's nonce, the
 * live-reload client's version, a WebSocket handshake, a certificate), and loading node:crypto
 * (with its ciphers, key derivations and lazy transform streams) cost every start ~3 ms on this
 * project's machine after node:net (`require` timed in a fresh `node`). The core imports no
 * value from node:crypto: only types, and this. Imports nothing of the core.
 */
import type * as CryptoModule from 'node:crypto';

let loaded: typeof CryptoModule | undefined;

/** The node:crypto module, required on the first call and kept. */
export function nodeCrypto(): typeof CryptoModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('node:crypto') as typeof CryptoModule);
}

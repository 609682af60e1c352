/** The core's public surface: everything outside src/core imports from here. */
export * from './options';
export * from './request-record';
export * from './worker-protocol';
export { PreviewServer, ServerError } from './server';
export { WorkerServer } from './worker-host';
export { formatShortLine } from './request-log';
export { parseCidr, isLoopbackBind } from './access-policy';
export { lanAddresses, networkUrls, urlFor, type LanAddress } from './network-addresses';
export { createSelfSignedCertificate, loadOrCreateCertificate, checkCertificatePair } from './self-signed';

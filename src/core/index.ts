/** The core's public surface: everything outside src/core imports from here. */
export * from './options';
export * from './request-record';
export * from './worker-protocol';
export { PreviewServer, ServerError, describeListenError } from './server';
export { WorkerServer } from './worker-host';
export { formatCombinedLine, formatShortLine } from './request-log';
export { HostPolicy, ClientFilter, parseCidr, isLoopbackBind, localAddressNames } from './access-policy';
export { LiveReload, CLIENT_PATH, EVENTS_PATH, type ReloadEvent } from './live-reload';
export { lanAddresses, networkUrls, urlFor, type LanAddress } from './network-addresses';
export { createSelfSignedCertificate, loadOrCreateCertificate, checkCertificatePair, type SelfSignedCertificate } from './self-signed';

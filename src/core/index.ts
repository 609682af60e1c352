/** The core's public surface: everything outside src/core imports from here. */
export * from './options';
export * from './http/request-record';
export * from './worker/worker-protocol';
export { derivePort } from './server/derived-port';
export { WorkerServer } from './worker/worker-host';
export { timeoutAfterReads } from './http/after-reads';
export { formatShortLine } from './log/request-log';
export { parseCidr, isLoopbackBind } from './access/access-policy';
export { certificateNames, lanAddresses, networkUrls, urlFor, wildcardBind, type LanAddress } from './access/network-addresses';
export { KeptFileError, createSelfSignedCertificate, loadOrCreateCertificate, checkCertificatePair } from './access/self-signed';
export { PrivateKeyError, isEncryptedPrivateKey, type PrivateKeyErrorCode } from './access/private-key';
export { MAX_SMALL_FILE_BYTES, PIPE_CLOSE_WAIT_MS, SmallFileError, readSmallFile } from './access/read-small-file';
export { formatSize } from './text/format-size';
export { nearestName } from './text/nearest-name';
export { describeFsProblem, noReadPermission, notAFolderOnPath } from './text/fs-problem';
export { PreviewServer, ServerError, resolveOptionsWithConfigFile, type SharedInstance } from './server/server';
export {
  ConfigFileError,
  MAX_CONFIG_FILE_BYTES,
  headerFieldProblem,
  logFileNameProblem,
  parseConfigText,
  parseHeaderArgument,
  readConfigFile,
  spaFileProblem,
  type ConfigFile,
} from './config/config-file';
export { parseProxySpec, compileRoute, compileRoutes } from './proxy/proxy-routes';
export { parseMountSpec, mountsFrom, mountPrefixSegments } from './files/mounts';
export { reasonPhrase } from './http/response-head';
export { countCharacters, countOf, cutAtCharacter, escapeForDisplay, escapeLinesForDisplay, methodForDisplay, namedPathForDisplay, targetForDisplay, wireText } from './text/display-text';
export {
  MAX_CONSOLE_ENTRIES_PER_SECOND,
  MAX_CONSOLE_TEXT_CHARS,
  MAX_CONSOLE_STACK_CHARS,
  consoleLabel,
  consoleWhere,
  formatConsoleLines,
  type ConsoleEntry,
  type ConsoleKind,
  type ConsoleLevel,
} from './reload/console-forward';
export {
  OPTION_BOUNDS,
  InvalidOptionsError,
  absolutePathProblem,
  allowedHostProblem,
  bindHostProblem,
  booleanProblem,
  checkServerOptions,
  consoleForwardProblem,
  originProblem,
  showValue,
  toWholeNumber,
  validateServerOptions,
  wholeNumberProblem,
  type OptionName,
  type OptionProblem,
  type RawServerOptions,
} from './config/validate-options';
export { cidrProblem } from './access/access-policy';
export { globProblem } from './reload/live-reload-glob';
export { liesInsideFolder } from './files/loopback-only';

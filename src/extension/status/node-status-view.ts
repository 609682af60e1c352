/**
 * What the status bar item shows, computed from every folder's server state. Pure (tested):
 * stopped → "$(broadcast) Go Live"; starting/stopping → a spinner; running → "$(circle-slash)
 * Port : 8000" ("$(radio-tower) Port : 8000" while shared on the network, the tooltip naming the
 * network URLs and the usual firewall cause); failed (stopped with a failure, nothing running) → a
 * warning with the reason.
 */
import { countOf, escapeForDisplay } from '../../core';
import type { ServerState } from '../server/node-server-state';
import { firewallHint } from '../sharing/node-sharing';

export interface ServerSummary {
  readonly folderName: string;
  readonly folderPath: string;
  readonly state: ServerState;
  readonly requestCount: number;
  /** Set while shared on the network: the URLs other devices use (possibly none found). */
  readonly networkUrls?: readonly string[];
}

export type StatusCommand = 'start' | 'menu' | 'none';

export interface StatusView {
  readonly kind: 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';
  /** A running server is shared on the network (the item shows a distinct icon). */
  readonly shared: boolean;
  readonly text: string;
  /** Markdown-free plain lines (the item renders them as a MarkdownString). */
  readonly tooltip: readonly string[];
  readonly accessibilityLabel: string;
  readonly command: StatusCommand;
}

/**
 * The status bar item's text, tooltip lines and accessibility label for every folder's server.
 * The folder's name and path and a failure's message are outside text (a directory's name, a
 * .code-workspace's "name", an error quoting either) and are escaped (escapeForDisplay): the
 * tooltip is Markdown-escaped text, but a bidi override or a control character in it would still
 * reorder or hide what it says, as it did in the Requests view before 30c39cb.
 */
export function computeStatusView(rawServers: readonly ServerSummary[]): StatusView {
  const servers = rawServers.map((s) => ({
    ...s,
    folderName: escapeForDisplay(s.folderName),
    folderPath: escapeForDisplay(s.folderPath),
    state: s.state.kind === 'stopped' && s.state.failure !== undefined ? { ...s.state, failure: { ...s.state.failure, message: escapeForDisplay(s.state.failure.message) } } : s.state,
  }));
  const running = servers.filter((s) => s.state.kind === 'running');
  const starting = servers.filter((s) => s.state.kind === 'starting');
  const stopping = servers.filter((s) => s.state.kind === 'stopping');

  const runningLines = running.flatMap((s) => {
    if (s.state.kind !== 'running') return [];
    const a = s.state.address;
    const lines = [`${s.folderName}: ${a.url}`, `  Folder: ${s.folderPath}`, `  ${countOf(s.requestCount, 'request')}`];
    if (a.requestedPort !== undefined && a.requestedPort !== a.port) lines.push(`  Port ${a.requestedPort} was busy, so ${a.port} is used`);
    if (s.networkUrls !== undefined) {
      lines.push(`  Shared on the network: ${s.networkUrls.length > 0 ? s.networkUrls.join(', ') : 'no network address found'}`);
      lines.push(`  ${firewallHint(a.port)}`);
    }
    return lines;
  });

  if (starting.length > 0) {
    return {
      kind: 'starting',
      shared: false,
      text: '$(loading~spin) Porthole: Starting...',
      tooltip: [`Starting ${starting.map((s) => s.folderName).join(', ')}...`, ...runningLines],
      accessibilityLabel: 'Porthole server starting',
      command: 'none',
    };
  }
  if (stopping.length > 0) {
    return {
      kind: 'stopping',
      shared: false,
      text: '$(loading~spin) Porthole: Stopping...',
      tooltip: [`Stopping ${stopping.map((s) => s.folderName).join(', ')}...`, ...runningLines],
      accessibilityLabel: 'Porthole server stopping',
      command: 'none',
    };
  }
  if (running.length > 0) {
    const ports = running.map((s) => (s.state.kind === 'running' ? s.state.address.port : 0));
    const shared = running.some((s) => s.networkUrls !== undefined);
    return {
      kind: 'running',
      shared,
      text: `${shared ? '$(radio-tower)' : '$(circle-slash)'} Port : ${ports.join(', ')}`,
      tooltip: [
        shared
          ? `Porthole is live and shared on the network (${countOf(running.length, 'server')}). Click for actions.`
          : `Porthole is live (${countOf(running.length, 'server')}). Click for actions.`,
        ...runningLines,
      ],
      accessibilityLabel: `Porthole live on port ${ports.join(', ')}${shared ? ', shared on the network' : ''}. Activate for Open in Browser, Copy URL, Show Requests or Stop.`,
      command: 'menu',
    };
  }
  const failed = servers.filter((s) => s.state.kind === 'stopped' && s.state.failure !== undefined);
  if (failed.length > 0) {
    const reasons = failed.map((s) => (s.state.kind === 'stopped' && s.state.failure ? s.state.failure.message : ''));
    return {
      kind: 'failed',
      shared: false,
      text: '$(warning) Go Live',
      tooltip: [...reasons, 'Click to try again.'],
      accessibilityLabel: `Porthole failed to start: ${reasons.join(' ')} Activate to try again.`,
      command: 'start',
    };
  }
  return {
    kind: 'stopped',
    shared: false,
    text: '$(broadcast) Go Live',
    tooltip: ['Start the Porthole preview server for this workspace'],
    accessibilityLabel: 'Go Live: start the Porthole preview server',
    command: 'start',
  };
}

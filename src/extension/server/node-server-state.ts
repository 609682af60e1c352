/**
 * The lifecycle of one folder's server as a `kind`-tagged state machine (never boolean toggles):
 *
 *   stopped ──start──▶ starting ──listening──▶ running ──stop──▶ stopping ──closed──▶ stopped
 *                         │                       │
 *                         └──failed──▶ stopped    └──exited──▶ stopped (with the failure)
 *
 * `transition` is pure and total: an event that makes no sense in a state returns `undefined`, and
 * the caller ignores it. A stopped state may carry the last failure (shown as a warning).
 */
import { cutAtCharacter, type BoundAddress } from '../../core';
import type { PortholeConfig } from '../config/node-config';

export interface ServerFailure {
  /** A stable code (EADDRINUSE, EACCES, EADDRNOTAVAIL, ENOENT, ERR_WORKER_EXIT, …) or 'ERR_UNKNOWN'. */
  readonly code: string;
  /** Plain words, one line. */
  readonly message: string;
}

export type ServerState =
  | { readonly kind: 'stopped'; readonly failure: ServerFailure | undefined }
  | { readonly kind: 'starting'; readonly config: PortholeConfig }
  | { readonly kind: 'running'; readonly config: PortholeConfig; readonly address: BoundAddress; readonly since: number }
  | { readonly kind: 'stopping'; readonly config: PortholeConfig };

export type ServerEvent =
  | { readonly type: 'start'; readonly config: PortholeConfig }
  | { readonly type: 'listening'; readonly address: BoundAddress; readonly at: number }
  | { readonly type: 'failed'; readonly failure: ServerFailure }
  | { readonly type: 'stop' }
  /** Settings applied to the running server without a restart (listing, access lists, …). */
  | { readonly type: 'reconfigured'; readonly config: PortholeConfig }
  | { readonly type: 'closed' }
  | { readonly type: 'exited'; readonly failure: ServerFailure };

export const INITIAL_STATE: ServerState = { kind: 'stopped', failure: undefined };

/** The next state, or undefined when `event` does not apply to `state`. */
export function transition(state: ServerState, event: ServerEvent): ServerState | undefined {
  switch (state.kind) {
    case 'stopped':
      return event.type === 'start' ? { kind: 'starting', config: event.config } : undefined;
    case 'starting':
      if (event.type === 'listening') return { kind: 'running', config: state.config, address: event.address, since: event.at };
      if (event.type === 'failed' || event.type === 'exited') return { kind: 'stopped', failure: event.failure };
      return undefined;
    case 'running':
      if (event.type === 'stop') return { kind: 'stopping', config: state.config };
      if (event.type === 'reconfigured') return { ...state, config: event.config };
      if (event.type === 'exited') return { kind: 'stopped', failure: event.failure };
      return undefined;
    case 'stopping':
      if (event.type === 'closed') return { kind: 'stopped', failure: undefined };
      if (event.type === 'exited') return { kind: 'stopped', failure: undefined };
      return undefined;
  }
}

/** A failure from anything thrown (keeps `.code` when it is a string). */
export function toFailure(error: unknown, fallbackCode = 'ERR_UNKNOWN'): ServerFailure {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : fallbackCode, message: firstLine(error.message) };
  }
  return { code: fallbackCode, message: firstLine(String(error)) };
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > 300 ? `${cutAtCharacter(line, 297)}...` : line;
}

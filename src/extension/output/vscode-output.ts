/**
 * The "Porthole" LogOutputChannel: diagnostics at their levels, one line per request (throttled by
 * a LineBudget so 1,000 requests a second never flood it), and failures reported in full in the
 * log plus a one-line notification offering "Show Log".
 */
import * as vscode from 'vscode';
import type { ConsoleEntry, DiagnosticLevel, RequestRecord } from '../../core';
import { OUTPUT_CHANNEL_NAME } from '../commands/node-command-ids';
import type { ControllerLog } from '../server/node-server-controller';
import { Disposable } from '../common/node-disposable';
import { MESSAGE_MAX, consoleLogLevel, formatConsoleEntry, formatRequestLine, messageText, sanitizeLines, sanitizeOneLine } from './node-format';
import { LineBudget, OUTPUT_CONSOLE_ENTRIES_PER_SECOND } from './node-line-budget';

const SHOW_LOG = 'Show Log';

export class PortholeOutput extends Disposable implements ControllerLog {
  readonly channel: vscode.LogOutputChannel;
  private readonly budget = new LineBudget();
  /** Console entries get a budget of their own (the core passes at most 200 a second server-wide, each up to 51 lines). */
  private readonly consoleBudget = new LineBudget(OUTPUT_CONSOLE_ENTRIES_PER_SECOND);

  constructor() {
    super();
    this.channel = this.register(vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true }));
  }

  /** The core's level names are the LogOutputChannel's method names; the text is sanitised. */
  log(level: DiagnosticLevel, message: string): void {
    this.channel[level](sanitizeOneLine(message, MESSAGE_MAX));
  }

  /** One line per request, within the per-second budget; the rest summarised in one line. */
  requests(server: string | undefined, records: readonly RequestRecord[]): void {
    const { write, skip } = this.budget.take(records.length, Date.now());
    for (let i = 0; i < write; i++) {
      const r = records[i];
      if (r) this.channel.info(formatRequestLine(r, server));
    }
    if (skip > 0) {
      this.channel.info(`... ${skip} more request${skip === 1 ? '' : 's'} not shown here (they are in the log file and the Requests view)`);
    }
  }

  /**
   * Pages' console messages (porthole.console.forward), each at its level (console.log and info
   * at info, debug at debug): `console.error 192.168.1.7 (phone) http://…/: message (app.js:3:9)`
   * and the stack indented below. The core bounded them (50 a second per address, 200 for the
   * server) and escaped them; with several servers (workspace folders) this channel's own budget
   * (OUTPUT_CONSOLE_ENTRIES_PER_SECOND) binds them together, the rest summarised in one line.
   */
  console(server: string | undefined, entries: readonly ConsoleEntry[]): void {
    const { write, skip } = this.consoleBudget.take(entries.length, Date.now());
    for (let i = 0; i < write; i++) {
      const entry = entries[i];
      if (entry) this.channel[consoleLogLevel(entry)](formatConsoleEntry(entry, server));
    }
    if (skip > 0) this.channel.warn(`... ${skip} more console message${skip === 1 ? '' : 's'} not shown here (they are in the Requests view)`);
  }

  /** The log and the notification get sanitised text only (an error's message may quote outside text). */
  failure(rawSummary: string, error: unknown): void {
    const summary = sanitizeOneLine(rawSummary, MESSAGE_MAX);
    this.channel.error(summary);
    if (error instanceof Error) this.channel.error(sanitizeLines(error.stack ?? `${error.name}: ${error.message}`));
    else if (typeof error === 'string' && error !== rawSummary) this.channel.error(sanitizeLines(error));
    // A summary may quote outside text (a folder name, a config file's value): no markup in the notification.
    void vscode.window.showErrorMessage(messageText(rawSummary, MESSAGE_MAX), SHOW_LOG).then((choice) => {
      if (choice === SHOW_LOG) this.channel.show(true);
    });
  }

  show(): void {
    this.channel.show(true);
  }
}

/**
 * Reads `porthole.*` for a workspace folder into the validated snapshot of node-config.ts, and
 * turns a folder into the FolderContext the pure modules need.
 */
import * as vscode from 'vscode';
import type { ConfigSnapshot, FolderContext } from './node-config';
import { CONFIG_SECTION, readConfig } from './node-config';

export function readFolderConfig(folder: vscode.WorkspaceFolder | undefined): ConfigSnapshot {
  const section = vscode.workspace.getConfiguration(CONFIG_SECTION, folder?.uri);
  // Set at any level (user, workspace, folder): only these override porthole.config.json.
  const isSet = (key: string): boolean => {
    const i = section.inspect(key);
    return i !== undefined && (i.globalValue !== undefined || i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
  };
  return readConfig((key) => section.get<unknown>(key), isSet);
}

export function folderContext(folder: vscode.WorkspaceFolder, logUri: vscode.Uri): FolderContext {
  return { folderPath: folder.uri.fsPath, folderName: folder.name, logDir: logUri.fsPath };
}

/** True when a configuration change touches porthole settings of `folder`. */
export function affectsPorthole(event: vscode.ConfigurationChangeEvent, folder?: vscode.WorkspaceFolder): boolean {
  return event.affectsConfiguration(CONFIG_SECTION, folder?.uri);
}

/**
 * `--token-file`: the token of create or rotate goes to a new file of mode 0600 instead of stdout
 * (docs/cli.md#tokens). The file is checked before the request, so a refusal to overwrite costs no
 * key; it is created with its mode (never widened after), and `--force` replaces an existing one.
 */
import { existsSync, lstatSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Context, userPath } from '../context';
import { CliFailure, UsageError } from '../errors';
import type { Options } from '../kit';

export interface TokenFile {
  readonly path: string;
  readonly force: boolean;
}

export function tokenFileOptions(command: Command): Command {
  return command
    .option('--token-file <path>', 'write the token to this new file (mode 0600) instead of printing it')
    .option('--force', 'with --token-file: replace the file if it exists');
}

/** Where the token goes, checked before anything is sent; `undefined`: stdout. */
export function tokenTarget(ctx: Context, o: Options): TokenFile | undefined {
  if (o.tokenFile === undefined) {
    if (o.force) throw new UsageError('--force goes with --token-file');
    return undefined;
  }
  const path = userPath(ctx.deps, o.tokenFile);
  if (existsSync(path)) {
    if (!o.force) throw new UsageError(`--token-file: ${o.tokenFile} exists; give --force to replace it`);
    if (!lstatSync(path).isFile()) throw new UsageError(`--token-file: ${o.tokenFile} is not a regular file`);
  }
  return { path, force: o.force === true };
}

export function writeToken(file: TokenFile, token: string, keyId: string): void {
  try {
    // A replaced file is removed first: writeFileSync's mode applies only to a file it creates.
    if (file.force && existsSync(file.path)) unlinkSync(file.path);
    writeFileSync(file.path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new CliFailure(
      `the key ${keyId} has a new token, but it could not be written to ${file.path} (${(e as Error).message}); rotate the key to get another`,
    );
  }
}

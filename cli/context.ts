/**
 * What every command gets: the global options, the printer, and the signed API client built on
 * first use (so `--help` and usage errors never need credentials or an endpoint).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ManagementApi } from '../sdk/management';
import { UsageError } from './errors';
import type { CliIo, Printer } from './output';
import { resolveTarget, type TargetDeps, type TargetOptions } from './target';

export interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
}

export interface CliDeps extends TargetDeps {
  readonly io: CliIo;
  /** Everything on stdin, for `-` as a file name. */
  readonly readStdin: () => Promise<string>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface Context {
  readonly out: Printer;
  readonly deps: CliDeps;
  api(): Promise<ManagementApi>;
}

export function context(options: GlobalOptions, out: Printer, deps: CliDeps): Context {
  let api: Promise<ManagementApi> | undefined;
  return {
    out,
    deps,
    api() {
      api ??= resolveTarget(options, deps).then(
        (t) =>
          new ManagementApi({
            baseUrl: t.baseUrl,
            region: t.region,
            credentials: t.credentials,
            ...(deps.fetch ? { fetch: deps.fetch } : {}),
          }),
      );
      return api;
    },
  };
}

/** A path as the user meant it: relative to the CLI's working directory. */
export function userPath(deps: CliDeps, path: string): string {
  return isAbsolute(path) ? path : join(deps.cwd, path);
}

/** A JSON object from a file, or from stdin for `-` (`--body`, `--file`). */
export async function readJsonObject(
  deps: CliDeps,
  path: string,
  option: string,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = path === '-' ? await deps.readStdin() : readFileSync(userPath(deps, path), 'utf8');
  } catch (e) {
    throw new UsageError(`${option}: cannot read ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${option}: ${path} is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${option}: ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

// Option parsers: commander reports their errors as usage errors (exit 2), naming the option.

export function wholeNumber(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

/** Repeatable, and comma-separated lists too: `--scope a:read --scope b:read,c:read`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

export function jsonValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be JSON');
  }
}

export function booleanWord(value: string): boolean {
  if (['true', 'on', 'yes'].includes(value)) return true;
  if (['false', 'off', 'no'].includes(value)) return false;
  throw new InvalidArgumentError('must be true or false');
}

/** `30m`, `1h`, `7d` stay strings (the API reads units); `3600` becomes the number. */
export function interval(value: string): string | number {
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Only the fields that were given. */
export function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

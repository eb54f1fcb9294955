/** Wiring shared by the command groups: actions with their context, paging, common options. */
import type { Command } from 'commander';
import type { Query } from '../sdk/management';
import { type CliDeps, type Context, context, wholeNumber } from './context';
import { Printer } from './output';

// biome-ignore lint/suspicious/noExplicitAny: commander's option values are untyped
export type Options = Record<string, any>;

export type Handler = (ctx: Context, args: string[], options: Options) => Promise<number | undefined>;

/** What the run ends with, set by the action that ran. */
export interface RunState {
  exitCode: number;
}

export interface Kit {
  /** The root command: groups are created on it so they inherit its output and exit settings. */
  readonly program: Command;
  readonly deps: CliDeps;
  readonly state: RunState;
}

/** Runs `handler` for `command` with its positional arguments and every option (globals included). */
export function act(kit: Kit, command: Command, handler: Handler): Command {
  return command.action(async (...raw: unknown[]) => {
    const self = raw[raw.length - 1] as Command;
    const options = self.optsWithGlobals() as Options;
    const args = raw.slice(0, -2).filter((a): a is string => typeof a === 'string');
    const out = new Printer(kit.deps.io, options.json === true);
    kit.state.exitCode = (await handler(context(options, out, kit.deps), args, options)) ?? 0;
  });
}

/** `--limit`, `--next-token`, `--all`, for every listing. */
export function pagingOptions(command: Command, max = 100): Command {
  return command
    .option('--limit <n>', `items per page (1-${max}; the API's default when absent)`, wholeNumber)
    .option('--next-token <token>', 'start at this page (the next_token of the page before)')
    .option('--all', 'follow next_token to the last page and print every item');
}

export interface Page {
  items: Record<string, unknown>[];
  next_token: string | null;
  [field: string]: unknown;
}

/** One page, or with `--all` every page from `--next-token` on, merged (`next_token: null`). */
export async function listPages(ctx: Context, path: string, query: Query, options: Options): Promise<Page> {
  const api = await ctx.api();
  let token: string | undefined = options.nextToken;
  let merged: Page | undefined;
  for (;;) {
    const page = await api.request<Page>('GET', path, {
      query: { ...query, limit: options.limit, next_token: token },
    });
    merged = merged
      ? { ...merged, items: [...merged.items, ...page.items], next_token: page.next_token }
      : page;
    if (!options.all || !page.next_token) return merged;
    token = page.next_token;
  }
}

/** Prints a listing: the API's JSON, or the table and where the next page starts. */
export function printPage(ctx: Context, page: Page, columns: Parameters<Printer['table']>[1]): void {
  if (ctx.out.json) {
    ctx.out.printJson(page);
    return;
  }
  ctx.out.table(page.items, columns);
  if (page.next_token) ctx.out.line(`next page: --next-token ${page.next_token}`);
}

/** A single answer: the API's JSON, or its fields as a table (policy warnings on stderr). */
export function printRecord(ctx: Context, answer: unknown, omit: readonly string[] = []): void {
  if (ctx.out.json) {
    ctx.out.printJson(answer);
    return;
  }
  ctx.out.record(answer as Record<string, unknown>, ['policy_warnings', ...omit]);
  ctx.out.warnings(answer);
}

/** Path segments are user input: encode them, so `../` or `?` cannot change the route. */
export const seg = (value: string): string => encodeURIComponent(value);

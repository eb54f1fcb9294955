/** `latchkey keys …`: every `/v1/api-keys` route and `POST /v1/keys/verify` (docs/cli.md#keys). */
import { readFileSync, writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { errorFromResponse } from '../../sdk/management';
import {
  booleanWord,
  type Context,
  collect,
  defined,
  interval,
  jsonValue,
  readJsonObject,
  userPath,
  wholeNumber,
} from '../context';
import { UsageError } from '../errors';
import {
  act,
  type Kit,
  listPages,
  type Options,
  type Page,
  pagingOptions,
  printPage,
  printRecord,
  seg,
} from '../kit';
import type { Column } from '../output';
import { auditColumns } from './audit';
import { type TokenFile, tokenFileOptions, tokenTarget, writeToken } from './token-file';

const ENVIRONMENTS = ['production', 'staging', 'sandbox', 'development'];
const STATUSES = ['active', 'disabled', 'expired', 'revoked'];
/**
 * Fields `keys update --clear` may set to null (docs/management-api.md#update). Listed, not derived
 * from the API's schema, which would bundle zod and the handlers into the CLI;
 * test/unit/cli-commands.test.ts holds the two equal.
 */
export const CLEARABLE = [
  'description',
  'rate_limit',
  'rate_limit_window_seconds',
  'remaining',
  'refill_amount',
  'refill_interval',
  'ip_allowlist',
  'expires_at',
  'metadata',
  'rotation',
];

export const keyColumns: Column[] = [
  { header: 'ID', value: 'id' },
  { header: 'NAME', value: 'name' },
  { header: 'ENV', value: 'environment' },
  { header: 'STATUS', value: 'status' },
  { header: 'SCOPES', value: 'scopes' },
  { header: 'ORG', value: 'organization_id' },
  { header: 'WORKSPACE', value: 'workspace_id' },
  { header: 'EXPIRES', value: 'expires_at' },
  { header: 'LAST USED', value: 'last_used_at' },
  { header: 'CREATED', value: 'created_at' },
];

/** Options shared by create and update: the key's settings, by their API field. */
function settingsOptions(command: Command): Command {
  return command
    .option('--description <text>', 'what the key is for')
    .option('--scope <scope>', 'a scope to grant, e.g. agents:read (repeat, or comma-separate)', collect)
    .option('--expires-at <timestamp>', 'expiry, ISO-8601 with an offset, e.g. 2030-01-31T00:00:00Z')
    .option('--rate-limit <n>', 'requests per window', wholeNumber)
    .option('--rate-limit-window <seconds>', 'the rate window (default 60)', wholeNumber)
    .option('--remaining <n>', 'the quota: requests the key may make (until a refill)', wholeNumber)
    .option('--refill-amount <n>', 'requests the quota gets back every refill interval', wholeNumber)
    .option('--refill-interval <interval>', 'seconds, or 30m, 1h, 7d', interval)
    .option('--ip <cidr>', 'an allowed source IP or CIDR (repeat, or comma-separate)', collect)
    .option('--metadata <json>', 'a JSON object stored encrypted with the key', jsonValue)
    .option(
      '--rotate-every-days <n>',
      'scheduled rotation: every n days (with --rotation-destination)',
      wholeNumber,
    )
    .option('--rotation-grace <seconds>', 'scheduled rotation: grace of the old secret', wholeNumber)
    .option('--rotation-destination <arn>', 'scheduled rotation: the Secrets Manager secret (latchkey/...)')
    .option(
      '--body <file>',
      'the JSON body from a file (- for stdin); the options above override its fields',
    );
}

function settingsOf(o: Options): Record<string, unknown> {
  const rotation =
    o.rotateEveryDays !== undefined || o.rotationGrace !== undefined || o.rotationDestination !== undefined
      ? defined({
          every_days: o.rotateEveryDays,
          grace_period_seconds: o.rotationGrace,
          destination: o.rotationDestination,
        })
      : undefined;
  return defined({
    name: o.name,
    description: o.description,
    scopes: o.scope,
    expires_at: o.expiresAt,
    rate_limit: o.rateLimit,
    rate_limit_window_seconds: o.rateLimitWindow,
    remaining: o.remaining,
    refill_amount: o.refillAmount,
    refill_interval: o.refillInterval,
    ip_allowlist: o.ip,
    metadata: o.metadata,
    rotation,
  });
}

async function bodyOf(
  ctx: Context,
  o: Options,
  fields: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const base = o.body === undefined ? {} : await readJsonObject(ctx.deps, o.body, '--body');
  return { ...base, ...fields };
}

/** create and rotate: the token once, on stdout or in `--token-file`, never both. */
async function deliver(
  ctx: Context,
  answer: Record<string, unknown>,
  file: TokenFile | undefined,
): Promise<void> {
  const { key: token, ...rest } = answer;
  if (typeof token !== 'string') throw new UsageError('the API answered without a token');
  if (file) {
    writeToken(file, token, String(answer.id ?? ''));
    if (ctx.out.json) ctx.out.printJson(rest);
    else printRecord(ctx, rest);
    ctx.out.note(`The token was written to ${file.path} (mode 0600); it is not shown again.`);
    return;
  }
  if (ctx.out.json) {
    ctx.out.printJson(answer);
    return;
  }
  printRecord(ctx, rest);
  ctx.out.line(`token: ${token}`);
  ctx.out.note('Store the token now: it is shown once and cannot be read again.');
}

const filterQuery = (o: Options) => ({
  status: o.status,
  environment: o.environment,
  scope: o.scope,
  organization_id: o.org,
  workspace_id: o.workspace,
});

function filterOptions(command: Command): Command {
  return command
    .addOption(new Option('--status <status>', 'effective status').choices(STATUSES))
    .addOption(new Option('--environment <env>', 'environment').choices(ENVIRONMENTS))
    .option('--scope <scope>', 'keys holding exactly this scope, e.g. agents:read')
    .option('--org <org>', 'organization id')
    .option('--workspace <workspace>', 'workspace id');
}

function statusTable(ctx: Context, title: string, rows: Record<string, unknown>[], first: string) {
  ctx.out.line(title);
  ctx.out.table(rows, [
    { header: first, value: 'label' },
    ...['total', 'active', 'disabled', 'expired', 'revoked'].map((f) => ({
      header: f.toUpperCase(),
      value: f,
    })),
  ]);
}

// biome-ignore lint/suspicious/noExplicitAny: the overview is printed field by field
function printOverview(ctx: Context, o: any): void {
  statusTable(
    ctx,
    `Keys${o.organization_id ? ` of ${o.organization_id}` : ''} at ${o.generated_at}`,
    [{ label: 'all', ...o.keys }],
    'KEYS',
  );
  statusTable(
    ctx,
    '\nBy environment',
    Object.entries(o.by_environment ?? {}).map(([env, counts]) => ({ label: env, ...(counts as object) })),
    'ENVIRONMENT',
  );
  ctx.out.line('\nBy module');
  ctx.out.table(o.by_module ?? [], [
    { header: 'MODULE', value: 'module' },
    { header: 'KEYS', value: 'key_count' },
    { header: 'RISK', value: 'risk_level' },
    { header: 'LAST USED', value: 'last_used_at' },
  ]);
  ctx.out.line(`\nMost used keys on ${o.most_used_keys?.day}`);
  ctx.out.table(o.most_used_keys?.items ?? [], [
    { header: 'KEY', value: 'key_id' },
    { header: 'NAME', value: 'name' },
    { header: 'STATUS', value: 'status' },
    { header: 'ALLOWED', value: 'allowed' },
  ]);
  for (const [title, figures] of [
    ['Failed authentications', o.failed_authentications],
    ['Denied requests', o.denied_requests],
  ] as const) {
    ctx.out.line(`\n${title} from ${figures?.from} to ${figures?.to}: ${figures?.total ?? 0}`);
    if (figures?.by_reason && Object.keys(figures.by_reason).length > 0) {
      ctx.out.table(
        Object.entries(figures.by_reason).map(([reason, count]) => ({ reason, count })),
        [
          { header: 'REASON', value: 'reason' },
          { header: 'COUNT', value: 'count' },
        ],
      );
    }
  }
}

async function exportKeys(ctx: Context, o: Options): Promise<void> {
  let text: string;
  let next: string | null;
  if (o.format === 'json') {
    const page = await listPages(ctx, '/v1/api-keys/export', { ...filterQuery(o), format: 'json' }, o);
    text = `${JSON.stringify(page, null, 2)}\n`;
    next = page.next_token;
  } else {
    const api = await ctx.api();
    text = '';
    let token: string | undefined = o.nextToken;
    for (;;) {
      const answer = await api.raw('GET', '/v1/api-keys/export', {
        query: { ...filterQuery(o), format: 'csv', limit: o.limit, next_token: token },
      });
      if (answer.status !== 200) throw errorFromResponse(answer.status, answer.text, answer.headers);
      // Every page starts with the header row: only the first page's is kept.
      const body = text === '' ? answer.text : answer.text.slice(answer.text.indexOf('\n') + 1);
      text += body === '' || body.endsWith('\n') ? body : `${body}\n`;
      next = answer.headers.get('x-next-token');
      if (!o.all || !next) break;
      token = next;
    }
  }
  if (o.output) {
    writeFileSync(userPath(ctx.deps, o.output), text);
    ctx.out.note(`Wrote the ${o.format === 'json' ? 'JSON' : 'CSV'} export to ${o.output}.`);
  } else {
    ctx.deps.io.stdout(text);
  }
  if (next) ctx.out.note(`More keys: add --next-token ${next} (or --all).`);
}

export function keysCommand(kit: Kit): Command {
  const keys = kit.program
    .command('keys')
    .description('API keys: create, list, change, rotate, revoke, audit, export');

  act(
    kit,
    tokenFileOptions(
      settingsOptions(
        keys
          .command('create')
          .description('create a key; prints its token once (or writes it to --token-file)')
          .option('--name <name>', 'the key name (required unless in --body)')
          .addOption(new Option('--environment <env>', 'default development').choices(ENVIRONMENTS))
          .option('--expires-in-days <n>', 'expiry in days (instead of --expires-at)', wholeNumber)
          .option('--org <org>', 'organization id (default: default)')
          .option('--workspace <workspace>', 'workspace id, for workspace keys (default: default)')
          .addOption(
            new Option('--type <type>', 'key type (default workspace)').choices([
              'workspace',
              'organization',
              'system',
            ]),
          ),
      ),
    ).addHelpText(
      'after',
      `
Examples:
  latchkey keys create --name ci --scope agents:read --scope metrics:read --expires-in-days 90
  latchkey keys create --name billing --environment production --scope agents:read,agents:write \\
    --org acme --workspace acme-prod --rate-limit 100 --token-file ./billing.token`,
    ),
    async (ctx, _args, o) => {
      const file = tokenTarget(ctx, o);
      const body = await bodyOf(ctx, o, {
        ...settingsOf(o),
        ...defined({
          environment: o.environment,
          expires_in_days: o.expiresInDays,
          organization_id: o.org,
          workspace_id: o.workspace,
          key_type: o.type,
        }),
      });
      const api = await ctx.api();
      const answer = await api.request<Record<string, unknown>>('POST', '/v1/api-keys', { body });
      await deliver(ctx, answer, file);
      return 0;
    },
  );

  act(
    kit,
    pagingOptions(filterOptions(keys.command('list').description('list keys, newest first'))).addHelpText(
      'after',
      `
Examples:
  latchkey keys list --status active --environment production
  latchkey keys list --org acme --all --json`,
    ),
    async (ctx, _args, o) => {
      printPage(ctx, await listPages(ctx, '/v1/api-keys', filterQuery(o), o), keyColumns);
      return 0;
    },
  );

  act(
    kit,
    keys.command('get').description('one key (never its token or hash)').argument('<id>', 'key id'),
    async (ctx, [id], _o) => {
      printRecord(ctx, await (await ctx.api()).request('GET', `/v1/api-keys/${seg(id as string)}`));
      return 0;
    },
  );

  act(
    kit,
    settingsOptions(
      keys
        .command('update')
        .description('change a key: only the fields given change')
        .argument('<id>', 'key id')
        .option('--name <name>', 'a new name')
        .option('--enabled <bool>', 'true to enable, false to disable', booleanWord)
        .option('--clear <field>', `set a field to null (repeat): ${CLEARABLE.join(', ')}`, collect),
    ).addHelpText(
      'after',
      `
Examples:
  latchkey keys update a1B2c3D4e5F6 --scope agents:read --rate-limit 50
  latchkey keys update a1B2c3D4e5F6 --clear expires_at --clear ip_allowlist`,
    ),
    async (ctx, [id], o) => {
      const cleared: string[] = o.clear ?? [];
      const bad = cleared.filter((f) => !CLEARABLE.includes(f));
      if (bad.length > 0)
        throw new UsageError(`--clear: ${bad.join(', ')} cannot be cleared (${CLEARABLE.join(', ')})`);
      const body = await bodyOf(ctx, o, {
        ...settingsOf(o),
        ...defined({ enabled: o.enabled }),
        ...Object.fromEntries(cleared.map((f) => [f, null])),
      });
      if (Object.keys(body).length === 0)
        throw new UsageError('nothing to change: give at least one option (see --help)');
      printRecord(
        ctx,
        await (await ctx.api()).request('PATCH', `/v1/api-keys/${seg(id as string)}`, { body }),
      );
      return 0;
    },
  );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    act(
      kit,
      keys
        .command(verb)
        .description(
          `${verb} a key (${enabled ? 'it authorizes again' : 'the authorizer refuses it until enabled'})`,
        )
        .argument('<id>', 'key id'),
      async (ctx, [id]) => {
        printRecord(
          ctx,
          await (await ctx.api()).request('PATCH', `/v1/api-keys/${seg(id as string)}`, {
            body: { enabled },
          }),
        );
        return 0;
      },
    );
  }

  act(
    kit,
    keys
      .command('revoke')
      .description('revoke a key for good (revoking a revoked key changes nothing)')
      .argument('<id>', 'key id'),
    async (ctx, [id]) => {
      printRecord(ctx, await (await ctx.api()).request('DELETE', `/v1/api-keys/${seg(id as string)}`));
      return 0;
    },
  );

  act(
    kit,
    tokenFileOptions(
      keys
        .command('rotate')
        .description('give a key a new secret; prints the new token once (or writes it to --token-file)')
        .argument('<id>', 'key id')
        .option(
          '--grace <seconds>',
          'how long the old secret keeps working (0-604800, default 0)',
          wholeNumber,
        )
        .option('--end-previous-grace', "end a previous rotation's grace now"),
    ).addHelpText(
      'after',
      `
Example:
  latchkey keys rotate a1B2c3D4e5F6 --grace 3600 --token-file ./new.token`,
    ),
    async (ctx, [id], o) => {
      const file = tokenTarget(ctx, o);
      const body = defined({
        grace_period_seconds: o.grace,
        end_previous_grace: o.endPreviousGrace === true ? true : undefined,
      });
      const answer = await (await ctx.api()).request<Record<string, unknown>>(
        'POST',
        `/v1/api-keys/${seg(id as string)}/rotate`,
        Object.keys(body).length > 0 ? { body } : {},
      );
      await deliver(ctx, answer, file);
      return 0;
    },
  );

  act(
    kit,
    keys
      .command('usage')
      .description("a key's traffic: current window, quota, totals, hourly series")
      .argument('<id>', 'key id'),
    async (ctx, [id]) => {
      // biome-ignore lint/suspicious/noExplicitAny: printed field by field
      const usage = await (await ctx.api()).request<any>('GET', `/v1/api-keys/${seg(id as string)}/usage`);
      if (ctx.out.json) {
        ctx.out.printJson(usage);
        return 0;
      }
      printRecord(ctx, usage, ['series']);
      ctx.out.line('\nPer hour (last 30 days, hours with traffic)');
      ctx.out.table(usage.series?.hours ?? [], [
        { header: 'HOUR', value: 'start' },
        { header: 'ALLOWED', value: 'allowed' },
        { header: 'DENIED', value: 'denied' },
        { header: 'DENIED BY REASON', value: 'denied_by_reason' },
      ]);
      return 0;
    },
  );

  act(
    kit,
    pagingOptions(
      keys.command('audit').description("a key's audit history, newest first").argument('<id>', 'key id'),
    ),
    async (ctx, [id], o) => {
      printPage(ctx, await listPages(ctx, `/v1/api-keys/${seg(id as string)}/audit`, {}, o), auditColumns);
      return 0;
    },
  );

  act(
    kit,
    keys
      .command('overview')
      .description(
        'the registry at a glance: counts by status, environment and module, most used keys, refusals',
      )
      .option('--org <org>', "one organization's figures (default: the whole registry, super admins)")
      .option('--day <YYYY-MM-DD>', 'the day of the most-used ranking (UTC, default today)'),
    async (ctx, _args, o) => {
      const overview = await (await ctx.api()).request('GET', '/v1/api-keys/overview', {
        query: { organization_id: o.org, day: o.day },
      });
      if (ctx.out.json) ctx.out.printJson(overview);
      else printOverview(ctx, overview);
      return 0;
    },
  );

  act(
    kit,
    pagingOptions(
      filterOptions(
        keys
          .command('export')
          .description('the registry as CSV or JSON, to stdout or --output')
          .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
          .option('--output <file>', 'write to this file instead of stdout'),
      ),
      500,
    ).addHelpText(
      'after',
      `
Example:
  latchkey keys export --format csv --all --output registry.csv`,
    ),
    async (ctx, _args, o) => {
      await exportKeys(ctx, o);
      return 0;
    },
  );

  act(
    kit,
    keys.command('scopes').description('the scope catalog: every scope, its module and risk level'),
    async (ctx) => {
      const answer = await (await ctx.api()).request<Page>('GET', '/v1/api-keys/scopes');
      if (ctx.out.json) ctx.out.printJson(answer);
      else
        ctx.out.table(answer.items, [
          { header: 'SCOPE', value: 'scope' },
          { header: 'MODULE', value: 'module' },
          { header: 'PERMISSION', value: 'permission' },
          { header: 'RISK', value: 'risk_level' },
          { header: 'DESCRIPTION', value: 'description' },
        ]);
      return 0;
    },
  );

  act(
    kit,
    keys
      .command('verify')
      .description("the authorizer's decision on a token, for a route or a scope; exits 1 when it is refused")
      .option('--token-from <file>', 'read the token from this file (- for stdin)')
      .option('--api <api>', 'the registered API (default: default)')
      .option('--route <route>', 'the route, "METHOD /path"')
      .option('--scope <scope>', 'a scope the key must hold (instead of --route)')
      .option('--source-ip <ip>', "the caller's IP address")
      .addHelpText(
        'after',
        `
The token is read from a file or stdin, never from the command line (which other users can see).

Example:
  latchkey keys verify --token-from ./ci.token --route "GET /demo/agents"`,
      ),
    async (ctx, _args, o) => {
      let key: string | undefined;
      if (o.tokenFrom !== undefined) {
        key = (
          o.tokenFrom === '-'
            ? await ctx.deps.readStdin()
            : readFileSync(userPath(ctx.deps, o.tokenFrom), 'utf8')
        ).trim();
      }
      const answer = await (await ctx.api()).request<{ valid?: boolean }>('POST', '/v1/keys/verify', {
        body: defined({ key, api: o.api, route: o.route, scope: o.scope, source_ip: o.sourceIp }),
      });
      printRecord(ctx, answer);
      return answer.valid === true ? 0 : 1;
    },
  );

  return keys;
}

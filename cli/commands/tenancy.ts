/**
 * `latchkey orgs …`, `workspaces …`, `bindings …`, `root-mode …`, `whoami`: the tenancy routes
 * (docs/tenancy.md, docs/cli.md#organizations-workspaces-bindings-root-mode).
 */
import { type Command, Option } from 'commander';
import { type Context, collect, defined, readJsonObject, wholeNumber } from '../context';
import { UsageError } from '../errors';
import { act, type Kit, listPages, pagingOptions, printPage, printRecord, seg } from '../kit';

const ROLES = ['member', 'auditor', 'workspace_admin', 'org_owner', 'super_admin'];

const tenantColumns = (id: string) => [
  { header: 'ID', value: id },
  { header: 'NAME', value: 'name' },
  { header: 'STATUS', value: 'status' },
  { header: 'CREATED', value: 'created_at' },
  { header: 'UPDATED', value: 'updated_at' },
];

// biome-ignore lint/suspicious/noExplicitAny: printed field by field
function printPolicy(ctx: Context, policy: any): void {
  if (ctx.out.json) {
    ctx.out.printJson(policy);
    return;
  }
  printRecord(ctx, policy, ['rules', 'deploy_rules', 'built_in']);
  ctx.out.line('\nBuilt-in policies');
  ctx.out.table(
    Object.entries(policy.built_in ?? {}).map(([name, value]) => ({ name, ...(value as object) })),
    [
      { header: 'POLICY', value: 'name' },
      { header: 'ENABLED', value: 'enabled' },
      {
        header: 'SETTINGS',
        value: (r) =>
          JSON.stringify(
            Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'name' && k !== 'enabled')),
          ),
      },
    ],
  );
  for (const [title, rules] of [
    ['Rules of the deployment', policy.deploy_rules],
    ['Rules of the organization', policy.rules],
  ] as const) {
    if (rules === undefined) continue;
    ctx.out.line(`\n${title}`);
    ctx.out.table(rules, [
      { header: 'ID', value: 'id' },
      { header: 'EFFECT', value: 'effect' },
      { header: 'ACTIONS', value: 'actions' },
      { header: 'WHEN', value: 'when' },
      { header: 'DESCRIPTION', value: 'description' },
    ]);
  }
}

function orgsCommand(kit: Kit): Command {
  const orgs = kit.program.command('orgs').description('organizations and their policies');
  act(
    kit,
    orgs
      .command('create')
      .description('create an organization (super admins); its default workspace comes with it')
      .argument('<org>', 'organization id: 1-64 letters, digits, _ . -')
      .requiredOption('--name <name>', 'display name')
      .addHelpText('after', '\nExample:\n  latchkey orgs create beta --name "Beta Inc."'),
    async (ctx, [org], o) => {
      printRecord(
        ctx,
        await (await ctx.api()).request('POST', '/v1/organizations', {
          body: { organization_id: org, name: o.name },
        }),
      );
      return 0;
    },
  );
  act(
    kit,
    pagingOptions(orgs.command('list').description('the organizations you have a role in')),
    async (ctx, _a, o) => {
      printPage(ctx, await listPages(ctx, '/v1/organizations', {}, o), [
        ...tenantColumns('organization_id').slice(0, 3),
        { header: 'API KEYS ENABLED', value: 'api_keys_enabled' },
        ...tenantColumns('organization_id').slice(3),
      ]);
      return 0;
    },
  );
  act(
    kit,
    orgs.command('get').description('one organization').argument('<org>', 'organization id'),
    async (ctx, [org]) => {
      printRecord(ctx, await (await ctx.api()).request('GET', `/v1/organizations/${seg(org as string)}`));
      return 0;
    },
  );
  act(
    kit,
    orgs
      .command('update')
      .description(
        'rename, archive or reactivate an organization, or switch its API keys module (super admins)',
      )
      .argument('<org>', 'organization id')
      .option('--name <name>', 'a new display name')
      .addOption(new Option('--status <status>', 'active or archived').choices(['active', 'archived']))
      .option('--api-keys-enabled', "switch the organization's key routes on")
      .option('--no-api-keys-enabled', 'switch them off (they answer 503; keys keep working)'),
    async (ctx, [org], o) => {
      const body = defined({ name: o.name, status: o.status, api_keys_enabled: o.apiKeysEnabled });
      if (Object.keys(body).length === 0)
        throw new UsageError('nothing to change: give --name, --status or --[no-]api-keys-enabled');
      printRecord(
        ctx,
        await (await ctx.api()).request('PATCH', `/v1/organizations/${seg(org as string)}`, { body }),
      );
      return 0;
    },
  );

  const policy = orgs.command('policy').description("an organization's policy: built-in policies and rules");
  act(
    kit,
    policy
      .command('get')
      .description('the policy, with the deployment-wide rules')
      .argument('<org>', 'organization id'),
    async (ctx, [org]) => {
      printPolicy(
        ctx,
        await (await ctx.api()).request('GET', `/v1/organizations/${seg(org as string)}/policy`),
      );
      return 0;
    },
  );
  act(
    kit,
    policy
      .command('set')
      .description('replace the policy (org owners, super admins)')
      .argument('<org>', 'organization id')
      .requiredOption('--file <file>', 'the policy as JSON (- for stdin): { built_in?, rules, version? }')
      .option('--if-version <n>', 'refuse (409) unless the policy is still at this version', wholeNumber)
      .addHelpText(
        'after',
        `
Example (policy.json: {"rules":[{"id":"prod-expiry","effect":"warn","actions":["api_key:create"],"when":{"environments":["production"]}}]}):
  latchkey orgs policy set acme --file policy.json`,
      ),
    async (ctx, [org], o) => {
      const body = {
        ...(await readJsonObject(ctx.deps, o.file, '--file')),
        ...defined({ version: o.ifVersion }),
      };
      printPolicy(
        ctx,
        await (await ctx.api()).request('PUT', `/v1/organizations/${seg(org as string)}/policy`, { body }),
      );
      return 0;
    },
  );
  return orgs;
}

function workspacesCommand(kit: Kit): Command {
  const ws = kit.program.command('workspaces').description("an organization's workspaces");
  const orgOption = (c: Command) => c.option('--org <org>', 'organization id', 'default');
  const path = (o: Record<string, string>, workspace?: string) =>
    `/v1/organizations/${seg(o.org ?? 'default')}/workspaces${workspace === undefined ? '' : `/${seg(workspace)}`}`;
  act(
    kit,
    orgOption(
      ws
        .command('create')
        .description('create a workspace (org owners, super admins)')
        .argument('<workspace>', 'workspace id: 1-64 letters, digits, _ . -')
        .requiredOption('--name <name>', 'display name'),
    ).addHelpText(
      'after',
      '\nExample:\n  latchkey workspaces create acme-dev --org acme --name "Acme development"',
    ),
    async (ctx, [workspace], o) => {
      printRecord(
        ctx,
        await (await ctx.api()).request('POST', path(o), { body: { workspace_id: workspace, name: o.name } }),
      );
      return 0;
    },
  );
  act(
    kit,
    pagingOptions(orgOption(ws.command('list').description("the organization's workspaces"))),
    async (ctx, _a, o) => {
      printPage(ctx, await listPages(ctx, path(o), {}, o), [
        ...tenantColumns('workspace_id').slice(0, 1),
        { header: 'ORG', value: 'organization_id' },
        ...tenantColumns('workspace_id').slice(1),
      ]);
      return 0;
    },
  );
  act(
    kit,
    orgOption(ws.command('get').description('one workspace').argument('<workspace>', 'workspace id')),
    async (ctx, [w], o) => {
      printRecord(ctx, await (await ctx.api()).request('GET', path(o, w)));
      return 0;
    },
  );
  act(
    kit,
    orgOption(
      ws
        .command('update')
        .description('rename, archive or reactivate a workspace (org owners, super admins)')
        .argument('<workspace>', 'workspace id')
        .option('--name <name>', 'a new display name')
        .addOption(new Option('--status <status>', 'active or archived').choices(['active', 'archived'])),
    ),
    async (ctx, [w], o) => {
      const body = defined({ name: o.name, status: o.status });
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --name or --status');
      printRecord(ctx, await (await ctx.api()).request('PATCH', path(o, w), { body }));
      return 0;
    },
  );
  return ws;
}

function bindingsCommand(kit: Kit): Command {
  const bindings = kit.program
    .command('bindings')
    .description('admin bindings: which IAM principal has which role where (super admins)');
  act(
    kit,
    pagingOptions(
      bindings
        .command('list')
        .description('bindings, with the id delete takes')
        .option('--org <org>', 'only this organization')
        .option('--principal <arn>', 'only this principal'),
    ),
    async (ctx, _a, o) => {
      printPage(
        ctx,
        await listPages(ctx, '/v1/admin-bindings', { organization_id: o.org, principal: o.principal }, o),
        [
          { header: 'ID', value: 'id' },
          { header: 'PRINCIPAL', value: 'principal' },
          { header: 'ROLE', value: 'role' },
          { header: 'ORG', value: 'organization_id' },
          { header: 'WORKSPACES', value: 'workspace_ids' },
          { header: 'ROOT ALLOWED', value: 'root_allowed' },
        ],
      );
      return 0;
    },
  );
  act(
    kit,
    bindings
      .command('put')
      .description("create or replace a principal's binding in an organization")
      .requiredOption('--principal <arn>', 'an IAM ARN, or a pattern with *')
      .addOption(new Option('--role <role>', 'the role').choices(ROLES).makeOptionMandatory())
      .option('--org <org>', 'the organization (not for super_admin)')
      .option(
        '--workspace <workspace>',
        'for workspace_admin: a workspace (repeat, or comma-separate)',
        collect,
      )
      .option('--root-allowed', 'super_admin only: may open root mode')
      .addHelpText(
        'after',
        `
Example:
  latchkey bindings put --principal 'arn:aws:sts::123456789012:assumed-role/Auditors/*' --role auditor --org acme`,
      ),
    async (ctx, _a, o) => {
      const body = defined({
        principal: o.principal,
        role: o.role,
        organization_id: o.org,
        workspace_ids: o.workspace,
        root_allowed: o.rootAllowed,
      });
      printRecord(ctx, await (await ctx.api()).request('PUT', '/v1/admin-bindings', { body }));
      return 0;
    },
  );
  act(
    kit,
    bindings
      .command('delete')
      .description('remove a binding')
      .argument('<id>', 'binding id (from bindings list)'),
    async (ctx, [id]) => {
      const answer = await (await ctx.api()).request('DELETE', `/v1/admin-bindings/${seg(id as string)}`);
      if (answer === undefined) ctx.out.line(`deleted ${id}`);
      else printRecord(ctx, answer);
      return 0;
    },
  );
  return bindings;
}

function rootModeCommand(kit: Kit): Command {
  const root = kit.program
    .command('root-mode')
    .description('root mode: a time-boxed elevation for super admins allowed it (needs MFA)');
  act(
    kit,
    root
      .command('open')
      .description('open root mode (audited)')
      .requiredOption('--reason <text>', 'why root mode is needed')
      .option('--minutes <n>', 'how long, 1-15 (default 15)', wholeNumber)
      .addHelpText(
        'after',
        '\nExample:\n  latchkey root-mode open --reason "rotate the billing system key" --minutes 5',
      ),
    async (ctx, _a, o) => {
      printRecord(
        ctx,
        await (await ctx.api()).request('POST', '/v1/root-mode', {
          body: defined({ reason: o.reason, duration_minutes: o.minutes }),
        }),
      );
      return 0;
    },
  );
  act(kit, root.command('status').description('your root-mode state'), async (ctx) => {
    printRecord(ctx, await (await ctx.api()).request('GET', '/v1/root-mode'));
    return 0;
  });
  act(kit, root.command('close').description('close root mode now'), async (ctx) => {
    printRecord(ctx, await (await ctx.api()).request('DELETE', '/v1/root-mode'));
    return 0;
  });
  return root;
}

interface Me {
  principal: string;
  bindings?: Record<string, unknown>[];
  root_mode?: { open: boolean; root_allowed: boolean; expires_at: string | null; remaining_seconds: number };
}

function whoamiCommand(kit: Kit): Command {
  return act(
    kit,
    kit.program
      .command('whoami')
      .description('who you are signed as: your principal, your roles (bindings) and your root-mode state')
      .addHelpText('after', '\nExamples:\n  latchkey --local --as auditor whoami\n  latchkey whoami --json'),
    async (ctx) => {
      const me = await (await ctx.api()).request<Me>('GET', '/v1/me');
      if (ctx.out.json) {
        ctx.out.printJson(me);
        return 0;
      }
      ctx.out.line(`principal: ${me.principal}`);
      ctx.out.table(me.bindings ?? [], [
        { header: 'ROLE', value: 'role' },
        // A super admin's binding covers every organization.
        { header: 'ORG', value: (b) => b.organization_id ?? '* (every organization)' },
        { header: 'WORKSPACES', value: 'workspace_ids' },
        { header: 'ROOT ALLOWED', value: 'root_allowed' },
      ]);
      const root = me.root_mode;
      ctx.out.line(
        `root mode: ${
          !root
            ? 'unknown'
            : root.open
              ? `open until ${root.expires_at} (${root.remaining_seconds}s left)`
              : root.root_allowed
                ? 'closed (you may open it: latchkey root-mode open)'
                : 'not allowed'
        }`,
      );
      ctx.out.warnings(me);
      return 0;
    },
  );
}

export function tenancyCommands(kit: Kit): Command[] {
  return [
    orgsCommand(kit),
    workspacesCommand(kit),
    bindingsCommand(kit),
    rootModeCommand(kit),
    whoamiCommand(kit),
  ];
}

/** `latchkey apis …`: registered APIs, `/v1/apis` (docs/cli.md#apis). */
import type { Command } from 'commander';
import { readJsonObject } from '../context';
import { act, type Kit, listPages, pagingOptions, printPage, printRecord, seg } from '../kit';

export function apisCommand(kit: Kit): Command {
  const apis = kit.program
    .command('apis')
    .description('APIs registered with Latchkey: their scopes and routes');
  act(
    kit,
    pagingOptions(apis.command('list').description('registered APIs by name, default first')),
    async (ctx, _a, o) => {
      printPage(ctx, await listPages(ctx, '/v1/apis', {}, o), [
        { header: 'NAME', value: 'name' },
        { header: 'OWNER', value: 'owner' },
        { header: 'ORG', value: 'organization_id' },
        { header: 'ENV', value: 'environment' },
        { header: 'SCOPES', value: (r) => (r.scopes as unknown[] | undefined)?.length ?? 0 },
        { header: 'ROUTES', value: (r) => Object.keys((r.routes as object | undefined) ?? {}).length },
        { header: 'BUILT IN', value: 'built_in' },
        { header: 'VERSION', value: 'version' },
      ]);
      return 0;
    },
  );
  act(
    kit,
    apis.command('get').description('one registration').argument('<api>', 'API name'),
    async (ctx, [name]) => {
      printRecord(ctx, await (await ctx.api()).request('GET', `/v1/apis/${seg(name as string)}`));
      return 0;
    },
  );
  act(
    kit,
    apis
      .command('put')
      .description('register an API, or replace its registration whole')
      .argument('<api>', 'API name')
      .requiredOption('--file <file>', 'the registration as JSON (- for stdin): owner, scopes, routes, ...')
      .addHelpText(
        'after',
        `
Example (orders.json: {"owner":"orders-team","scopes":[{"scope":"orders:read","description":"View orders","risk_level":"low"}],"routes":{"GET /orders":"orders:read"}}):
  latchkey apis put orders --file orders.json`,
      ),
    async (ctx, [name], o) => {
      const body = await readJsonObject(ctx.deps, o.file, '--file');
      printRecord(ctx, await (await ctx.api()).request('PUT', `/v1/apis/${seg(name as string)}`, { body }));
      return 0;
    },
  );
  return apis;
}

/**
 * The admin seed (docs/tenancy.md#seeding) as CloudFormation runs it on deploy: a custom resource
 * event whose answer goes to a pre-signed URL (here a local HTTP server). It creates the `default`
 * organization and the configured super admins once, audits each creation, and reports failure
 * instead of hanging the deploy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { handler } from '../../functions/handlers/seed-admin';
import { getBinding, getOrganization, getWorkspace } from '../../functions/repositories/admin-repository';
import { queryAudit } from '../../functions/repositories/audit-repository';
import { useFreshTables } from '../support/tables';

const ADMINS = [
  'arn:aws:iam::123456789012:role/SecurityAdmins',
  'arn:aws:sts::123456789012:assumed-role/Ops/*',
];
let server: Server;
let url: string;
const answers: Record<string, unknown>[] = [];

beforeAll(async () => {
  await useFreshTables({ superAdmins: ADMINS }, { seed: false });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      answers.push({ method: req.method, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const event = (type: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent =>
  ({
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:seed',
    ResponseURL: url,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/LatchkeyStack/1',
    RequestId: `req-${answers.length}`,
    LogicalResourceId: 'AdminSeed',
    ResourceType: 'AWS::CloudFormation::CustomResource',
    ResourceProperties: { ServiceToken: 'x', SuperAdmins: ADMINS },
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'latchkey-admin-seed' }),
  }) as CloudFormationCustomResourceEvent;
const context = { logStreamName: 'test-stream' } as Context;

it('creates the default organization and the super admins on create, once, audited', async () => {
  expect(await getOrganization('default')).toBeUndefined();
  const result = await handler(event('Create'), context);
  expect(answers.at(-1)).toMatchObject({
    method: 'PUT',
    Status: 'SUCCESS',
    PhysicalResourceId: 'latchkey-admin-seed',
    RequestId: 'req-0',
    LogicalResourceId: 'AdminSeed',
    Data: { OrganizationsCreated: 1, BindingsCreated: 2 },
  });
  expect(result?.bindings_created).toHaveLength(2);
  expect(await getOrganization('default')).toMatchObject({ status: 'active', created_by: 'latchkey:deploy' });
  expect(await getWorkspace('default', 'default')).toMatchObject({ status: 'active' });
  for (const principal of ADMINS) {
    expect(await getBinding(principal, null)).toMatchObject({ role: 'super_admin', root_allowed: true });
  }
  const platform = await queryAudit({ organization_id: 'platform', event_name: 'admin.binding_put' }, 10);
  expect(platform.items.map((e) => e.details.principal).sort()).toEqual(
    expect.arrayContaining([...ADMINS].sort()),
  );

  // An update (another deploy) finds everything in place and changes nothing.
  await handler(event('Update'), context);
  expect(answers.at(-1)).toMatchObject({
    Status: 'SUCCESS',
    Data: { OrganizationsCreated: 0, BindingsCreated: 0 },
  });
  // A delete leaves the retained table alone.
  await handler(event('Delete'), context);
  expect(answers.at(-1)).toMatchObject({ Status: 'SUCCESS' });
  expect(await getOrganization('default')).toBeDefined();
});

it('answers FAILED (so the deploy fails instead of waiting an hour) when it cannot seed', async () => {
  const table = process.env.ADMIN_TABLE_NAME;
  process.env.ADMIN_TABLE_NAME = 'no-such-table';
  try {
    await handler(event('Update'), context);
  } finally {
    process.env.ADMIN_TABLE_NAME = table;
  }
  expect(answers.at(-1)).toMatchObject({
    Status: 'FAILED',
    Reason: expect.stringContaining('seeding failed'),
  });
});

it('run outside CloudFormation (the local stack), answers what it created', async () => {
  expect(await handler({}, context)).toEqual({
    organizations_created: [],
    workspaces_created: [],
    bindings_created: [],
  });
});

/**
 * Local IAM: functions run by the local stack may call AWS only as their declared `access` allows
 * (`ACCESS_GRANTS`, the data CDK grants from). A fixture makes one call through the functions' own
 * SDK clients under whatever access a test declares for it: DynamoDB calls are checked before they
 * are sent, KMS / EventBridge / Secrets Manager calls are signed as the fixture's role and refused by
 * the endpoint (`test/local/aws-auth.test.ts` covers the endpoints' side on its own).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamodb } from '../../functions/shared/clients';
import { type Access, type FunctionDeclaration, functions } from '../../lib/declaration';
import { FUNCTION_CLIENTS, isAllowed, requestsOf } from '../../local/iam';
import { type LocalLambdas, localLambdas, REPO_ROOT } from '../../local/lambda';
import { scheduledEvent } from '../../local/scheduler';
import type { LocalStack } from '../../local/stack';
import { startTestStack } from '../support/local-stack';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

let stack: LocalStack;
let lambdas: LocalLambdas;
const logged: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  // The stack's own roles (the endpoints know them), with this runner's log captured (test stacks are quiet).
  lambdas = localLambdas(REGION, (line) => logged.push(line), stack.lambdas.roles);
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  logged.length = 0;
});

/** Runs one fixture call as a function named `Fixture` with `access`. */
function call(access: readonly Access[], name: string, arg?: string): Promise<unknown> {
  const fn: FunctionDeclaration = { name: 'Fixture', entry: 'test/local/fixtures/aws-calls.ts', access };
  return lambdas.invoke(fn, { call: name, ...(arg ? { arg } : {}) });
}

const tableArn = (id: string) =>
  `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${stack.tables[`${id.toUpperCase()}_TABLE_NAME`]}`;

const denied = (action: string, resource: string) =>
  expect.objectContaining({
    name: 'AccessDeniedException',
    $fault: 'client',
    message:
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/latchkey-local-Fixture/latchkey-local-Fixture is not authorized ` +
      `to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
  });

describe('DynamoDB', () => {
  it('refuses an action no declared access grants, as AWS words it, and logs one line', async () => {
    await expect(call(['keys:get', 'keys:write'], 'deleteKey')).rejects.toEqual(
      denied('dynamodb:DeleteItem', tableArn('keys')),
    );
    expect(logged).toEqual([
      `IAM: Fixture denied dynamodb:DeleteItem on ${tableArn('keys')} (declared access: keys:get, keys:write)`,
    ]);
  });

  it('keys:get allows GetItem on the keys table, and no Query on it or on its indexes', async () => {
    await expect(call(['keys:get'], 'getKey')).resolves.toBe('ok');
    await expect(call(['keys:get'], 'queryKeysTable')).rejects.toEqual(
      denied('dynamodb:Query', tableArn('keys')),
    );
    await expect(call(['keys:get'], 'listKeys')).rejects.toEqual(
      denied('dynamodb:Query', `${tableArn('keys')}/index/by_kind`),
    );
  });

  it('keys:query allows Query on the table and its declared indexes, and no GetItem', async () => {
    await expect(call(['keys:query'], 'queryKeysTable')).resolves.toBe('ok');
    await expect(call(['keys:query'], 'listKeys')).resolves.toBe('ok');
    await expect(call(['keys:query'], 'getKey')).rejects.toEqual(
      denied('dynamodb:GetItem', tableArn('keys')),
    );
  });

  it('grants are per table: keys:write does not allow PutItem on the counters table', async () => {
    await expect(call(['keys:write'], 'putCounter')).rejects.toEqual(
      denied('dynamodb:PutItem', tableArn('counters')),
    );
    await expect(call(['counters:write'], 'putCounter')).resolves.toBe('ok');
  });

  it('checks every item of a transaction with its own action', async () => {
    await expect(call(['keys:write'], 'transact')).rejects.toEqual(
      denied('dynamodb:DeleteItem', tableArn('keys')),
    );
  });

  it('a real function without the access its code needs fails locally, as it would on AWS', async () => {
    const rotator = {
      ...functions.rotator,
      access: functions.rotator.access.filter((a) => a !== 'keys:query'),
    };
    await expect(lambdas.invoke(rotator, scheduledEvent(rotator, REGION))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `assumed-role/latchkey-local-Rotator/latchkey-local-Rotator is not authorized to perform: dynamodb:Query on resource: ${tableArn('keys')}/index/by_rotation_day`,
      ),
    });
    // As declared, it runs.
    await expect(
      lambdas.invoke(functions.rotator, scheduledEvent(functions.rotator, REGION)),
    ).resolves.toEqual({
      rotated: 0,
      skipped: 0,
      failed: 0,
    });
  });

  it('does not check calls made outside a function (tests, the stack itself)', async () => {
    await expect(
      dynamodb.send(new DeleteCommand({ TableName: stack.tables.KEYS_TABLE_NAME, Key: { id: 'missing' } })),
    ).resolves.toBeDefined();
  });
});

describe('KMS', () => {
  it('kms:encrypt allows Encrypt and not Decrypt; kms:decrypt allows Decrypt', async () => {
    await expect(call(['kms:encrypt'], 'encrypt')).resolves.toBe('ok');
    await expect(call([], 'encrypt')).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        'kms:Encrypt on resource: arn:aws:kms:us-east-1:000000000000:alias/latchkey-local',
      ),
    });
    await expect(call(['kms:encrypt'], 'roundTrip')).rejects.toMatchObject({
      message: expect.stringContaining('not authorized to perform: kms:Decrypt'),
    });
    await expect(call(['kms:encrypt', 'kms:decrypt'], 'roundTrip')).resolves.toBe('ok');
  });

  it('requires the encryption context to name a key id, like the grant’s condition', async () => {
    await expect(call(['kms:encrypt'], 'encryptNoKeyId')).rejects.toMatchObject({
      message: expect.stringContaining('not authorized to perform: kms:Encrypt'),
    });
  });
});

describe('EventBridge', () => {
  it('events:put allows PutEvents on the declared bus only', async () => {
    await expect(call(['events:put'], 'publish')).resolves.toBe('ok');
    expect(stack.events().map((e) => e['detail-type'])).toContain('FixtureEvent');
    await expect(call(['keys:write'], 'publish')).rejects.toEqual(
      denied('events:PutEvents', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/latchkey`),
    );
    await expect(call(['events:put'], 'publishElsewhere')).rejects.toEqual(
      denied('events:PutEvents', `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/another-bus`),
    );
  });
});

describe('Secrets Manager', () => {
  it('secrets:write allows DescribeSecret on latchkey/ secrets only', async () => {
    const sm = new SecretsManagerClient({});
    try {
      const ours = await sm.send(
        new CreateSecretCommand({ Name: `latchkey/iam-${Date.now()}`, SecretString: '{}' }),
      );
      const other = await sm.send(
        new CreateSecretCommand({ Name: `other/iam-${Date.now()}`, SecretString: '{}' }),
      );
      await expect(call(['secrets:write'], 'describeSecret', ours.ARN)).resolves.toBe('ok');
      await expect(call([], 'describeSecret', ours.ARN)).rejects.toEqual(
        denied('secretsmanager:DescribeSecret', ours.ARN ?? ''),
      );
      await expect(call(['secrets:write'], 'describeSecret', other.ARN)).rejects.toEqual(
        denied('secretsmanager:DescribeSecret', other.ARN ?? ''),
      );
    } finally {
      sm.destroy();
    }
  });
});

describe('evaluation', () => {
  it('BatchWriteItem needs its own action on every table it names', () => {
    const keys = stack.tables.KEYS_TABLE_NAME ?? '';
    const requests = requestsOf('dynamodb', 'BatchWriteItem', { RequestItems: { [keys]: [] } }, REGION);
    expect(requests).toEqual([{ action: 'dynamodb:BatchWriteItem', resource: tableArn('keys') }]);
    expect(requests.every((r) => isAllowed(['keys:write', 'keys:get', 'keys:query'], r, REGION))).toBe(false);
  });

  it('every SDK client the functions create is one local IAM checks', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const withClients = files(join(REPO_ROOT, 'functions'))
      .filter((f) => /new \w+Client\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(REPO_ROOT, f).replace(/\.ts$/, ''))
      .sort();
    expect(withClients).toEqual(FUNCTION_CLIENTS.map((c) => c.module).sort());
  });
});

/**
 * Where the CLI sends its requests and who signs them (cli/target.ts, docs/cli.md#endpoint-and-credentials):
 * `--endpoint` over `LATCHKEY_ENDPOINT` over `--stack` (CloudFormation mocked with
 * aws-sdk-client-mock), the signing region from `--region`, the execute-api host name or the
 * environment, and `--local` with its credentials file and `--as`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { CliFailure, UsageError } from '../../cli/errors';
import { localCredentialsPath, regionOfEndpoint, resolveTarget, type TargetDeps } from '../../cli/target';

const API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';
const cfn = mockClient(CloudFormationClient);
let dir: string;

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const deps = (env: Record<string, string> = {}, extra: Partial<TargetDeps> = {}): TargetDeps => ({
  env,
  cwd: dir,
  credentialChain: () => async () => creds,
  ...extra,
});

beforeEach(() => {
  cfn.reset();
  dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-target-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the endpoint', () => {
  it('--endpoint wins over LATCHKEY_ENDPOINT; the region comes from the execute-api host', async () => {
    const t = await resolveTarget(
      { endpoint: API },
      deps({ LATCHKEY_ENDPOINT: 'https://other.example.com/', AWS_REGION: 'us-west-2' }),
    );
    expect(t.baseUrl).toBe(API);
    expect(t.region).toBe('eu-west-1');
    expect(await t.credentials()).toEqual(creds);
  });

  it('LATCHKEY_ENDPOINT when no option; a custom domain signs for AWS_REGION, --region over both', async () => {
    const t = await resolveTarget(
      {},
      deps({ LATCHKEY_ENDPOINT: 'https://keys.example.com/', AWS_REGION: 'ap-south-1' }),
    );
    expect(t).toMatchObject({ baseUrl: 'https://keys.example.com/', region: 'ap-south-1' });
    const r = await resolveTarget({ region: 'us-east-2', endpoint: API }, deps());
    expect(r.region).toBe('us-east-2');
  });

  it('--stack reads the ApiUrl output with DescribeStacks, in the given region and profile', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'LatchkeyStack' }).resolves({
      Stacks: [
        {
          StackName: 'LatchkeyStack',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'AuthorizerFunctionArn', OutputValue: 'arn:aws:lambda:eu-west-1:1:function:x' },
            { OutputKey: 'ApiUrl', OutputValue: API },
          ],
        },
      ],
    });
    const configs: unknown[] = [];
    const t = await resolveTarget(
      { stack: 'LatchkeyStack', region: 'eu-west-1', profile: 'admin' },
      deps(
        {},
        {
          cloudFormation: (config) => {
            configs.push(config);
            return new CloudFormationClient({ ...config, credentials: creds });
          },
        },
      ),
    );
    expect(t.baseUrl).toBe(API);
    expect(t.region).toBe('eu-west-1');
    expect(configs).toEqual([{ region: 'eu-west-1', profile: 'admin' }]);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it('--stack: a stack without ApiUrl, or one that does not exist, is a failure (exit 1)', async () => {
    const client = () => new CloudFormationClient({ region: 'eu-west-1', credentials: creds });
    cfn.on(DescribeStacksCommand, { StackName: 'Other' }).resolves({
      Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    await expect(resolveTarget({ stack: 'Other' }, deps({}, { cloudFormation: client }))).rejects.toThrow(
      new CliFailure('stack Other has no ApiUrl output: is it a Latchkey stack?'),
    );
    cfn
      .on(DescribeStacksCommand, { StackName: 'Gone' })
      .rejects(Object.assign(new Error('Stack with id Gone does not exist'), { name: 'ValidationError' }));
    await expect(resolveTarget({ stack: 'Gone' }, deps({}, { cloudFormation: client }))).rejects.toThrow(
      /could not read stack Gone: ValidationError: Stack with id Gone does not exist/,
    );
  });

  it.each([
    [
      {},
      {},
      /no endpoint: give --endpoint <url>, set LATCHKEY_ENDPOINT, name the deployed stack with --stack <name>, or use --local/,
    ],
    [{ endpoint: API, stack: 'S' }, {}, /give --endpoint or --stack, not both/],
    [{ endpoint: 'not a url' }, {}, /--endpoint is not a URL/],
    [{ endpoint: 'ftp://x/' }, {}, /must be an http\(s\) URL/],
    [{ endpoint: API, as: 'member' }, {}, /--as names a local principal/],
    [{ local: true, stack: 'S' }, {}, /--local and --stack do not go together/],
  ])('%j is a usage error', async (options, env, message) => {
    const attempt = resolveTarget(options, deps(env));
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(resolveTarget(options, deps(env))).rejects.toThrow(message);
  });

  it('--stack without any region is a usage error saying where to give one', async () => {
    const client = () => new CloudFormationClient({ region: 'eu-west-1', credentials: creds });
    cfn.on(DescribeStacksCommand).rejects(new Error('Region is missing'));
    const attempt = resolveTarget({ stack: 'LatchkeyStack' }, deps({}, { cloudFormation: client }));
    await expect(attempt).rejects.toThrow(
      new UsageError('no AWS region for --stack: give --region, set AWS_REGION or a profile region'),
    );
  });

  it('regionOfEndpoint reads execute-api host names only', () => {
    expect(regionOfEndpoint(API)).toBe('eu-west-1');
    expect(regionOfEndpoint('https://x.execute-api.cn-north-1.amazonaws.com.cn/prod')).toBe('cn-north-1');
    expect(regionOfEndpoint('https://keys.example.com/')).toBeUndefined();
    expect(regionOfEndpoint('nope')).toBeUndefined();
  });
});

describe('--local', () => {
  const file = () => join(dir, 'credentials.json');
  const principals = [
    { name: 'super-admin', access_key_id: 'AKIASUPER', secret_access_key: 's1', arn: 'arn:x' },
    { name: 'member', access_key_id: 'AKIAMEMBER', secret_access_key: 's2', arn: 'arn:y' },
  ];

  it('signs as the first principal by default, --as by name, for us-east-1 at 127.0.0.1:3000', async () => {
    writeFileSync(file(), JSON.stringify({ principals, operator: {}, functions: {} }));
    const first = await resolveTarget({ local: true, credentialsFile: file() }, deps());
    expect(first).toMatchObject({
      baseUrl: 'http://127.0.0.1:3000/',
      region: 'us-east-1',
      signer: 'super-admin',
    });
    expect(await first.credentials()).toEqual({ accessKeyId: 'AKIASUPER', secretAccessKey: 's1' });
    const member = await resolveTarget(
      { local: true, as: 'member', endpoint: 'http://127.0.0.1:3001' },
      deps({ LATCHKEY_LOCAL_CREDENTIALS: file() }),
    );
    expect(member).toMatchObject({ baseUrl: 'http://127.0.0.1:3001/', signer: 'member' });
    expect(await member.credentials()).toEqual({ accessKeyId: 'AKIAMEMBER', secretAccessKey: 's2' });
  });

  it("the running local stack's env.json gives its URL (another PORT); --endpoint still wins", async () => {
    writeFileSync(file(), JSON.stringify({ principals }));
    const env = { LATCHKEY_LOCAL_DIR: dir };
    expect((await resolveTarget({ local: true }, deps(env))).baseUrl).toBe('http://127.0.0.1:3000/');
    writeFileSync(join(dir, 'env.json'), JSON.stringify({ url: 'http://127.0.0.1:3001', pid: 1, env: {} }));
    expect((await resolveTarget({ local: true }, deps(env))).baseUrl).toBe('http://127.0.0.1:3001/');
    expect((await resolveTarget({ local: true, endpoint: 'http://127.0.0.1:4000' }, deps(env))).baseUrl).toBe(
      'http://127.0.0.1:4000/',
    );
  });

  it('LATCHKEY_ENDPOINT (the deployed API) is not used for --local', async () => {
    writeFileSync(file(), JSON.stringify({ principals }));
    const t = await resolveTarget(
      { local: true },
      deps({ LATCHKEY_LOCAL_CREDENTIALS: file(), LATCHKEY_ENDPOINT: API }),
    );
    expect(t.baseUrl).toBe('http://127.0.0.1:3000/');
  });

  it('the credentials file: option, LATCHKEY_LOCAL_CREDENTIALS, LATCHKEY_LOCAL_DIR, .local', () => {
    expect(
      localCredentialsPath({ credentialsFile: 'c.json' }, deps({ LATCHKEY_LOCAL_CREDENTIALS: '/x.json' })),
    ).toBe(join(dir, 'c.json'));
    expect(
      localCredentialsPath({}, deps({ LATCHKEY_LOCAL_CREDENTIALS: '/x.json', LATCHKEY_LOCAL_DIR: '/d' })),
    ).toBe('/x.json');
    expect(localCredentialsPath({}, deps({ LATCHKEY_LOCAL_DIR: '/d' }))).toBe('/d/credentials.json');
    expect(localCredentialsPath({}, deps())).toBe(join(dir, '.local', 'credentials.json'));
  });

  it('no file, a broken file, an unknown principal: usage errors naming what to do', async () => {
    await expect(resolveTarget({ local: true, credentialsFile: file() }, deps())).rejects.toThrow(
      /no local credentials at .*start the local stack \(npm start\)/,
    );
    writeFileSync(file(), '{');
    await expect(resolveTarget({ local: true, credentialsFile: file() }, deps())).rejects.toThrow(
      /is not JSON/,
    );
    writeFileSync(file(), JSON.stringify({ principals }));
    await expect(
      resolveTarget({ local: true, credentialsFile: file(), as: 'ghost' }, deps()),
    ).rejects.toThrow('no principal named "ghost"');
    await expect(
      resolveTarget({ local: true, credentialsFile: file(), as: 'ghost' }, deps()),
    ).rejects.toThrow('there are: super-admin, member');
  });
});

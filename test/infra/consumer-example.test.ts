/**
 * Latchkey as a product team gets it (docs/protecting-apis.md): `npm pack` builds and packs the
 * package, the tarball is installed into a copy of `examples/consumer` (offline: the package has no
 * runtime dependency, and the example's aws-cdk-lib and constructs are linked from this
 * repository's node_modules), the example is type-checked against the packed declarations and
 * synthesized, and its templates are checked: the shared authorizer attached by ARN to a REST API
 * and an HTTP API, in Latchkey's account and in another one, with no grant of their own; and the
 * Latchkey stack, told about the other account, lets API Gateway there invoke the authorizer.
 * The README's "protect your own API" code is the example's files, compared here. The package's
 * `bin`, the `latchkey` CLI, runs from the installed tarball (`npx latchkey --help`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { PARAMETERS, STAGE_VARIABLES } from '../../lib/consumer-contract';
import { LATCHKEY_GATEWAY_RESPONSES } from '../../lib/gateway-responses';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import { testApp } from './helpers';

const root = resolve(__dirname, '../..');
const example = join(root, 'examples/consumer');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const registration = JSON.parse(readFileSync(join(example, 'registration.json'), 'utf8')) as {
  accounts: string[];
};

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (out.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${out.status}):\n${out.stdout}\n${out.stderr}`);
  }
  return out.stdout;
}

/** The body Latchkey's gateway responses give (lib/gateway-responses.ts), shared with the local gateway. */
const templateOf = (type: string) => LATCHKEY_GATEWAY_RESPONSES.find((r) => r.type === type)?.template;

let work: string;
let app: string;
let templates: Record<string, Template>;
let packed: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'latchkey-consumer-'));
  // `npm pack` runs `prepack`, i.e. `npm run build`: TypeScript and esbuild into dist/.
  const pack = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = join(work, pack[0]?.filename ?? '');
  packed = (pack[0]?.files ?? []).map((f) => f.path);

  app = join(work, 'orders-service');
  cpSync(example, app, { recursive: true });
  // As the team would have it, except that its other dependencies come from this repository's
  // node_modules (no registry) and the tools (tsc, tsx) are run from here.
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  for (const name of ['aws-cdk-lib', 'constructs', '@middy/core']) {
    manifest.dependencies[name] = `file:${join(root, 'node_modules', name)}`;
  }
  manifest.devDependencies = Object.fromEntries(
    ['@types/aws-lambda', '@types/node'].map((name) => [name, `file:${join(root, 'node_modules', name)}`]),
  );
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], app);

  run(bin('tsc'), ['-p', join(app, 'tsconfig.json')], app);

  const cdkJson = JSON.parse(readFileSync(join(app, 'cdk.json'), 'utf8'));
  const outdir = join(work, 'cdk.out');
  run(bin('tsx'), [join(app, 'bin/orders-app.ts')], app, {
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify(cdkJson.context),
  });
  const assembly = new CloudAssembly(outdir);
  templates = Object.fromEntries(assembly.stacks.map((s) => [s.stackName, Template.fromJSON(s.template)]));
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the package', () => {
  it('ships the built entry points of its exports map, the LICENSE and nothing of the source', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'package.json',
        'dist/lib/constructs/index.js',
        'dist/lib/constructs/index.d.ts',
        'dist/sdk/client.js',
        'dist/sdk/middleware.js',
        'dist/cli/latchkey.js',
      ]),
    );
    expect(packed.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/latchkey/package.json'), 'utf8'));
    expect(manifest.license).toBe('Apache-2.0');
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.exports)).toEqual([
      './constructs',
      './client',
      './middleware',
      './package.json',
    ]);
    expect(manifest.bin).toEqual({ latchkey: 'dist/cli/latchkey.js' });
  });

  it('installs the latchkey CLI: `npx latchkey --help` works from the tarball, with no dependency', () => {
    const help = spawnSync('npx', ['--offline', '--no-install', 'latchkey', '--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: latchkey [options] [command]');
    expect(help.stdout).toContain('keys');
    // A usage error is exit 2 there too (the bundle carries commander).
    const usage = spawnSync('npx', ['--offline', '--no-install', 'latchkey', 'keys', 'list', '--bogus'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("unknown option '--bogus'");
  });
});

const stacks = [
  { name: 'OrdersSameAccount', arn: 'ssm' },
  { name: 'OrdersOtherAccount', arn: 'given' },
] as const;

describe.each(stacks)('$name', ({ name, arn }) => {
  const t = () => templates[name] as Template;
  const arnIn = (value: unknown): boolean =>
    arn === 'ssm'
      ? JSON.stringify(value).includes('SsmParameterValuelatchkeyauthorizerfunctionarn')
      : JSON.stringify(value).includes('function:LatchkeyStack-AuthorizerFunction');

  it('reads the authorizer ARN where the team said: Latchkey’s SSM parameter, or the given ARN', () => {
    const parameters = t().toJSON().Parameters ?? {};
    const read = Object.values(parameters)
      .map((p) => (p as { Default?: unknown }).Default)
      .filter((d) => typeof d === 'string' && d.startsWith('/latchkey/'));
    expect(read).toEqual(arn === 'ssm' ? [`/latchkey/${PARAMETERS.authorizerFunctionArn}`] : []);
  });

  it('REST API: a REQUEST authorizer on the shared function, uncached (exact limits, the default)', () => {
    const authorizers = Object.values(t().findResources('AWS::ApiGateway::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const props = authorizers[0]?.Properties;
    expect(props).toMatchObject({ Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0 });
    // No identity source: every request reaches the authorizer, with either header.
    expect(props.IdentitySource).toBeUndefined();
    expect(arnIn(props.AuthorizerUri)).toBe(true);
  });

  it('REST API: every method behind it, the stage naming the registration, JSON refusals', () => {
    const authorizer = Object.keys(t().findResources('AWS::ApiGateway::Authorizer'))[0];
    const methods = Object.values(t().findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(3);
    for (const m of methods) {
      expect(m.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizer } });
    }
    t().hasResourceProperties('AWS::ApiGateway::Stage', {
      Variables: { [STAGE_VARIABLES.api]: 'orders', [STAGE_VARIABLES.tokenHeader]: 'authorization' },
    });
    t().hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseTemplates: { 'application/json': templateOf('UNAUTHORIZED') },
    });
    t().hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      StatusCode: '403',
      ResponseTemplates: { 'application/json': templateOf('ACCESS_DENIED') },
      ResponseParameters: { 'gatewayresponse.header.Retry-After': 'context.authorizer.retryAfter' },
    });
  });

  it('HTTP API: a payload 2.0 Lambda authorizer with simple responses, cached on X-API-Key, IP and route', () => {
    const authorizers = Object.entries(t().findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const [id, resource] = authorizers[0] as [string, { Properties: Record<string, unknown> }];
    expect(resource.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      AuthorizerResultTtlInSeconds: 300,
      IdentitySource: ['$request.header.X-API-Key', '$context.identity.sourceIp', '$context.routeKey'],
    });
    expect(arnIn(resource.Properties.AuthorizerUri)).toBe(true);
    const routes = Object.values(t().findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      'GET /orders',
      'GET /orders/{id}',
      'POST /orders',
    ]);
    for (const r of routes)
      expect(r.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: id } });
    t().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageVariables: { [STAGE_VARIABLES.api]: 'orders', [STAGE_VARIABLES.tokenHeader]: 'x-api-key' },
    });
  });

  it('needs no grant of its own: no permission on the authorizer, no DynamoDB or KMS access', () => {
    for (const p of Object.values(t().findResources('AWS::Lambda::Permission'))) {
      expect(arnIn(p.Properties.FunctionName)).toBe(false);
    }
    const actions = JSON.stringify(t().findResources('AWS::IAM::Policy'));
    expect(actions).not.toMatch(/dynamodb:|kms:/);
  });
});

describe('the Latchkey stack, told about the other account', () => {
  it('lets API Gateway in its own account and in each consumer account invoke the authorizer', () => {
    const others = registration.accounts.filter((a) => a !== '111111111111');
    const latchkey = Template.fromStack(
      new LatchkeyStack(
        testApp({ cfnValidation: false, context: { 'latchkey:consumerAccounts': others } }),
        'Latchkey',
      ),
    );
    const invokers = Object.values(latchkey.findResources('AWS::Lambda::Permission'))
      .map((p) => p.Properties)
      .filter((p) => p.SourceAccount !== undefined && p.SourceArn === undefined);
    expect(invokers.map((p) => p.SourceAccount)).toEqual([{ Ref: 'AWS::AccountId' }, ...others]);
    for (const p of invokers) {
      expect(p).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      expect(p.FunctionName['Fn::GetAtt'][0]).toMatch(/^AuthorizerFunction/);
    }
  });
});

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  it.each(['lib/orders-stack.ts', 'bin/orders-app.ts', 'functions/orders.ts'])(
    'shows examples/consumer/%s exactly',
    (file) => {
      const code = readFileSync(join(example, file), 'utf8');
      expect(readme).toContain(`\`\`\`ts\n${code}\`\`\``);
    },
  );
});

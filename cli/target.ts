/**
 * Where the CLI sends its requests and with which credentials (docs/cli.md#endpoint-and-credentials):
 * `--local` signs as a principal of the local stack's credentials file; otherwise the AWS default
 * credential chain signs, and the endpoint is `--endpoint`, `LATCHKEY_ENDPOINT` or the `ApiUrl`
 * output of the CloudFormation stack named by `--stack`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentials } from '../sdk/management';
import { CliFailure, UsageError } from './errors';

export interface TargetOptions {
  readonly endpoint?: string | undefined;
  readonly stack?: string | undefined;
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
  readonly local?: boolean | undefined;
  readonly as?: string | undefined;
  readonly credentialsFile?: string | undefined;
}

export interface Target {
  readonly baseUrl: string;
  readonly region: string;
  readonly credentials: () => Promise<AwsCredentials>;
  /** Who signs, for messages: a local principal's name, or the AWS profile. */
  readonly signer: string;
}

export interface TargetDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The AWS default chain (injected by tests). */
  readonly credentialChain?: (profile: string | undefined) => () => Promise<AwsCredentials>;
  /** A CloudFormation client for `--stack` (injected by tests). */
  readonly cloudFormation?: (config: { region?: string; profile?: string }) => CloudFormationClient;
}

/** The region the local stack signs and verifies with (local/stack.ts). */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ENDPOINT = 'http://127.0.0.1:3000/';
/** The stack output holding the REST API's base URL (lib/latchkey-stack.ts). */
export const API_URL_OUTPUT = 'ApiUrl';

/** `https://abc.execute-api.eu-west-1.amazonaws.com/prod/` → `eu-west-1`. */
export function regionOfEndpoint(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

function checkUrl(url: string, from: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${from} is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new UsageError(`${from} must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return parsed.toString();
}

const inCwd = (deps: TargetDeps, path: string) => (isAbsolute(path) ? path : join(deps.cwd, path));

/** The local stack's data directory, as `npm start` chooses it (docs/local-stack.md). */
const localDataDir = (deps: TargetDeps) => inCwd(deps, deps.env.LATCHKEY_LOCAL_DIR ?? '.local');

/** The local credentials file: `--credentials-file`, `LATCHKEY_LOCAL_CREDENTIALS`, `<LATCHKEY_LOCAL_DIR or .local>/credentials.json`. */
export function localCredentialsPath(options: TargetOptions, deps: TargetDeps): string {
  const given = options.credentialsFile ?? deps.env.LATCHKEY_LOCAL_CREDENTIALS;
  return given === undefined ? join(localDataDir(deps), 'credentials.json') : inCwd(deps, given);
}

/**
 * The running local stack's URL from its `env.json` (written while it runs, for `npm run invoke`),
 * so `PORT=3001 npm start` needs no `--endpoint`; else the default port.
 */
export function localEndpoint(deps: TargetDeps): string {
  try {
    const url = (JSON.parse(readFileSync(join(localDataDir(deps), 'env.json'), 'utf8')) as { url?: unknown })
      .url;
    if (typeof url === 'string' && url !== '') return url;
  } catch {
    // No stack has written one: the default.
  }
  return LOCAL_ENDPOINT;
}

interface FilePrincipal {
  name: string;
  access_key_id: string;
  secret_access_key: string;
}

function localPrincipal(options: TargetOptions, deps: TargetDeps): FilePrincipal {
  const file = localCredentialsPath(options, deps);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(
      `no local credentials at ${file}: start the local stack (npm start) or give --credentials-file`,
    );
  }
  let principals: unknown;
  try {
    principals = (JSON.parse(text) as { principals?: unknown }).principals;
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  const valid = (Array.isArray(principals) ? principals : []).filter(
    (p): p is FilePrincipal =>
      typeof p === 'object' &&
      p !== null &&
      typeof p.name === 'string' &&
      typeof p.access_key_id === 'string' &&
      typeof p.secret_access_key === 'string',
  );
  if (valid.length === 0) throw new UsageError(`${file} has no principals`);
  if (options.as === undefined) return valid[0] as FilePrincipal;
  const found = valid.find((p) => p.name === options.as);
  if (!found) {
    throw new UsageError(
      `no principal named ${JSON.stringify(options.as)} in ${file}; there are: ${valid.map((p) => p.name).join(', ')}`,
    );
  }
  return found;
}

const defaultChain = (profile: string | undefined) =>
  fromNodeProviderChain(profile === undefined ? {} : { profile });

const defaultCloudFormation = (config: { region?: string; profile?: string }) =>
  new CloudFormationClient(config);

async function stackApiUrl(name: string, options: TargetOptions, deps: TargetDeps): Promise<string> {
  const client = (deps.cloudFormation ?? defaultCloudFormation)({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  });
  let outputs: { OutputKey?: string; OutputValue?: string }[] | undefined;
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: name }));
    outputs = answer.Stacks?.[0]?.Outputs;
  } catch (e) {
    const error = e as { name?: string; message?: string };
    if (/region is missing/i.test(error.message ?? '')) {
      throw new UsageError('no AWS region for --stack: give --region, set AWS_REGION or a profile region');
    }
    throw new CliFailure(`could not read stack ${name}: ${error.name ?? 'Error'}: ${error.message ?? ''}`);
  }
  const url = outputs?.find((o) => o.OutputKey === API_URL_OUTPUT)?.OutputValue;
  if (!url) throw new CliFailure(`stack ${name} has no ${API_URL_OUTPUT} output: is it a Latchkey stack?`);
  return url;
}

/** The region the SDK would use for `profile` (AWS_REGION, AWS_DEFAULT_REGION, the profile's config). */
async function sdkRegion(options: TargetOptions, deps: TargetDeps): Promise<string | undefined> {
  const fromEnv = deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  try {
    const client = (deps.cloudFormation ?? defaultCloudFormation)(
      options.profile ? { profile: options.profile } : {},
    );
    return await client.config.region();
  } catch {
    return undefined;
  }
}

export async function resolveTarget(options: TargetOptions, deps: TargetDeps): Promise<Target> {
  if (options.local) {
    if (options.stack) throw new UsageError('--local and --stack do not go together');
    if (options.profile) throw new UsageError('--local signs with the local credentials file, not --profile');
    const who = localPrincipal(options, deps);
    const keys = { accessKeyId: who.access_key_id, secretAccessKey: who.secret_access_key };
    return {
      baseUrl: checkUrl(options.endpoint ?? localEndpoint(deps), '--endpoint'),
      region: options.region ?? LOCAL_REGION,
      credentials: async () => keys,
      signer: who.name,
    };
  }
  if (options.as !== undefined) throw new UsageError('--as names a local principal: use it with --local');
  if (options.endpoint && options.stack) throw new UsageError('give --endpoint or --stack, not both');
  let baseUrl: string;
  if (options.endpoint) baseUrl = checkUrl(options.endpoint, '--endpoint');
  else if (options.stack)
    baseUrl = checkUrl(await stackApiUrl(options.stack, options, deps), `stack ${options.stack}'s ApiUrl`);
  else if (deps.env.LATCHKEY_ENDPOINT) baseUrl = checkUrl(deps.env.LATCHKEY_ENDPOINT, 'LATCHKEY_ENDPOINT');
  else {
    throw new UsageError(
      'no endpoint: give --endpoint <url>, set LATCHKEY_ENDPOINT, name the deployed stack with --stack <name>, or use --local',
    );
  }
  const region = options.region ?? regionOfEndpoint(baseUrl) ?? (await sdkRegion(options, deps));
  if (!region) {
    throw new UsageError(
      `no AWS region to sign for ${baseUrl}: give --region, set AWS_REGION or a profile region`,
    );
  }
  const chain = (deps.credentialChain ?? defaultChain)(options.profile);
  return {
    baseUrl,
    region,
    credentials: async () => {
      try {
        return await chain();
      } catch (e) {
        throw new UsageError(
          `no AWS credentials${options.profile ? ` for profile ${options.profile}` : ''}: ${(e as Error).message}`,
        );
      }
    },
    signer: options.profile ? `profile ${options.profile}` : 'the AWS default credentials',
  };
}

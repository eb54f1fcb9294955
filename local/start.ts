/**
 * `npm start`: the local stack on 127.0.0.1 (gateway on PORT or 3000, DynamoDB Local on
 * DYNAMODB_PORT or 8000), data under `.local/` (or LATCHKEY_LOCAL_DIR) unless `--in-memory`.
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP stop everything, DynamoDB Local included; a stop that hangs
 * for 15 s exits anyway (DynamoDB Local is still killed, on `exit`). The npm script is `exec tsx ...` so
 * that npm's SIGTERM reaches tsx (which relays it here) rather than stopping at `sh`.
 */
import { join, relative } from 'node:path';
import { buildConsole, CONSOLE_OUTDIR } from '../console/build';
import { type LocalPrincipal, loadOrCreateCredentials } from './credentials';
import { assertJava } from './dynamodb';
import { defaultDataDir, type LocalStack, startLocalStack } from './stack';
import { localWorkers } from './workers';

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

function portFrom(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${what} must be a port number, got '${value}'`);
  return port;
}

/** A path as the user can paste it from the current directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? `./${rel}` : path;
}

function curlExample(url: string): string {
  return `curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user "$AK:$SK" -H 'content-type: application/json' -d '{"name":"demo","scopes":["agents:read"]}' ${url}/v1/api-keys`;
}

/** `org_owner of acme`, `super_admin (MFA, root)`: what a principal is bound as on start. */
function roleOf(p: LocalPrincipal): string {
  if (!p.binding) return 'unbound';
  const { role, organization_id, workspace_ids, root_allowed } = p.binding;
  const where = organization_id ? ` of ${[organization_id, ...(workspace_ids ?? [])].join('/')}` : '';
  const extras = [p.mfa ? 'MFA' : '', root_allowed ? 'root' : ''].filter(Boolean);
  return `${role}${where}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

function printCredentials(
  principals: readonly LocalPrincipal[],
  file: string,
  created: boolean,
  url: string,
): void {
  const admin = principals[0];
  if (!admin) return;
  const where = shown(file);
  if (created) {
    // Printed once, on purpose: these are local-only keys and the user needs them to call the API.
    console.log(`\nLocal IAM credentials written to ${where}:`);
    for (const p of principals) {
      console.log(`  ${p.name.padEnd(15)} ${p.access_key_id}  ${p.secret_access_key}  ${roleOf(p)}`);
    }
    console.log(
      `\nTry it (as ${admin.name}):\n  export AK=${admin.access_key_id} SK=${admin.secret_access_key}`,
    );
  } else {
    console.log(`\nLocal IAM credentials: ${where}`);
    for (const p of principals) console.log(`  ${p.name.padEnd(15)} ${roleOf(p)}`);
    const read = (field: string) => `$(node -p "require('${where}').principals[0].${field}")`;
    console.log(
      `\nTry it (as ${admin.name}):\n  export AK=${read('access_key_id')} SK=${read('secret_access_key')}`,
    );
  }
  console.log(`  ${curlExample(url)}`);
  const as = (field: string) =>
    `$(node -p "require('${where}').principals.find((p) => p.name === 'org-owner').${field}")`;
  console.log(
    `As another role (docs/tenancy.md), e.g. the org owner:\n  export AK=${as('access_key_id')} SK=${as('secret_access_key')}\n`,
  );
}

// The handlers run on Node.js 22 in Lambda; the SDK's notice about Node 20 on a laptop is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const inMemory = args.includes('--in-memory');
  const port = portFrom(flag(args, '--port') ?? process.env.PORT, 3000, '--port / PORT');
  const dynamoPort = portFrom(process.env.DYNAMODB_PORT, 8000, 'DYNAMODB_PORT');
  const dataDir = process.env.LATCHKEY_LOCAL_DIR ?? defaultDataDir();
  assertJava();

  // Signals are handled from here on, startup included: a signal while the stack is starting stops
  // it as soon as it is up (the default action would kill node without its `exit` handlers).
  let stack: LocalStack | undefined;
  let stoppingSince: number | undefined;
  const stopAndExit = (running: LocalStack) =>
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  const shutdown = (signal: string) => {
    // Ctrl-C reaches every process of the terminal's group and npm forwards it once more, so one key
    // press can arrive twice, at any interval: later signals never interrupt a graceful stop. If the
    // stop hangs, the watchdog exits anyway (DynamoDB Local is still killed, on `exit`).
    if (stoppingSince !== undefined) return;
    stoppingSince = Date.now();
    console.log(`\n${signal}: stopping the local stack...`);
    setTimeout(() => {
      console.error('The local stack did not stop within 15 s; exiting.');
      process.exit(1);
    }, 15_000).unref();
    if (stack) void stopAndExit(stack);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));

  // Credentials are configuration, not data: kept even with --in-memory so the curl example stays valid.
  const credentialsFile = join(dataDir, 'credentials.json');
  const { created, ...credentials } = loadOrCreateCredentials(credentialsFile);
  // Built at each start, so the served console is the checkout's (docs/console.md).
  const built = buildConsole(CONSOLE_OUTDIR);
  stack = await startLocalStack({
    consoleDir: built.outdir,
    port,
    dynamoPort,
    dataDir,
    inMemory,
    credentials,
    envFile: join(dataDir, 'env.json'),
    workers: localWorkers(),
  });
  if (stoppingSince !== undefined) return void stopAndExit(stack);

  printCredentials(credentials.principals, credentialsFile, created, stack.url);
  console.log(
    `Gateway:  ${stack.url}  (health: ${stack.url}/_local/health, events: ${stack.url}/_local/events signed by the operator in ${shown(credentialsFile)})`,
  );
  console.log(
    `Console:  ${stack.url}/console/  (act as any local principal; JavaScript ${(built.gzippedJsBytes / 1024).toFixed(1)} KB gzipped)`,
  );
  console.log(
    `DynamoDB: ${stack.dynamoEndpoint}${inMemory ? ' (in memory)' : ` (data in ${shown(dataDir)})`}`,
  );
  console.log('Latchkey local stack ready');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

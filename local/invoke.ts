/**
 * `npm run invoke -- <FunctionName> [--event '<json>' | --event @file.json]`: runs one declared
 * function's handler once, in this process, against the running local stack. It learns tables and
 * endpoints from `.local/env.json`, which `npm start` writes, so it sees exactly what the stack's
 * handlers see. Scheduled functions get a scheduled event by default, the stream consumer an empty
 * batch; route handlers are better called through the gateway (they need an API Gateway event).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FunctionDeclaration, functions, schedules, streamConsumer } from '../lib/declaration';
import { loadOrCreateCredentials } from './credentials';
import { localRoles } from './iam';
import { localLambdas } from './lambda';
import { scheduledEvent } from './scheduler';
import { defaultDataDir, REGION, readEnvFile } from './stack';

function usage(): string {
  return `Usage: npm run invoke -- <FunctionName> [--event '<json>' | --event @file.json]\nFunctions: ${Object.values(
    functions,
  )
    .map((f) => f.name)
    .join(', ')}`;
}

function eventFor(fn: FunctionDeclaration, raw: string | undefined): unknown {
  if (raw !== undefined) return JSON.parse(raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw);
  if (schedules.some((s) => s.fn.name === fn.name)) return scheduledEvent(fn, REGION);
  if (fn.name === streamConsumer.fn.name) return { Records: [] };
  throw new Error(`${fn.name} needs an event: pass --event '<json>' or --event @file.json`);
}

// The handlers run on Node.js 22 in Lambda; the SDK's notice about Node 20 on a laptop is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--event');
  const fn = Object.values(functions).find((f) => f.name.toLowerCase() === name?.toLowerCase());
  if (!fn) throw new Error(name ? `Unknown function '${name}'.\n${usage()}` : usage());
  const eventArg = args.includes('--event') ? args[args.indexOf('--event') + 1] : undefined;

  const dataDir = process.env.LATCHKEY_LOCAL_DIR ?? defaultDataDir();
  const envFile = join(dataDir, 'env.json');
  const stack = readEnvFile(envFile);
  if (!stack) throw new Error(`No running local stack (${envFile} not found). Start it with \`npm start\`.`);
  const health = await fetch(`${stack.url}/_local/health`).catch(() => undefined);
  if (!health?.ok)
    throw new Error(`The local stack at ${stack.url} is not healthy. Start it with \`npm start\`.`);

  // Before the handler is loaded: its SDK clients read their endpoints when created.
  Object.assign(process.env, stack.env);
  // As the function's role, with the keys the running stack knows (credentials.json).
  const roles = localRoles(loadOrCreateCredentials(join(dataDir, 'credentials.json')).functions);
  const result = await localLambdas(REGION, undefined, roles).invoke(fn, eventFor(fn, eventArg));
  console.log(JSON.stringify(result ?? null, null, 2));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

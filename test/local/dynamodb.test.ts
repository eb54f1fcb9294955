/** Starting DynamoDB Local: the server that answers on the port must be the JVM we started. */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { freePort, startDynamoDbLocal } from '../../local/dynamodb';

/** Listens on 127.0.0.1:port as soon as it is free (retrying while someone else holds it). */
async function listenWhenFree(server: Server, port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const bound = await new Promise<boolean>((ok) => {
      const onError = () => ok(false);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.removeListener('error', onError);
        ok(true);
      });
    });
    if (bound) return;
    if (Date.now() > deadline) throw new Error(`port ${port} never became free`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const javaOnPort = (port: number) =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .some((line) => line.includes('DynamoDBLocal.jar') && line.includes(`-port ${port}`));

it('refuses another server that took the port while our JVM was starting, and kills the JVM', async () => {
  const port = await freePort();
  // A fake DynamoDB: answers ListTables like an empty DynamoDB Local would.
  const impostor = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{"TableNames":[]}');
    });
  });
  // startDynamoDbLocal checks the port is free, then spawns the JVM, which binds about a second
  // later: the impostor takes the port in between, as soon as the JVM is seen running (a fixed
  // pause instead could end before the port check on a busy machine).
  const starting = startDynamoDbLocal({ port });
  starting.catch(() => {});
  const spawnDeadline = Date.now() + 10_000;
  while (!javaOnPort(port)) {
    if (Date.now() > spawnDeadline) throw new Error('the JVM never started');
    await new Promise((r) => setTimeout(r, 10));
  }
  await listenWhenFree(impostor, port);
  try {
    await expect(starting).rejects.toThrow(/answered before ours started|exited .* before it was ready/);
    const deadline = Date.now() + 5000;
    while (javaOnPort(port) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(javaOnPort(port)).toBe(false);
  } finally {
    // Had it wrongly started, stop it, or its JVM would outlive the test run.
    await starting.then(
      (db) => db.stop(),
      () => {},
    );
    impostor.closeAllConnections();
    await new Promise((ok) => impostor.close(ok));
  }
});

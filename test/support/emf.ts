/**
 * What Powertools Metrics wrote: its EMF lines, captured from stdout (where Lambda's log, and so
 * CloudWatch, would read them). Jest's global setup turns metrics off (`POWERTOOLS_METRICS_DISABLED`);
 * a file reading them sets it to 'false' before requiring the handler, whose module creates the
 * Metrics instance.
 */

export interface EmfLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

export interface Captured<T> {
  readonly outcome: PromiseSettledResult<T>;
  /** Every EMF line written while `run` ran. */
  readonly lines: EmfLine[];
  /** Everything written to stdout while `run` ran. */
  readonly stdout: string;
}

function isEmf(value: unknown): value is EmfLine {
  return typeof value === 'object' && value !== null && '_aws' in value;
}

/** Runs `run` with stdout captured (and kept off the test output); never rejects. */
export async function captureEmf<T>(run: () => Promise<T>): Promise<Captured<T>> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  }) as typeof process.stdout.write);
  let outcome: PromiseSettledResult<T>;
  try {
    outcome = { status: 'fulfilled', value: await run() };
  } catch (reason) {
    outcome = { status: 'rejected', reason };
  } finally {
    spy.mockRestore();
  }
  const stdout = chunks.join('');
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as unknown)
    .filter(isEmf);
  return { outcome, lines, stdout };
}

/** One EMF line as a reader would use it: namespace, dimension sets, and each metric's unit and value. */
export function readEmf(line: EmfLine) {
  const [directive] = line._aws.CloudWatchMetrics;
  if (!directive) throw new Error('EMF line without a CloudWatchMetrics directive');
  return {
    namespace: directive.Namespace,
    dimensionSets: directive.Dimensions.map((set) => [...set]),
    metrics: Object.fromEntries(
      directive.Metrics.map((m) => [m.Name, { unit: m.Unit, value: line[m.Name] }]),
    ),
    /** Every top-level member but `_aws`: dimension values and metric values. */
    members: Object.fromEntries(Object.entries(line).filter(([k]) => k !== '_aws')),
  };
}

/**
 * Local EventBridge (`AWSEvents`): PutEvents onto the one custom bus. Each accepted entry is kept in
 * the shape a rule target receives (`version`, `id`, `detail-type`, `source`, `time`, `detail`...),
 * in `<dataDir>/events.jsonl` or memory, and listed by `GET /_local/events`.
 */
import { randomUUID } from 'node:crypto';
import { type AwsService, AwsServiceError } from './aws-json';
import { jsonLines } from './store';

export interface LocalEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: unknown;
  readonly 'event-bus-name': string;
}

export interface LocalEventBridgeOptions {
  readonly busName: string;
  /** `<dataDir>/events.jsonl`; undefined keeps events in memory. */
  readonly file?: string;
  readonly region: string;
  readonly accountId: string;
}

export interface LocalEventBridge extends AwsService {
  events(): LocalEvent[];
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export function localEventBridge(options: LocalEventBridgeOptions): LocalEventBridge {
  const log = jsonLines<LocalEvent>(options.file);
  const busArn = `arn:aws:events:${options.region}:${options.accountId}:event-bus/${options.busName}`;

  function put(entry: unknown): EntryResult {
    if (typeof entry !== 'object' || entry === null) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Entry is not an object' };
    }
    const e = entry as Record<string, unknown>;
    const bus = typeof e.EventBusName === 'string' && e.EventBusName ? e.EventBusName : 'default';
    if (bus !== options.busName && bus !== busArn) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` };
    }
    if (typeof e.Source !== 'string' || !e.Source || typeof e.DetailType !== 'string' || !e.DetailType) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source and DetailType are required.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(typeof e.Detail === 'string' ? e.Detail : '');
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const id = randomUUID();
    const time = typeof e.Time === 'number' ? new Date(e.Time * 1000) : new Date();
    log.append({
      version: '0',
      id,
      'detail-type': e.DetailType,
      source: e.Source,
      account: options.accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: options.region,
      resources: Array.isArray(e.Resources)
        ? e.Resources.filter((r): r is string => typeof r === 'string')
        : [],
      detail,
      'event-bus-name': options.busName,
    });
    return { EventId: id };
  }

  return {
    targetPrefix: 'AWSEvents',
    signingName: 'events',
    operations: {
      PutEvents(input) {
        const entries = input.Entries;
        if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
          throw new AwsServiceError('ValidationException', 'Entries must hold 1 to 10 entries');
        }
        const results = entries.map(put);
        return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
      },
    },
    events: () => log.all(),
  };
}

/** The background workers `npm start` runs next to the gateway: the keys stream poller and the scheduler. */
import { scheduler } from './scheduler';
import type { WorkerFactory } from './stack';
import { streamPoller } from './stream-poller';

export function localWorkers(): WorkerFactory[] {
  return [streamPoller(), scheduler()];
}

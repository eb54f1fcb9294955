/**
 * Seeds the admin table (docs/tenancy.md#seeding): the `default` organization with its `default`
 * workspace, and a binding (root allowed) for each principal of `latchkey:superAdmins`, each only
 * if absent. On AWS a CloudFormation custom resource invokes it on every deploy (the answer goes to
 * the pre-signed `ResponseURL`); the local stack invokes it on every start with `{}`. It reads
 * nothing but its configuration: it cannot be told to bind anyone else.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { type SeedResult, seed } from '../services/tenancy';
import { logger } from '../shared/logger';

/** The actor of what a deploy seeds. */
export const DEPLOY_ACTOR = 'latchkey:deploy';
const PHYSICAL_ID = 'latchkey-admin-seed';

function isCloudFormation(event: unknown): event is CloudFormationCustomResourceEvent {
  return typeof event === 'object' && event !== null && 'RequestType' in event && 'ResponseURL' in event;
}

/** PUTs the custom resource's outcome to its pre-signed URL (no AWS credentials involved). */
function respond(
  event: CloudFormationCustomResourceEvent,
  context: Pick<Context, 'logStreamName'>,
  status: 'SUCCESS' | 'FAILED',
  reason: string,
  data: Record<string, unknown> = {},
): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: `${reason} (log stream ${context.logStreamName})`.slice(0, 1000),
    PhysicalResourceId: PHYSICAL_ID,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data,
  });
  const url = new URL(event.ResponseURL);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((ok, fail) => {
    const req = send(
      url,
      { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => ok());
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const counts = (r: SeedResult) => ({
  OrganizationsCreated: r.organizations_created.length,
  BindingsCreated: r.bindings_created.length,
});

export async function handler(event: unknown, context: Context): Promise<SeedResult | undefined> {
  if (!isCloudFormation(event)) return seed({ principal: DEPLOY_ACTOR });
  if (event.RequestType === 'Delete') {
    // The admin table is retained with the stack's data: nothing to undo.
    await respond(event, context, 'SUCCESS', 'nothing to remove');
    return undefined;
  }
  try {
    const result = await seed({ principal: DEPLOY_ACTOR });
    logger.info('Admin table seeded', { ...result });
    await respond(event, context, 'SUCCESS', 'seeded', counts(result));
    return result;
  } catch (error) {
    logger.error('Seeding failed', {
      error_name: (error as Error).name,
      error_message: (error as Error).message,
    });
    await respond(event, context, 'FAILED', `seeding failed: ${(error as Error).name}`);
    return undefined;
  }
}

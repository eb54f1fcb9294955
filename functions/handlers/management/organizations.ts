/**
 * Organizations, their workspaces and their policy (docs/tenancy.md): one function for the
 * family, every route checked by `authorize` inside its service call.
 */
import { withWarnings } from '../../services/access-control';
import {
  createOrganization,
  createWorkspace,
  describeOrganization,
  describePolicy,
  describeWorkspace,
  listOrganizations,
  listWorkspaces,
  replacePolicy,
  updateOrganization,
  updateWorkspace,
} from '../../services/tenancy';
import { json } from '../../shared/http';
import { dispatch, managementRoute } from './kit';
import { pageQuery } from './schemas';
import {
  createOrganizationBody,
  createWorkspaceBody,
  orgParams,
  policyBody,
  updateOrganizationBody,
  updateWorkspaceBody,
  workspaceParams,
} from './tenancy-schemas';

export const handler = dispatch({
  'POST /v1/organizations': managementRoute({ body: createOrganizationBody }, async ({ body, actor }) => {
    const { view, decision } = await createOrganization(actor, body);
    return json(201, withWarnings(view, decision));
  }),
  'GET /v1/organizations': managementRoute({ query: pageQuery }, async ({ query, actor }) =>
    json(200, await listOrganizations(actor, query.limit, query.next_token)),
  ),
  'GET /v1/organizations/{org}': managementRoute({ params: orgParams }, async ({ params, actor }) => {
    const { view, decision } = await describeOrganization(actor, params.org);
    return json(200, withWarnings(view, decision));
  }),
  'PATCH /v1/organizations/{org}': managementRoute(
    { params: orgParams, body: updateOrganizationBody },
    async ({ params, body, actor }) => {
      const { view, decision } = await updateOrganization(actor, params.org, body);
      return json(200, withWarnings(view, decision));
    },
  ),
  'GET /v1/organizations/{org}/policy': managementRoute({ params: orgParams }, async ({ params, actor }) => {
    const { view, decision } = await describePolicy(actor, params.org);
    return json(200, withWarnings(view, decision));
  }),
  'PUT /v1/organizations/{org}/policy': managementRoute(
    { params: orgParams, body: policyBody },
    async ({ params, body, actor }) => {
      const { view, decision } = await replacePolicy(actor, params.org, body);
      return json(200, withWarnings(view, decision));
    },
  ),
  'POST /v1/organizations/{org}/workspaces': managementRoute(
    { params: orgParams, body: createWorkspaceBody },
    async ({ params, body, actor }) => {
      const { view, decision } = await createWorkspace(actor, params.org, body);
      return json(201, withWarnings(view, decision));
    },
  ),
  'GET /v1/organizations/{org}/workspaces': managementRoute(
    { params: orgParams, query: pageQuery },
    async ({ params, query, actor }) => {
      const { listing, decision } = await listWorkspaces(actor, params.org, query.limit, query.next_token);
      return json(200, withWarnings(listing, decision));
    },
  ),
  'GET /v1/organizations/{org}/workspaces/{workspace}': managementRoute(
    { params: workspaceParams },
    async ({ params, actor }) => {
      const { view, decision } = await describeWorkspace(actor, params.org, params.workspace);
      return json(200, withWarnings(view, decision));
    },
  ),
  'PATCH /v1/organizations/{org}/workspaces/{workspace}': managementRoute(
    { params: workspaceParams, body: updateWorkspaceBody },
    async ({ params, body, actor }) => {
      const { view, decision } = await updateWorkspace(actor, params.org, params.workspace, body);
      return json(200, withWarnings(view, decision));
    },
  ),
});

/** Shared by the CDK tests: an app configured like `cdk synth`, and ways to read a template. */
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import cdkJson from '../../cdk.json';
import type { FunctionDeclaration } from '../../lib/declaration';

/**
 * An app with cdk.json's context (feature flags and latchkey:* defaults), as the CLI would give it.
 * Bundling is skipped unless asked for: most tests look at the template, not the code. CDK's own
 * CloudFormation validation runs unless turned off: it costs seconds per test file (a WebAssembly
 * engine to start), so only a test that looks at bundles rather than templates turns it off.
 */
export function testApp(
  options: { bundling?: boolean; cfnValidation?: boolean; context?: Record<string, unknown> } = {},
): App {
  return new App({
    builtinCloudFormationValidation: options.cfnValidation ?? true,
    context: {
      ...cdkJson.context,
      ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

type Json = Record<string, unknown>;

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Json;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] =>
  Array.isArray(s.Resource) ? s.Resource : [s.Resource];

/** The logical id of the only resource of `type` whose properties contain `props`. */
export function logicalIdOf(template: Template, type: string, props: Json): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  if (ids.length !== 1)
    throw new Error(`Expected one ${type} matching ${JSON.stringify(props)}, found ${ids.length}`);
  return ids[0] as string;
}

/** The logical id of a declared function (its description names it). */
export function functionId(template: Template, fn: FunctionDeclaration): string {
  return logicalIdOf(template, 'AWS::Lambda::Function', { Description: `Latchkey ${fn.name} (${fn.entry})` });
}

/** Every statement of every IAM policy attached to the role of `functionLogicalId`. */
export function statementsOf(template: Template, functionLogicalId: string): Statement[] {
  const fn = template.toJSON().Resources[functionLogicalId];
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

export function allStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );
}

/** Whether `resource` is `logicalId`'s ARN, or a string built from it (an index ARN). */
export function refersTo(resource: unknown, logicalId: string): boolean {
  return JSON.stringify(resource).includes(JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] }));
}

/** `"GET /v1/api-keys/{id}"` → the AWS::ApiGateway::Method's properties, rebuilding paths from PathPart/ParentId. */
export function methodsByRoute(template: Template): Map<string, Json> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const r = id ? resources[id] : undefined;
    if (!r) return ''; // the API's root resource
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}`;
  };
  const methods = new Map<string, Json>();
  for (const m of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
    methods.set(`${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'}`, m.Properties);
  }
  return methods;
}

/**
 * The admin console on AWS (docs/console-on-aws.md): hosting, Cognito sign-in, the groups' roles,
 * the API's CORS for the console's origin and the MFA exception for the console's roles; and
 * `latchkey:console: false` removes all of it. cdk-nag over the whole stack is in
 * latchkey-stack.test.ts (the console is on by default there).
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CONSOLE_GROUPS, consoleContentSecurityPolicy } from '../../lib/constructs/admin-console';
import { CONSOLE_CORS_ALLOW_HEADERS } from '../../lib/constructs/management-api';
import { routes } from '../../lib/declaration';
import { SETTINGS } from '../../lib/function-environment';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import { logicalIdOf, methodsByRoute, testApp } from './helpers';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

let template: Template;
let resources: Record<string, Json>;
const ids: Record<string, string> = {};

/** A CloudFormation value as text: `Fn::Join` joined, `{Ref: X}` as `<X>`, `{Fn::GetAtt: [X, A]}` as `<X.A>`. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value.Ref) return `<${value.Ref}>`;
  if (value['Fn::GetAtt']) return `<${value['Fn::GetAtt'].join('.')}>`;
  if (value['Fn::Join']) return (value['Fn::Join'][1] as Json[]).map(render).join(value['Fn::Join'][0]);
  throw new Error(`Cannot render ${JSON.stringify(value)}`);
}

beforeAll(() => {
  template = Template.fromStack(
    new LatchkeyStack(
      testApp({ context: { 'latchkey:consoleDomainPrefix': 'acme-admins' } }),
      'LatchkeyStack',
    ),
  );
  resources = template.toJSON().Resources;
  ids.api = logicalIdOf(template, 'AWS::ApiGateway::RestApi', {});
  ids.bucket = logicalIdOf(template, 'AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
  ids.distribution = logicalIdOf(template, 'AWS::CloudFront::Distribution', {});
  ids.userPool = logicalIdOf(template, 'AWS::Cognito::UserPool', {});
  ids.client = logicalIdOf(template, 'AWS::Cognito::UserPoolClient', {});
  ids.identityPool = logicalIdOf(template, 'AWS::Cognito::IdentityPool', {});
  ids.stage = logicalIdOf(template, 'AWS::ApiGateway::Stage', {});
});

const origin = () => `https://<${ids.distribution}.DomainName>`;

describe('hosting', () => {
  it('keeps the console bucket private, encrypted, versioned, TLS-only and logged', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.anyValue() } },
    });
    expect(resources[ids.bucket as string].Properties.BucketName).toBeUndefined();
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find(
      (p: Json) => p.Properties.Bucket.Ref === ids.bucket,
    ) as Json;
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    // Reads only by this distribution (origin access control), and no plain HTTP at all.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Condition: {
          StringEquals: { 'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }) },
        },
      }),
    );
    expect(JSON.stringify(statements)).toContain(ids.distribution);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('serves it through CloudFront with origin access control, HTTPS only, index.html at the root, logged', () => {
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always' },
    });
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        Logging: Match.objectLike({ Bucket: Match.anyValue() }),
        Origins: [
          Match.objectLike({
            DomainName: { 'Fn::GetAtt': [ids.bucket, 'RegionalDomainName'] },
            OriginAccessControlId: { 'Fn::GetAtt': [Match.anyValue(), 'Id'] },
            S3OriginConfig: { OriginAccessIdentity: '' },
          }),
        ],
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ['GET', 'HEAD'],
          ResponseHeadersPolicyId: { Ref: Match.anyValue() },
        }),
      }),
    });
  });

  it('sends the strict CSP, exactly, and the security headers', () => {
    const [policy] = Object.values(
      template.findResources('AWS::CloudFront::ResponseHeadersPolicy'),
    ) as Json[];
    const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const hostedUi = 'https://acme-admins.auth.<AWS::Region>.amazoncognito.com';
    expect(render(headers.ContentSecurityPolicy.ContentSecurityPolicy)).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
        `connect-src 'self' https://<${ids.api}>.execute-api.<AWS::Region>.<AWS::URLSuffix> ` +
        `https://cognito-identity.<AWS::Region>.amazonaws.com ${hostedUi}; ` +
        `frame-ancestors 'none'; base-uri 'none'; form-action ${hostedUi}`,
    );
    expect(headers.ContentSecurityPolicy.Override).toBe(true);
    // No inline script or style, nothing from anywhere else.
    expect(consoleContentSecurityPolicy({ apiOrigin: 'a', region: 'r', hostedUi: 'h' })).not.toMatch(
      /unsafe|\*/,
    );
    expect(headers).toMatchObject({
      StrictTransportSecurity: {
        AccessControlMaxAgeSec: 63_072_000,
        IncludeSubdomains: true,
        Override: true,
      },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
    });
  });

  it('deploys the built console and a config.json naming the API, the pools and the hosted UI', () => {
    const [deployment] = Object.values(template.findResources('Custom::CDKBucketDeployment')) as Json[];
    expect(deployment.Properties).toMatchObject({
      DestinationBucketName: { Ref: ids.bucket },
      DistributionId: { Ref: ids.distribution },
      DistributionPaths: ['/*'],
      Prune: true,
    });
    expect(deployment.Properties.SourceObjectKeys).toHaveLength(2);
    // The config.json source: its markers are the values CloudFormation fills in.
    const markers = Object.values(deployment.Properties.SourceMarkers[1]).map((v) => render(v));
    expect(markers).toEqual(
      expect.arrayContaining([
        `<${ids.api}>`,
        `<${ids.stage}>`,
        `<${ids.userPool}>`,
        `<${ids.client}>`,
        `<${ids.identityPool}>`,
      ]),
    );
  });

  it('outputs the console URL, the user pool and each group role’s principal pattern to bind', () => {
    const outputs = template.toJSON().Outputs as Record<string, Json>;
    expect(render(outputs.ConsoleUrl.Value)).toBe(`${origin()}/`);
    expect(outputs.ConsoleUserPoolId.Value).toEqual({ Ref: ids.userPool });
    for (const group of CONSOLE_GROUPS) {
      const id = `Console${group.name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}Principal`;
      expect(render(outputs[id].Value)).toMatch(
        /^arn:<AWS::Partition>:sts::<AWS::AccountId>:assumed-role\/<Console.+>\/\*$/,
      );
    }
  });
});

describe('sign-in', () => {
  it('requires TOTP MFA (no SMS), admin-created users only, a strong password', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 14,
          RequireLowercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          RequireUppercase: true,
          TemporaryPasswordValidityDays: 3,
        },
      },
    });
    expect(resources[ids.userPool as string].DeletionPolicy).toBe('Retain');
  });

  it('has one public client: no secret, authorization code only, back to the console', () => {
    const client = resources[ids.client as string].Properties;
    expect(client).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      SupportedIdentityProviders: ['COGNITO'],
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
    expect(client.CallbackURLs.map(render)).toEqual([`${origin()}/`]);
    expect(client.LogoutURLs.map(render)).toEqual([`${origin()}/`]);
    expect(client.ExplicitAuthFlows ?? []).not.toContain('ALLOW_USER_PASSWORD_AUTH');
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: 'acme-admins',
      UserPoolId: { Ref: ids.userPool },
    });
  });

  it('has an identity pool with no unauthenticated identities, the user pool checked server-side', () => {
    template.hasResourceProperties('AWS::Cognito::IdentityPool', {
      AllowUnauthenticatedIdentities: false,
      AllowClassicFlow: false,
      CognitoIdentityProviders: [
        {
          ClientId: { Ref: ids.client },
          ProviderName: Match.anyValue(),
          ServerSideTokenCheck: true,
        },
      ],
    });
  });

  it('maps the ID token’s group role, denies a user in no group, and has no default role', () => {
    const [attachment] = Object.values(
      template.findResources('AWS::Cognito::IdentityPoolRoleAttachment'),
    ) as Json[];
    expect(attachment.Properties.IdentityPoolId).toEqual({ Ref: ids.identityPool });
    expect(attachment.Properties.Roles).toBeUndefined();
    const mappings = Object.values(attachment.Properties.RoleMappings) as Json[];
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({ Type: 'Token', AmbiguousRoleResolution: 'Deny' });
    expect(render(mappings[0].IdentityProvider)).toBe(
      `cognito-idp.<AWS::Region>.amazonaws.com/<${ids.userPool}>:<${ids.client}>`,
    );
  });
});

describe('the groups’ roles', () => {
  const roleOf = (group: string) => {
    const [groupResource] = Object.values(
      template.findResources('AWS::Cognito::UserPoolGroup', { Properties: { GroupName: group } }),
    ) as Json[];
    return groupResource.Properties.RoleArn['Fn::GetAtt'][0] as string;
  };

  it.each(CONSOLE_GROUPS.map((g) => [g.name, g] as const))(
    '%s: a group with its role, assumable only through this identity pool by an authenticated identity',
    (name, group) => {
      template.hasResourceProperties('AWS::Cognito::UserPoolGroup', {
        GroupName: name,
        Precedence: group.precedence,
        UserPoolId: { Ref: ids.userPool },
      });
      const role = resources[roleOf(name)].Properties;
      expect(role.Path).toBe('/latchkey-console/LatchkeyStack/');
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Federated: 'cognito-identity.amazonaws.com' },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { 'cognito-identity.amazonaws.com:aud': { Ref: ids.identityPool } },
            'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
          },
        },
      ]);
    },
  );

  it.each(CONSOLE_GROUPS.map((g) => [g.name, g] as const))(
    '%s: may only invoke the management routes (auditors: GET only)',
    (name, group) => {
      const role = roleOf(name);
      const statements = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p: Json) => p.Properties.Roles.some((r: Json) => r.Ref === role))
        .flatMap((p: Json) => p.Properties.PolicyDocument.Statement);
      expect(statements).toHaveLength(1);
      expect(statements[0].Effect).toBe('Allow');
      expect(statements[0].Action).toBe('execute-api:Invoke');
      expect(render(statements[0].Resource)).toBe(
        `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${ids.api}>/<${ids.stage}>/` +
          `${group.readOnly ? 'GET' : '*'}/v1/*`,
      );
    },
  );

  it('covers exactly the SigV4 routes with /v1/* (the key-protected ones are elsewhere)', () => {
    for (const r of routes)
      expect([r.path, r.path.startsWith('/v1/')]).toEqual([r.path, r.auth.type === 'iam']);
  });
});

describe('the management API for the console', () => {
  it('exempts the console roles, and only them, from the MFA condition on root mode', () => {
    const policy = resources[ids.api as string].Properties.Policy;
    const deny = (policy.Statement as Json[]).find((s) => s.Sid === 'RequireMfa');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*/POST/v1/root-mode',
    });
    expect(deny.Condition.BoolIfExists).toEqual({ 'aws:MultiFactorAuthPresent': 'false' });
    expect(deny.Condition.ArnNotLike['aws:PrincipalArn'].map(render)).toEqual([
      'arn:<AWS::Partition>:iam::<AWS::AccountId>:role/latchkey-console/LatchkeyStack/*',
    ]);
  });

  it('answers the preflight of every SigV4 route for the console origin only, and of no key-protected one', () => {
    const methods = methodsByRoute(template);
    const iamPaths = new Set(routes.filter((r) => r.auth.type === 'iam').map((r) => r.path));
    const preflighted = [...methods.keys()].filter((k) => k.startsWith('OPTIONS ')).map((k) => k.slice(8));
    expect(new Set(preflighted)).toEqual(iamPaths);
    for (const path of preflighted) {
      const m: Json = methods.get(`OPTIONS ${path}`);
      expect(m?.AuthorizationType).toBe('NONE');
      expect(m?.Integration.Type).toBe('MOCK');
      const headers = m?.Integration.IntegrationResponses[0].ResponseParameters;
      expect(render(headers['method.response.header.Access-Control-Allow-Origin'])).toBe(`'${origin()}'`);
      expect(headers['method.response.header.Access-Control-Allow-Headers']).toBe(
        `'${CONSOLE_CORS_ALLOW_HEADERS.join(',')}'`,
      );
      expect(headers['method.response.header.Access-Control-Expose-Headers']).toBe(
        "'x-next-token,retry-after'",
      );
      expect(headers['method.response.header.Access-Control-Allow-Credentials']).toBeUndefined();
    }
  });

  it('lets anyone reach the preflights (unauthorized methods need an Allow in a resource policy), nothing else', () => {
    const allows = (resources[ids.api as string].Properties.Policy.Statement as Json[]).filter(
      (s) => s.Effect === 'Allow',
    );
    expect(allows).toEqual([
      {
        Sid: 'CorsPreflight',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*/OPTIONS/v1/*',
      },
    ]);
    // The only methods without authorization are those preflights.
    const open = [...methodsByRoute(template)].filter(([, m]) => m.AuthorizationType === 'NONE');
    expect(open.every(([route]) => route.startsWith('OPTIONS /v1/'))).toBe(true);
  });

  it('names the console origin on every answer API Gateway gives itself', () => {
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')) as Json[];
    expect(responses.map((r) => r.Properties.ResponseType).sort()).toEqual([
      'ACCESS_DENIED',
      'DEFAULT_4XX',
      'DEFAULT_5XX',
      'UNAUTHORIZED',
    ]);
    for (const r of responses) {
      expect(
        render(r.Properties.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin']),
      ).toBe(`'${origin()}'`);
    }
  });

  it('gives the management functions the console origin (their answers carry it)', () => {
    const variables = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f: Json) => f.Properties.Environment?.Variables?.[SETTINGS.consoleOrigin.name])
      .filter(Boolean);
    expect(variables.length).toBeGreaterThan(10);
    for (const v of variables) expect(render(v)).toBe(origin());
  });
});

describe('latchkey:console false', () => {
  let off: Template;
  beforeAll(() => {
    off = Template.fromStack(
      new LatchkeyStack(
        testApp({ cfnValidation: false, context: { 'latchkey:console': false } }),
        'LatchkeyStack',
      ),
    );
  });

  it('deploys no bucket, distribution, pool or deployment', () => {
    for (const type of [
      'AWS::S3::Bucket',
      'AWS::CloudFront::Distribution',
      'AWS::CloudFront::ResponseHeadersPolicy',
      'AWS::Cognito::UserPool',
      'AWS::Cognito::IdentityPool',
      'AWS::Cognito::IdentityPoolRoleAttachment',
      'Custom::CDKBucketDeployment',
    ]) {
      expect([type, Object.keys(off.findResources(type))]).toEqual([type, []]);
    }
    expect(Object.keys(off.toJSON().Outputs).filter((o) => o.startsWith('Console'))).toEqual([]);
  });

  it('has no CORS, no MFA exception, and tells the functions there is no console', () => {
    const methods = [...methodsByRoute(off).keys()];
    expect(methods.filter((m) => m.startsWith('OPTIONS '))).toEqual([]);
    const gatewayResponses = Object.values(off.findResources('AWS::ApiGateway::GatewayResponse')) as Json[];
    expect(gatewayResponses.map((r) => r.Properties.ResponseType).sort()).toEqual([
      'ACCESS_DENIED',
      'UNAUTHORIZED',
    ]);
    for (const r of gatewayResponses) expect(JSON.stringify(r)).not.toContain('Access-Control');
    const api = Object.values(off.findResources('AWS::ApiGateway::RestApi'))[0] as Json;
    expect(api.Properties.Policy.Statement).toHaveLength(1);
    expect(api.Properties.Policy.Statement[0].Condition).toEqual({
      BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' },
    });
    const variables = Object.values(off.findResources('AWS::Lambda::Function'))
      .map((f: Json) => f.Properties.Environment?.Variables?.[SETTINGS.consoleOrigin.name])
      .filter(Boolean);
    expect(variables.length).toBeGreaterThan(10);
    expect(new Set(variables)).toEqual(new Set(['none']));
  });
});

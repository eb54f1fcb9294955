import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aws, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { buildConsole } from '../../console/build';
import type { CognitoConfig } from '../../console/src/config';
import type { RouteDeclaration } from '../declaration';

/**
 * The console's sign-in groups (docs/console-on-aws.md). Each group has its own IAM role; what a
 * role's sessions may do is decided by the admin binding that names it (docs/tenancy.md), the
 * role's policy only says which management routes it may call at all.
 */
export interface ConsoleGroup {
  /** The user pool group's name (unique within the pool, so no stack prefix). */
  readonly name: string;
  /** The role a member gets when in several groups: the lowest precedence wins (`cognito:preferred_role`). */
  readonly precedence: number;
  /** Only the `GET` management routes (an auditor reads; its binding could not allow more anyway). */
  readonly readOnly: boolean;
  /** The admin binding role docs/console-on-aws.md suggests for this group's IAM role. */
  readonly suggestedBinding: string;
}

export const CONSOLE_GROUPS: readonly ConsoleGroup[] = [
  { name: 'super-admins', precedence: 0, readOnly: false, suggestedBinding: 'super_admin' },
  { name: 'security-admins', precedence: 1, readOnly: false, suggestedBinding: 'org_owner' },
  { name: 'auditors', precedence: 2, readOnly: true, suggestedBinding: 'auditor' },
];

/**
 * The IAM path of the console's roles in `stack`. The API's resource policy exempts roles under it
 * from the MFA condition (their sessions come only from a user pool that requires MFA), by
 * `aws:PrincipalArn` pattern rather than by ARN: the roles' trust names the identity pool, whose
 * client names the distribution, whose CSP names the API, so an ARN in the API's policy would be
 * a dependency cycle. A path is known before any of them exists.
 */
export function consoleRolePath(stack: Stack): string {
  return `/latchkey-console/${stack.stackName}/`;
}

/** `aws:PrincipalArn` patterns matching every role under `consoleRolePath(stack)`, and nothing else. */
export function consoleRoleArnPattern(stack: Stack): string {
  return `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role${consoleRolePath(stack)}*`;
}

/** The console's Content-Security-Policy (docs/console-on-aws.md): its own files, and these endpoints only. */
export function consoleContentSecurityPolicy(endpoints: {
  readonly apiOrigin: string;
  readonly region: string;
  readonly hostedUi: string;
}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${endpoints.apiOrigin} https://cognito-identity.${endpoints.region}.amazonaws.com ${endpoints.hostedUi}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    `form-action ${endpoints.hostedUi}`,
  ].join('; ');
}

let built: string | undefined;
/** The repository's console, built once per process (a synth may create several stacks). */
function builtConsole(): string {
  built ??= buildConsole(mkdtempSync(join(tmpdir(), 'latchkey-console-'))).outdir;
  return built;
}

/** A CloudFormation element's logical id, as cdk-nag names it in a finding. */
function logicalId(element: unknown): string {
  const cfn = element as CfnElement;
  return Stack.of(cfn).getLogicalId(cfn);
}

export interface AdminConsoleProps {
  /** The management API the console calls (its URL goes into `config.json`, its origin into the CSP). */
  readonly api: apigateway.RestApi;
  /**
   * The API's routes: the console's roles may invoke the `iam` ones (auditors: the `GET` ones),
   * which must be exactly those under `/v1/`.
   */
  readonly routes: readonly RouteDeclaration[];
  /**
   * The hosted UI's domain prefix, unique in the region (`latchkey:consoleDomainPrefix`).
   * @default `<stack name, lowercased>-<account>`
   */
  readonly domainPrefix?: string;
  /**
   * A built console to deploy (a directory with `index.html`, `app.js`, `styles.css`).
   * @default the repository's console, built by `buildConsole()` into a temporary directory at synth (once per process)
   */
  readonly consoleDir?: string;
  /**
   * How long the access logs (S3 and CloudFront) and the deployment function's log are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The admin console on AWS (docs/console-on-aws.md): a private bucket behind CloudFront (origin
 * access control, strict CSP and security headers), a Cognito user pool that requires MFA with
 * one group per admin role, and an identity pool that turns a signed-in user's group into that
 * group's IAM role's credentials. The browser signs management calls with them (SigV4), so the
 * API's IAM authorization and the admin bindings stay the only gate.
 */
export class AdminConsole extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly userPoolDomain: cognito.UserPoolDomain;
  readonly identityPool: cognito.CfnIdentityPool;
  /** Each group's role, by group name. */
  readonly roles: ReadonlyMap<string, iam.Role>;
  /** `https://<distribution domain>`: the console's URL, and the origin the API's CORS names. */
  readonly origin: string;
  /** The hosted UI's base URL. */
  readonly hostedUiUrl: string;

  constructor(scope: Construct, id: string, props: AdminConsoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const retentionDays = retention === logs.RetentionDays.INFINITE ? undefined : retention;

    // --- Hosting -------------------------------------------------------------------------------
    // One log bucket for the console bucket's server access logs and CloudFront's standard logs
    // (which CloudFront writes with ACLs, hence the object ownership).
    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      ...(retentionDays ? { lifecycleRules: [{ expiration: Duration.days(retentionDays) }] } : {}),
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access log bucket of the console bucket and its distribution; logging its own access would ' +
        'need yet another bucket, and it holds only logs, written by S3 and CloudFront.',
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      // Old versions of a rebuilt console are kept a while for rollback, not forever.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
    });

    const domainPrefix =
      props.domainPrefix ?? `${stack.stackName.toLowerCase().slice(0, 40)}-${Aws.ACCOUNT_ID}`;
    const hostedUiUrl = `https://${domainPrefix}.auth.${Aws.REGION}.amazoncognito.com`;
    this.hostedUiUrl = hostedUiUrl;
    const apiOrigin = `https://${props.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Latchkey console: strict CSP and security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: consoleContentSecurityPolicy({
            apiOrigin,
            region: Aws.REGION,
            hostedUi: hostedUiUrl,
          }),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Latchkey admin console',
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'console-distribution/',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
    const consoleUrl = `${this.origin}/`;
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'Admins may work from anywhere; every management call is SigV4-signed with credentials that only an ' +
          'MFA sign-in to the user pool gives, so where the static files are fetched from restricts nothing.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves three static files and config.json (public identifiers only); a CloudFront ' +
          'web ACL lives in us-east-1 and would protect nothing the API and Cognito do not guard themselves.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot pin a minimum TLS version (CloudFront fixes its policy ' +
          'at TLSv1 there); every browser the console supports negotiates TLS 1.2 or 1.3 (docs/console-on-aws.md).',
      },
    );

    // --- Sign-in -------------------------------------------------------------------------------
    this.userPool = new cognito.UserPool(this, 'Users', {
      // Admins are created by admins (docs/console-on-aws.md), never by themselves.
      selfSignUpEnabled: false,
      signInAliases: { email: true, username: false },
      signInCaseSensitive: false,
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      standardAttributes: { email: { required: true, mutable: false } },
      deletionProtection: true,
    });
    const planReason =
      'Threat protection needs the Plus feature plan (billed per active user); the pool admits only admins an ' +
      'admin created, with a 14-character password and TOTP MFA required, and every API call is IAM-authorized.';
    Validations.of(this.userPool).acknowledge(
      { id: 'AwsSolutions-COG3', reason: planReason },
      { id: 'AwsSolutions-COG8', reason: planReason },
    );
    this.userPoolClient = this.userPool.addClient('Console', {
      // A browser cannot keep a secret: authorization code with PKCE, nothing else.
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [consoleUrl],
        logoutUrls: [consoleUrl],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      // A working day; after it the hosted UI asks again (with MFA).
      refreshTokenValidity: Duration.hours(8),
    });
    this.userPoolDomain = this.userPool.addDomain('HostedUi', { cognitoDomain: { domainPrefix } });

    const providerName = `cognito-idp.${Aws.REGION}.amazonaws.com/${this.userPool.userPoolId}`;
    this.identityPool = new cognito.CfnIdentityPool(this, 'Identities', {
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      cognitoIdentityProviders: [
        {
          providerName,
          clientId: this.userPoolClient.userPoolClientId,
          // Cognito checks with the user pool that the token was not revoked (sign-out, admin action).
          serverSideTokenCheck: true,
        },
      ],
    });

    // --- One IAM role per group ----------------------------------------------------------------
    // Every /v1 route is an `iam` route (lib/declaration.ts; test/infra checks it), and only those
    // answer to SigV4, so `/v1/*` is exactly the management routes.
    const stage = props.api.deploymentStage.stageName;
    const invokeArn = (method: string) => props.api.arnForExecuteApi(method, '/v1/*', stage);
    const nagId = (method: string) =>
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:` +
      `<${logicalId(props.api.node.defaultChild)}>/<${logicalId(props.api.deploymentStage.node.defaultChild)}>/${method}/v1/*]`;
    const roles = new Map<string, iam.Role>();
    for (const group of CONSOLE_GROUPS) {
      const role = new iam.Role(this, `Role-${group.name}`, {
        path: consoleRolePath(stack),
        description: `Latchkey console: members of the ${group.name} user pool group`,
        maxSessionDuration: Duration.hours(1),
        assumedBy: new iam.FederatedPrincipal(
          'cognito-identity.amazonaws.com',
          {
            StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.ref },
            'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
          },
          'sts:AssumeRoleWithWebIdentity',
        ),
      });
      const method = group.readOnly ? 'GET' : '*';
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: [invokeArn(method)] }),
      );
      Validations.of(role).acknowledge({
        id: nagId(method),
        reason:
          'execute-api:Invoke on the management routes (/v1/*, all AWS_IAM; the key-protected /demo routes excluded) ' +
          `${group.readOnly ? 'for GET only' : 'any method'}; the admin binding naming this role decides the rest.`,
      });
      new cognito.CfnUserPoolGroup(this, `Group-${group.name}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group.name,
        precedence: group.precedence,
        roleArn: role.roleArn,
        description: `Latchkey console; bind its role as ${group.suggestedBinding} (docs/console-on-aws.md)`,
      });
      roles.set(group.name, role);
    }
    this.roles = roles;

    new cognito.CfnIdentityPoolRoleAttachment(this, 'RoleMapping', {
      identityPoolId: this.identityPool.ref,
      // The group's role from the ID token (cognito:preferred_role); a user in no group gets nothing.
      roleMappings: {
        console: {
          identityProvider: `${providerName}:${this.userPoolClient.userPoolClientId}`,
          type: 'Token',
          ambiguousRoleResolution: 'Deny',
        },
      },
    });

    // --- Contents ------------------------------------------------------------------------------
    const consoleDir = props.consoleDir ?? builtConsole();
    const config: CognitoConfig & { readonly mode: 'cognito' } = {
      mode: 'cognito',
      region: Aws.REGION,
      apiBaseUrl: props.api.url,
      userPoolId: this.userPool.userPoolId,
      userPoolClientId: this.userPoolClient.userPoolClientId,
      userPoolDomain: hostedUiUrl,
      identityPoolId: this.identityPool.ref,
    };
    // Its own role and log group, as every Latchkey function (no AWS managed policy).
    const deployLog = new logs.LogGroup(this, 'DeployLogs', { retention });
    const deployRole = new iam.Role(this, 'DeployRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Latchkey console: copies the built console into its bucket',
    });
    deployRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [deployLog.logGroupArn],
      }),
    );
    new s3deploy.BucketDeployment(this, 'Deploy', {
      sources: [s3deploy.Source.asset(consoleDir), s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      role: deployRole,
      logGroup: deployLog,
    });
    const copyReason =
      "CDK's BucketDeployment reads the console's asset from the CDK assets bucket and copies every object into " +
      'the console bucket, pruning the rest (its grants: object-level actions on those two buckets only).';
    Validations.of(deployRole).acknowledge(
      ...[
        'Action::s3:GetBucket*',
        'Action::s3:GetObject*',
        'Action::s3:List*',
        'Action::s3:Abort*',
        'Action::s3:DeleteObject*',
        'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
        `Resource::<${logicalId(this.bucket.node.defaultChild)}.Arn>/*`,
      ].map((finding) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason: copyReason })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'CDK grants the deployment cloudfront:CreateInvalidation and GetInvalidation on "*" (so a new console is ' +
          'served at once); a Deny on every other distribution in the same role narrows it to this one.',
      },
    );
    // BucketDeployment's own grant is on "*"; this role may invalidate only the console's distribution.
    deployRole.addToPolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
        notResources: [this.distribution.distributionArn],
      }),
    );
    // The deployment's Lambda function is a stack-wide singleton, not a child of `deployment`.
    const handler = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          "CDK's BucketDeployment fixes its own Python runtime; it runs only while CloudFormation deploys the " +
          'console, and aws-cdk-lib updates it.',
      });
    }
  }
}

import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionDeclaration } from '../declaration';

const REPO_ROOT = path.join(__dirname, '../..');

/**
 * What every deployed function gets besides its declared configuration (`lib/function-environment.ts`):
 * source maps for stack traces, and its name as the Powertools service (the Tracer's `Service`
 * annotation). Lambda-only: the local stack runs every function in one process, where Powertools'
 * defaults serve (metrics name their service in code, `lib/metric-catalog.ts`).
 */
export function runtimeEnvironment(declaration: FunctionDeclaration): Record<string, string> {
  return { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: declaration.name };
}

/**
 * How every function is bundled; `npm run bench` and `test/infra/authorizer-bundle.test.ts` build
 * with the same options to weigh the bundles. ES module builds first (`mainFields`): the AWS SDK's
 * and Powertools' ES builds are what esbuild can tree-shake, and their CommonJS builds made the
 * authorizer 1.4 times as large and slower to load (docs/operations.md, Bundles).
 */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  target: 'node22',
  mainFields: ['module', 'main'],
} as const;

export interface LatchkeyFunctionProps {
  /** The function as declared in `lib/declaration.ts`: entry, memory, timeout (its `access` is granted by `grantAccess`). */
  readonly declaration: FunctionDeclaration;
  /**
   * Environment variables of the function.
   * @default - none besides `runtimeEnvironment(declaration)`
   */
  readonly environment?: Record<string, string>;
  /**
   * Retention of the function's log group. One year covers a yearly security review of who did what.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The one way Latchkey builds a Lambda function: Node.js 22 on arm64, bundled locally by esbuild
 * (never Docker), X-Ray tracing, its own log group, and a role that starts with nothing but the
 * right to write to that log group (no AWSLambdaBasicExecutionRole, whose grant covers every log group).
 */
export class LatchkeyFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LatchkeyFunctionProps) {
    super(scope, id);
    const { declaration } = props;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      // Logs outlive a stack teardown: they are the record of what the functions did.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Latchkey ${declaration.name}: only the access declared in lib/declaration.ts`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, declaration.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: declaration.memoryMb ?? 256,
      timeout: Duration.seconds(declaration.timeoutSeconds ?? 10),
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      description: `Latchkey ${declaration.name} (${declaration.entry})`,
      environment: { ...runtimeEnvironment(declaration), ...props.environment },
      bundling: {
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        target: BUNDLING.target,
        mainFields: [...BUNDLING.mainFields],
        format: OutputFormat.CJS,
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
        // Bundle the AWS SDK too: the deployed code runs exactly the SDK versions the tests ran.
        externalModules: [],
      },
    });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level ' +
          'permissions; test/infra checks that no other action is granted on "*".',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'docs/architecture.md pins Node.js 22 (the runtime the handlers and the local stack are tested on); moving to a newer ' +
          'runtime is a deliberate upgrade, not a side effect of a CDK bump.',
      },
    );
  }
}

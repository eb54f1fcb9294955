/**
 * The `latchkey` command tree (commander) and one run of it: parse, call the API, print, and answer
 * the exit code (0 ok, 1 refused or failed, 2 usage; docs/cli.md#exit-codes). Side effects go
 * through `CliDeps`, so tests run it in-process as well as through the bundle.
 */
import { Command, CommanderError } from 'commander';
import { ManagementApiError } from '../sdk/management';
import { apisCommand } from './commands/apis';
import { auditCommand } from './commands/audit';
import { keysCommand } from './commands/keys';
import { tenancyCommands } from './commands/tenancy';
import type { CliDeps } from './context';
import { CliFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import type { Kit, RunState } from './kit';
import { Printer } from './output';

export const VERSION = '0.1.0';

export function buildProgram(deps: CliDeps, state: RunState): Command {
  const program = new Command('latchkey')
    .description(
      "Latchkey's management API from the command line: API keys, audit, registered APIs, organizations, workspaces, admin bindings and root mode. Requests are SigV4-signed with your AWS credentials.",
    )
    .version(VERSION, '--version', 'print the version')
    .option('--endpoint <url>', 'the API base URL (else LATCHKEY_ENDPOINT, --stack, or --local)')
    .option('--stack <name>', "read the endpoint from this CloudFormation stack's ApiUrl output")
    .option(
      '--region <region>',
      'AWS region to sign for (default: from the endpoint, AWS_REGION or the profile)',
    )
    .option('--profile <name>', 'AWS profile of the default credential chain')
    .option(
      '--local',
      'the local stack (npm start; its URL from .local/env.json, else http://127.0.0.1:3000/), signed as a local principal',
    )
    .option(
      '--as <principal>',
      'with --local: the principal to act as, by name (default: the first, super-admin)',
    )
    .option(
      '--credentials-file <path>',
      'with --local: the credentials file (default .local/credentials.json)',
    )
    .option('--json', "print the API's JSON (errors too, on stderr) instead of tables")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({ writeOut: deps.io.stdout, writeErr: deps.io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  latchkey --local keys create --name ci --scope agents:read --token-file ci.token
  latchkey --local --as auditor audit list --org acme
  latchkey --stack LatchkeyStack --profile admin keys list --status active
  LATCHKEY_ENDPOINT=https://abc.execute-api.eu-west-1.amazonaws.com/prod/ latchkey keys get a1B2c3D4e5F6 --json

Exit codes: 0 ok, 1 refused, not found or failed, 2 usage error. Reference: docs/cli.md`,
    );
  const kit: Kit = { program, deps, state };
  keysCommand(kit);
  auditCommand(kit);
  apisCommand(kit);
  tenancyCommands(kit);
  return program;
}

function describe(e: unknown): string {
  const error = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = error.cause?.code ?? error.cause?.message;
  return `${error.message ?? String(e)}${cause ? ` (${cause})` : ''}`;
}

/** Runs the CLI on `argv` (without node and the script); answers the exit code. */
export async function run(argv: readonly string[], deps: CliDeps): Promise<number> {
  const state: RunState = { exitCode: EXIT_OK };
  const program = buildProgram(deps, state);
  const out = new Printer(deps.io, argv.includes('--json'));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed the message or the help already.
      // Help asked for (`--help`, `help <command>`) and `--version` are exit 0; help shown because
      // no command was given, and every parse error, are usage errors.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof ManagementApiError) {
      out.apiError(e);
      return EXIT_FAILED;
    }
    if (e instanceof UsageError) {
      out.failure(e.message);
      if (!out.json) deps.io.stderr('(add --help for usage)\n');
      return EXIT_USAGE;
    }
    if (e instanceof CliFailure) {
      out.failure(e.message);
      return EXIT_FAILED;
    }
    const refused = (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
    out.failure(
      `${describe(e)}${refused && argv.includes('--local') ? ': is the local stack running (npm start)?' : ''}`,
    );
    return EXIT_FAILED;
  }
}

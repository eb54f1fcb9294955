/**
 * Every TypeScript block of README.md (```ts or ```typescript) must compile, and a CDK app must
 * synthesize, so the README can never show code that does not work with today's constructs.
 *
 * Convention for README blocks:
 * - the first line is a comment naming the repository file the block would be, e.g.
 *   `// bin/deployments-app.ts`. The block is written into that file's directory under a temporary
 *   name, so its relative imports resolve exactly as they would there, and removed afterwards;
 * - every block is type-checked by `tsc` with the repository's tsconfig.json (strict);
 * - a block that calls `.synth()` is a CDK app: it is run with cdk.json's context (bundling skipped,
 *   as in the other CDK tests) and must produce a cloud assembly with a template for each stack;
 * - a block that says it is a file of `examples/` must be that file, byte for byte: those are
 *   compiled and synthesized against the packed package by `test/infra/consumer-example.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import cdkJson from '../../cdk.json';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules/.bin/tsc');

interface Snippet {
  /** 1-based line of the opening fence in README.md, to name the block in failures. */
  readonly line: number;
  /** Where the block says it lives, relative to the repository root. */
  readonly path: string;
  readonly code: string;
}

function snippetsOf(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  for (const m of markdown.matchAll(/^```(?:ts|typescript)(?:[ \t][^\n]*)?\n([\s\S]*?)^```/gm)) {
    const code = m[1] ?? '';
    const line = markdown.slice(0, m.index).split('\n').length;
    const path = /^\/\/ ([\w./-]+\.ts)\b/.exec(code)?.[1];
    if (!path) throw new Error(`README.md:${line}: a TypeScript block must start with "// <path>.ts"`);
    out.push({ line, path, code });
  }
  return out;
}

/** Writes `code` where `path` says (under a temporary name) and calls `use` with the file; always removes it. */
function withFileAt<T>(path: string, code: string, use: (file: string) => T): T {
  const dir = resolve(root, dirname(path));
  if (relative(root, dir).startsWith('..')) throw new Error(`${path} is outside the repository`);
  const base = join(dir, `.readme-snippet-${randomUUID().slice(0, 8)}`);
  const file = `${base}.ts`;
  const tsconfig = `${base}.tsconfig.json`;
  writeFileSync(file, code);
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: relative(dir, join(root, 'tsconfig.json')),
      files: [`./${relative(dir, file)}`],
      include: [],
    }),
  );
  try {
    return use(file);
  } finally {
    rmSync(file, { force: true });
    rmSync(tsconfig, { force: true });
  }
}

/** `tsc -p` on the file's own tsconfig: the repository's compiler options, only this file as a root. */
function typeCheck(file: string): { ok: boolean; output: string } {
  const run = spawnSync(tsc, ['-p', file.replace(/\.ts$/, '.tsconfig.json'), '--pretty', 'false'], {
    cwd: root,
    encoding: 'utf8',
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Runs a CDK app file in-process, as `cdk synth` would (context from cdk.json), into a fresh directory. */
function synthesize(file: string): CloudAssembly {
  const outdir = mkdtempSync(join(tmpdir(), 'readme-snippet-'));
  const saved = { context: process.env.CDK_CONTEXT_JSON, outdir: process.env.CDK_OUTDIR };
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [] });
  process.env.CDK_OUTDIR = outdir;
  try {
    jest.isolateModules(() => {
      require(file);
    });
    return new CloudAssembly(outdir);
  } finally {
    for (const [name, value] of [
      ['CDK_CONTEXT_JSON', saved.context],
      ['CDK_OUTDIR', saved.outdir],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const all = snippetsOf(readFileSync(join(root, 'README.md'), 'utf8'));
const isExample = (s: Snippet) => s.path.startsWith('examples/');
const snippets = all.filter((s) => !isExample(s));

for (const snippet of all.filter(isExample)) {
  it(`README.md:${snippet.line} is ${snippet.path} itself`, () => {
    expect(snippet.code).toBe(readFileSync(join(root, snippet.path), 'utf8'));
  });
}

it('finds the README’s TypeScript blocks', () => {
  expect(all.length).toBeGreaterThan(0);
});

// A loop rather than describe.each, which refuses an empty table: every block may be an example file.
for (const snippet of snippets)
  describe(`README.md:${snippet.line} (${snippet.path})`, () => {
    it('compiles', () => {
      const result = withFileAt(snippet.path, snippet.code, typeCheck);
      expect(result.output).toBe('');
      expect(result.ok).toBe(true);
    }, 120_000);

    if (/\.synth\(\)/.test(snippet.code)) {
      it('synthesizes', () => {
        const assembly = withFileAt(snippet.path, snippet.code, synthesize);
        expect(assembly.stacks.length).toBeGreaterThan(0);
        for (const stack of assembly.stacks) {
          expect(Object.keys(stack.template.Resources ?? {}).length).toBeGreaterThan(0);
        }
      }, 180_000);
    }
  });

it('refuses a block that does not compile (the checker is not vacuous)', () => {
  // A REST API protected without naming its registration.
  const broken = [
    '// bin/broken-app.ts',
    "import type * as apigateway from 'aws-cdk-lib/aws-apigateway';",
    "import { Stack } from 'aws-cdk-lib';",
    "import { LatchkeyRestApiAuthorizer } from '../lib/constructs';",
    'declare const stack: Stack;',
    'declare const restApi: apigateway.RestApi;',
    "new LatchkeyRestApiAuthorizer(stack, 'Latchkey', { restApi });",
    '',
  ].join('\n');
  const result = withFileAt('bin/broken-app.ts', broken, typeCheck);
  expect(result.ok).toBe(false);
  expect(result.output).toContain("'api'");
}, 120_000);

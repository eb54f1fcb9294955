// `npm run build:console`: builds the admin console into dist-console/ and reports its JS budget.
import { buildConsole, CONSOLE_JS_BUDGET_BYTES, CONSOLE_OUTDIR } from '../console/build';

const { gzippedJsBytes } = buildConsole(CONSOLE_OUTDIR);
console.log(
  `console: ${CONSOLE_OUTDIR} — JavaScript ${(gzippedJsBytes / 1024).toFixed(1)} KB gzipped (budget ${CONSOLE_JS_BUDGET_BYTES / 1024} KB)`,
);

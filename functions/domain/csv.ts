/**
 * CSV for people who open it in a spreadsheet (docs/analytics.md). RFC 4180: fields with a comma,
 * quote or line break are quoted, quotes doubled, records end with CRLF. Formula injection
 * (OWASP "CSV injection"): a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is
 * prefixed with `'`, so no spreadsheet evaluates a key name like `=HYPERLINK(...)`. Pure.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  return [header, ...rows].map((r) => `${r.map(csvCell).join(',')}\r\n`).join('');
}

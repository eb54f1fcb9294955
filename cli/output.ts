/**
 * What the CLI prints: tables for people (cli-table3), the API's JSON for scripts (`--json`).
 * Errors and policy warnings go to stderr, answers to stdout (docs/cli.md#output).
 */
import Table from 'cli-table3';
import { ManagementApiError } from '../sdk/management';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export interface Column {
  readonly header: string;
  /** A field name, or a function of the row. */
  readonly value: string | ((row: Record<string, unknown>) => unknown);
}

/** One cell: `-` for nothing, lists joined, objects as compact JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) {
    if (value.length === 0) return '-';
    return value.every((v) => typeof v !== 'object' || v === null) ? value.join(', ') : JSON.stringify(value);
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// No colours: output is read in terminals, logs and pipes alike.
const plain = () => ({ head: [] as string[], border: [] as string[], compact: true });

export function renderTable(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const table = new Table({ head: columns.map((c) => c.header), style: plain() });
  for (const row of rows) {
    table.push(columns.map((c) => cell(typeof c.value === 'string' ? row[c.value] : c.value(row))));
  }
  return table.toString();
}

/** A single record as FIELD | VALUE rows, in the API's field order, without `omit`. */
export function renderRecord(record: Record<string, unknown>, omit: readonly string[] = []): string {
  const table = new Table({ head: ['FIELD', 'VALUE'], style: plain() });
  for (const [field, value] of Object.entries(record)) {
    if (!omit.includes(field)) table.push([field, cell(value)]);
  }
  return table.toString();
}

export class Printer {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** The API's answer as JSON (scripts), whatever the mode. */
  printJson(value: unknown): void {
    this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  }

  line(text = ''): void {
    this.io.stdout(`${text}\n`);
  }

  /** A notice for people: stderr, so stdout stays the answer. */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  table(rows: readonly Record<string, unknown>[], columns: readonly Column[], empty = '(none)'): void {
    this.line(rows.length === 0 ? empty : renderTable(rows, columns));
  }

  record(record: Record<string, unknown>, omit: readonly string[] = []): void {
    this.line(renderRecord(record, omit));
  }

  /** `policy_warnings` of an answer, on stderr (table mode; `--json` keeps them in the JSON). */
  warnings(answer: unknown): void {
    const warnings = (answer as { policy_warnings?: unknown } | null)?.policy_warnings;
    if (this.json || !Array.isArray(warnings)) return;
    for (const w of warnings as { rule_id?: unknown; source?: unknown; message?: unknown }[]) {
      this.note(`warning: policy rule ${String(w.rule_id)} (${String(w.source)}): ${String(w.message)}`);
    }
  }

  /** An API refusal: its code, message and each bad field; with `--json`, the error shape on stderr. */
  apiError(e: ManagementApiError): void {
    if (this.json) {
      this.io.stderr(
        `${JSON.stringify(
          { error: { code: e.code, message: e.message, details: e.details }, status: e.status },
          null,
          2,
        )}\n`,
      );
      return;
    }
    let text = `error: ${e.code} (${e.status}): ${e.message}\n`;
    for (const d of e.details) text += `  ${d.field || '(request)'}: ${d.message}\n`;
    if (e.retryAfter !== null) text += `  retry after ${e.retryAfter} s\n`;
    this.io.stderr(text);
  }

  failure(message: string): void {
    if (this.json) this.io.stderr(`${JSON.stringify({ error: { code: 'cli_error', message } }, null, 2)}\n`);
    else this.io.stderr(`error: ${message}\n`);
  }
}

export { ManagementApiError };

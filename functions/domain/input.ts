/**
 * Pure rules for values the API accepts from callers (docs/key-changes.md): text a person will read,
 * instants we store, and caller-supplied JSON. No AWS imports, and no recursion over caller data
 * (a deeply nested value must not be able to overflow the stack).
 */

/** True when `s` has no unpaired surrogate (a `u` regex sees only unpaired ones as `Cs`). */
export function isWellFormed(s: string): boolean {
  return !/\p{Cs}/u.test(s);
}

// Controls (`Cc`: C0, DEL, C1); bidi embeddings/overrides (U+202A–U+202E) and isolates
// (U+2066–U+2069), which can make a name display as something else; unpaired surrogates.
const UNSAFE = /\p{Cc}|[\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const UNSAFE_EXCEPT_LINE_BREAKS = /(?![\t\n\r])\p{Cc}|[\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

/**
 * The first character that does not belong in display text, as `U+XXXX`, or undefined. Tabs and
 * line breaks are allowed only with `lineBreaks`.
 */
export function unsafeCharacter(s: string, lineBreaks = false): string | undefined {
  const found = (lineBreaks ? UNSAFE_EXCEPT_LINE_BREAKS : UNSAFE).exec(s)?.[0];
  return found === undefined
    ? undefined
    : `U+${(found.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The UTC instant an ISO-8601 timestamp names, in `toISOString()` form with a 4-digit year, or
 * undefined when it has none: outside years 0000–9999 once converted to UTC (`toISOString()` would
 * give `+010000-…` or `-000001-…`), or finer than a millisecond (which would be silently dropped).
 * Expects a timestamp that already passed an ISO-8601 syntax check.
 */
export function utcInstant(iso: string): string | undefined {
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  if (/[1-9]/.test(fraction.slice(3))) return undefined;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
  const out = new Date(ms).toISOString();
  return UTC_INSTANT.test(out) ? out : undefined;
}

/**
 * Why a caller's JSON object cannot be stored as given, or undefined when it can: it must be an
 * object, nest objects/arrays at most `maxDepth` levels (the object itself is level 1), hold only
 * finite numbers (JSON has no Infinity: it would be stored as `null`), and have no `__proto__` key
 * (an own property after JSON.parse, which schema libraries and object spreads drop silently).
 * Iterative, so any depth is safe to inspect.
 */
export function jsonObjectProblem(value: unknown, maxDepth: number): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object';
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node === 'number' && !Number.isFinite(node)) return 'must hold only finite numbers';
    if (typeof node !== 'object' || node === null) continue;
    if (depth > maxDepth) return `must not nest objects or arrays more than ${maxDepth} levels deep`;
    for (const key of Object.keys(node)) {
      if (key === '__proto__') return 'must not have a "__proto__" key, at any level';
      pending.push([(node as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return undefined;
}

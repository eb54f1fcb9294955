/** API Gateway passes headers as sent, in any case: look one up case-insensitively. Empty counts as absent. */
export function headerOf(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === wanted && v) return v;
  return undefined;
}

/**
 * The error's numeric code. A command run with `promoteValues: false` (the library reads documents
 * as stored) gets its error's fields unpromoted too: `code` is then an `Int32`, not a number.
 */
export function codeOf(error: object): number | undefined {
  const { code } = error as { code?: unknown };
  if (typeof code === 'number') return code;
  if (typeof code === 'object' && code !== null && typeof (code as { valueOf?: unknown }).valueOf === 'function') {
    const value = Number((code as { valueOf(): unknown }).valueOf());
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

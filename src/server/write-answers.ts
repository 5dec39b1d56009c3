import type { Document, ModifyResult, UpdateResult } from 'mongodb';

/**
 * Whether a write's answer says it matched (or inserted) a document. The counts are read as
 * numbers: through an app's client with `promoteValues: false` the driver hands the server's
 * counts back as `Int32` objects, always truthy and never `=== 0`, and a check written against a
 * plain number silently takes the wrong branch (a stale match left unmigrated, a newer version
 * answered as "matched 0"). Every decision on a write's answer goes through here.
 */
export function matchedAny(result: UpdateResult | ModifyResult<Document>): boolean {
  if ('lastErrorObject' in result || 'value' in result) return Number(result.lastErrorObject?.n ?? 0) > 0 || result.value !== null;
  return Number(result.matchedCount) > 0 || Number(result.upsertedCount) > 0;
}

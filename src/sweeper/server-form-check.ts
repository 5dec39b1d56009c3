/**
 * A server form checked against its function on the collection's own data: the steps' update
 * pipeline, run as an aggregation (nothing is written) over some stored documents, against what
 * the read path (`up`, then zod) makes of the same documents. `upExpr` is a second implementation
 * of `up`, and the two can disagree on real data (`Math.round` rounds 12.5 up, `$round` to even):
 * a sweep compares them before it stores anything from the server form, and `molt check` reports
 * the documents where they differ.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Collection, Document, Filter } from 'mongodb';
import { migrate, type MigrationTarget } from '../migrate/index.js';
import type { SchemaDefinition } from '../schema/types.js';
import { limited, type OperationLimit } from '../server/index.js';
import type { PipelineStage } from '../steps/pipeline.js';
import { idKey } from './failures.js';

/** What the comparison found over the documents it could compare. */
export interface ServerFormComparison {
  readonly checked: number;
  /** `_id`s of documents the server form migrates (or validates) differently from the read path. */
  readonly differing: readonly unknown[];
}

/**
 * Compares, over the documents with these `_id`s still stored at `stored`, the steps' server form
 * (`steps`, then `validity`) with the read path. `undefined` when the server form fails on them
 * (a conversion error): the update would fail the same way, and those documents go to the client.
 */
export async function compareServerForm(
  collection: Collection<Document>,
  definition: SchemaDefinition,
  target: MigrationTarget,
  stored: number | null,
  steps: readonly PipelineStage[],
  validity: PipelineStage,
  ids: readonly unknown[],
  limit?: OperationLimit,
): Promise<ServerFormComparison | undefined> {
  const field = definition.versionField;
  const filter = { _id: { $in: [...ids] }, [field]: stored } as Filter<Document>;
  let fromServer: Document[];
  try {
    fromServer = await collection.aggregate([{ $match: filter }, ...steps, { $replaceWith: { doc: '$$ROOT', valid: validity } }], limited({}, limit)).toArray();
  } catch {
    return undefined;
  }
  const byId = new Map(fromServer.map((entry) => [idKey((entry.doc as Document)._id), entry as { doc: Document; valid: boolean }]));
  const originals = await collection.find(filter, limited({}, limit)).toArray();
  const differing: unknown[] = [];
  let checked = 0;
  for (const raw of originals) {
    const server = byId.get(idKey(raw._id));
    if (server === undefined) continue; // changed in between
    checked++;
    let client: Document | undefined;
    try {
      client = (await migrate(definition, raw, { to: target.version })).value;
    } catch {
      client = undefined; // the read path refuses it: the server form must not store it either
    }
    const { [field]: _version, ...serverDoc } = server.doc;
    const agrees = client === undefined ? server.valid !== true : server.valid === true && isDeepStrictEqual(serverDoc, withoutField(client, field));
    if (!agrees) differing.push(raw._id);
  }
  return { checked, differing };
}

function withoutField(doc: Document, field: string): Document {
  const { [field]: _omitted, ...rest } = doc;
  return rest;
}

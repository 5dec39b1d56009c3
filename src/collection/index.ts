export { versioned, VersionedCollection, type CollectionOf, type DocumentAt, type DocumentOf, type InputOf } from './versioned-collection.js';
export { VersionedCursor } from './cursor.js';
export { DEFAULT_SHADOW_QUEUE_SIZE, type ShadowStats } from './shadow.js';
export { CompareOn } from '../storage/index.js';
export {
  DEFAULT_COMPARE_ON,
  DEFAULT_WRITE_BACK_BATCH_SIZE,
  DEFAULT_WRITE_BACK_ON_READ,
  type VersionedCollectionOptions,
} from './options.js';
export type { WriteBackStats } from './write-back.js';

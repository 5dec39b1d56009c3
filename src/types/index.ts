export type { PathOf, ValueAt, ElementOf } from './paths.js';
export type { VersionedFilter, FilterRootOperators } from './filter.js';
export type { VersionedUpdate, VersionedUpdateOrPipeline, UpdateFields } from './update.js';
export type { VersionedSort } from './sort.js';
export type { VersionedProjection, Projected, ExactProjection, ProjectionFor, ProjectAfterMap } from './projection.js';
export type {
  VersionedFindOptions,
  VersionedUpdateOptions,
  VersionedFindOneAndUpdateOptions,
  VersionedFindOneAndReplaceOptions,
  VersionedFindOneAndDeleteOptions,
} from './options.js';
export type { DistinctValue } from './distinct.js';

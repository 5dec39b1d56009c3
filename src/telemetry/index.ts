export { otelApi, overrideOtelApi } from './api.js';
export { bookkeeping, meters, METRICS, SCOPE, SPANS } from './instruments.js';
export { ReadTelemetry, type ReadPlace } from './read.js';
export { SweepTelemetry, type SweepRunEnd, type SweepRunInfo, type VersionCounted } from './sweep.js';
export { startNodeSdk, type StartedSdk } from './sdk.js';

export { otelApi, overrideOtelApi } from './api.js';
export { instruments, METRICS, SCOPE, SPANS } from './instruments.js';
export { observeReadCounts } from './read.js';
export { SweepTelemetry, type SweepRunEnd, type SweepRunInfo, type VersionCounted } from './sweep.js';
export { startNodeSdk, type StartedSdk } from './sdk.js';

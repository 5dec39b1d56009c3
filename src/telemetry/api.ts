import { createRequire } from 'node:module';
import type * as OpenTelemetryApi from '@opentelemetry/api';

/** The OpenTelemetry API module, as `@opentelemetry/api` exports it. */
export type OtelApi = typeof OpenTelemetryApi;

let loaded: OtelApi | null | undefined;

/**
 * `@opentelemetry/api`, loaded on first use, or `undefined` when it is not installed (it is an
 * optional peer dependency: then mongo-molt records nothing, at no cost). Loaded synchronously
 * (its CommonJS build), so that the read path needs no `await`; the API keeps its providers on
 * `globalThis`, so this copy sees the SDK the app registered through its own import.
 */
export function otelApi(): OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/**
 * Replaces what `otelApi()` returns: `null` as if the package were not installed, `undefined` to
 * load it again. For the benchmark that measures telemetry against none in one process; not part
 * of the public API.
 */
export function overrideOtelApi(api: OtelApi | null | undefined): void {
  loaded = api;
}

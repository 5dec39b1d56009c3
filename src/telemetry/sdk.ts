import type * as SdkNode from '@opentelemetry/sdk-node';
import { otelApi } from './api.js';

/** An OpenTelemetry SDK started for one command; `shutdown` flushes what it holds. */
export interface StartedSdk {
  readonly shutdown: () => Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK (`@opentelemetry/sdk-node`) configured by the standard
 * environment variables (`OTEL_SERVICE_NAME`, `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`,
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, …), as `molt sweep --otel` does. Resolves to the package that
 * is missing instead, when the user has not installed it (molt does not depend on it).
 */
export async function startNodeSdk(): Promise<StartedSdk | { readonly missing: string }> {
  if (otelApi() === undefined) return { missing: '@opentelemetry/api' };
  let sdkNode: typeof SdkNode;
  try {
    sdkNode = await import('@opentelemetry/sdk-node');
  } catch {
    return { missing: '@opentelemetry/sdk-node' };
  }
  const sdk = new sdkNode.NodeSDK();
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

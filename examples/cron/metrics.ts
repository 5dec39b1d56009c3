/**
 * The sweep's metrics for Prometheus, from a cron job: a job that lives for minutes cannot be
 * scraped, so it pushes to a Prometheus Pushgateway when it is done, and only when it succeeded.
 * An alert on `time() - molt_sweep_last_success_timestamp_seconds` then catches a job that keeps
 * failing, hangs or stopped being scheduled: the push that did not happen is the signal.
 *
 * mongo-molt records its metrics through `@opentelemetry/api`; this module registers the
 * OpenTelemetry SDK's meter provider with a reader that is collected once, at the end, and
 * writes the Prometheus text format with the SDK's own serializer (`@opentelemetry/exporter-prometheus`).
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

/** A reader collected on demand (the job collects once, before it pushes). */
class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The job's metrics: registered now, so that every sweep after this records into them. */
export interface JobMetrics {
  /**
   * Pushes this run's sweep metrics, `molt_sweep_last_success_timestamp_seconds` and
   * `molt_sweep_duration_seconds` to the Pushgateway (`PUT <gateway>/metrics/job/<job>`, which
   * replaces what the previous run pushed); returns the text pushed.
   */
  readonly push: (gateway: string, job: string, durationSeconds: number) => Promise<string>;
  readonly shutdown: () => Promise<void>;
}

export function startJobMetrics(): JobMetrics {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  return {
    async push(gateway, job, durationSeconds) {
      const { resourceMetrics } = await reader.collect();
      const text = [
        new PrometheusSerializer('', false).serialize(resourceMetrics).trimEnd(),
        '# HELP molt_sweep_last_success_timestamp_seconds When the sweep job last finished with exit code 0 (Unix time).',
        '# TYPE molt_sweep_last_success_timestamp_seconds gauge',
        `molt_sweep_last_success_timestamp_seconds ${Date.now() / 1000}`,
        '# HELP molt_sweep_duration_seconds How long that run took.',
        '# TYPE molt_sweep_duration_seconds gauge',
        `molt_sweep_duration_seconds ${durationSeconds}`,
        '',
      ].join('\n');
      const response = await fetch(`${gateway.replace(/\/$/, '')}/metrics/job/${encodeURIComponent(job)}`, { method: 'PUT', body: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
      if (!response.ok) throw new Error(`the Pushgateway answered ${response.status} ${response.statusText}`);
      return text;
    },
    async shutdown() {
      await provider.shutdown();
      metrics.disable();
    },
  };
}

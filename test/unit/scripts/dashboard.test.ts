/**
 * examples/observability/grafana-dashboard.json (docs/observability.md "Dashboard"): the panels
 * the docs promise, each query on the edge's dataset through the Altinity ClickHouse plugin's
 * macros, and every count or percentile weighted by `_sample_interval`. Grafana itself is not run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FILE = fileURLToPath(new URL('../../../examples/observability/grafana-dashboard.json', import.meta.url));

interface Target {
  refId: string;
  query: string;
  table: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  title: string;
  type: string;
  targets: Target[];
}
const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as { panels: Panel[]; __inputs: Array<{ name: string; pluginId: string }> };

describe('the Grafana dashboard', () => {
  it('has the panels docs/observability.md lists', () => {
    expect(dashboard.panels.map((p) => p.title)).toEqual([
      'Exchange success rate',
      'Latency p50 / p99',
      'Refusals and errors',
      'Refusals by code',
      'Vendor errors',
      'Vendor errors by upstream',
      'JWKS fetches and unknown keys',
      'Exchanges by record',
    ]);
  });

  it.each(dashboard.panels.flatMap((p) => p.targets.map((t) => [`${p.title} ${t.refId}`, t] as const)))(
    'queries the dataset through the data source input, weighted by _sample_interval (%s)',
    (_, target) => {
      expect(target.table).toBe('edge_credential_provider');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, not a template.
      expect(target.datasource).toEqual({ type: 'vertamedia-clickhouse-datasource', uid: '${DS_ANALYTICS_ENGINE}' });
      expect(target.query).toMatch(/ FROM \$table WHERE \$timeFilter /);
      expect(target.query).toContain('_sample_interval');
      expect(target.query).not.toMatch(/count\(\)/i);
      // Only the columns src/metrics.ts writes.
      for (const column of target.query.match(/\b(blob|double|index)\d+\b/g) ?? []) expect(column).toMatch(/^(blob[1-8]|double[12]|index1)$/);
    },
  );

  it('asks for one data source at import', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_ANALYTICS_ENGINE', pluginId: 'vertamedia-clickhouse-datasource' })]);
  });
});

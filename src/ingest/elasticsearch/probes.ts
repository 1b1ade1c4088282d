// What Elasticsearch clients ask before they send (_bulk is in elasticsearch-routes.ts), answered
// so they proceed: the version banner (GET /, HEAD /), _license, _xpack, index existence,
// index templates, ILM policies, cluster health, nodes. Nothing is stored: templates and
// policies are acknowledged, and every index "exists".
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The version Sluice answers as: clients of 7.x and 8.x accept it (the JS client 8 needs 8.x). */
export const ES_VERSION = '8.17.0';
const CLUSTER = 'sluice';
const CLUSTER_UUID = 'c0ffee00-5a1c-4e00-8000-000000000000';

/** Client requests, told from a browser's by Accept or User-Agent, so GET / stays the UI for people. */
export const ES_CLIENT = 'elasticsearchClient';
const CLIENT_AGENT = /elastic|beat|vector|fluent|logstash|opensearch/i;

export function isEsClient(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const accept = String(req.headers.accept ?? '');
  if (/json/i.test(accept) && !/text\/html/i.test(accept)) return true;
  return (
    CLIENT_AGENT.test(String(req.headers['user-agent'] ?? '')) || req.headers['x-elastic-client-meta'] !== undefined
  );
}

function banner(): object {
  return {
    name: CLUSTER,
    cluster_name: CLUSTER,
    cluster_uuid: CLUSTER_UUID,
    version: {
      number: ES_VERSION,
      build_flavor: 'default',
      build_type: 'sluice',
      build_hash: '0000000000000000000000000000000000000000',
      build_date: '2024-12-11T12:08:05.663969764Z',
      build_snapshot: false,
      lucene_version: '9.12.0',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

const LICENSE = {
  status: 'active',
  uid: '5a1c0000-0000-4000-8000-000000000001',
  type: 'basic',
  issue_date: '2024-01-01T00:00:00.000Z',
  issue_date_in_millis: 1704067200000,
  max_nodes: 1000,
  max_resource_units: null,
  issued_to: CLUSTER,
  issuer: 'elasticsearch',
  start_date_in_millis: -1,
};

const json = (reply: FastifyReply, body: unknown, code = 200): FastifyReply =>
  reply.code(code).type('application/json').send(JSON.stringify(body));

export function registerProbes(app: FastifyInstance): void {
  const constraints = { [ES_CLIENT]: 'yes' };
  app.get('/', { constraints }, (_req, reply) => json(reply, banner()));
  app.get('/_license', (_req, reply) => json(reply, { license: LICENSE }));
  app.get('/_xpack', (_req, reply) =>
    json(reply, {
      build: { hash: '0000000', date: LICENSE.issue_date },
      license: { uid: LICENSE.uid, type: 'basic', mode: 'basic', status: 'active' },
      features: { ilm: { available: true, enabled: true }, security: { available: true, enabled: false } },
    }),
  );
  app.get('/_cluster/health', (_req, reply) =>
    json(reply, {
      cluster_name: CLUSTER,
      status: 'green',
      timed_out: false,
      number_of_nodes: 1,
      number_of_data_nodes: 1,
      active_primary_shards: 0,
      active_shards: 0,
      relocating_shards: 0,
      initializing_shards: 0,
      unassigned_shards: 0,
      delayed_unassigned_shards: 0,
      number_of_pending_tasks: 0,
      number_of_in_flight_fetch: 0,
      task_max_waiting_in_queue_millis: 0,
      active_shards_percent_as_number: 100,
    }),
  );
  const nodes = (_req: FastifyRequest, reply: FastifyReply): FastifyReply =>
    json(reply, {
      _nodes: { total: 1, successful: 1, failed: 0 },
      cluster_name: CLUSTER,
      nodes: { sluice: { name: CLUSTER, version: ES_VERSION, roles: ['data', 'ingest', 'master'] } },
    });
  app.get('/_nodes', nodes);
  app.get('/_nodes/*', nodes);
  // Templates and ILM policies: stored nowhere (Sluice's schema is its own); answered as present.
  app.get('/_index_template/:name', (req, reply) => {
    const { name } = req.params as { name: string };
    return json(reply, { index_templates: [{ name, index_template: { index_patterns: [`${name}*`], template: {} } }] });
  });
  app.put('/_index_template/:name', (_req, reply) => json(reply, { acknowledged: true }));
  app.post('/_index_template/:name', (_req, reply) => json(reply, { acknowledged: true }));
  app.get('/_template/:name', (req, reply) => {
    const { name } = req.params as { name: string };
    return json(reply, { [name]: { index_patterns: [`${name}*`], settings: {}, mappings: {} } });
  });
  app.put('/_template/:name', (_req, reply) => json(reply, { acknowledged: true }));
  app.get('/_ilm/policy/:name', (req, reply) => {
    const { name } = req.params as { name: string };
    return json(reply, {
      [name]: {
        version: 1,
        modified_date: LICENSE.issue_date,
        policy: { phases: { hot: { min_age: '0ms', actions: {} } } },
      },
    });
  });
  app.put('/_ilm/policy/:name', (_req, reply) => json(reply, { acknowledged: true }));
  // Index existence (Filebeat, Vector and Fluent Bit ask with HEAD /<index>): always there.
  app.head('/:index', { constraints }, (_req, reply) => reply.code(200).type('application/json').send());
  app.get('/_data_stream/:name', (req, reply) => {
    const { name } = req.params as { name: string };
    return json(reply, { data_streams: [{ name, status: 'GREEN', indices: [] }] });
  });
  app.put('/_data_stream/:name', (_req, reply) => json(reply, { acknowledged: true }));
}

// The _bulk answer is written from a template (elasticsearch-routes.ts): it must read exactly as
// Elasticsearch's item objects would, for every op, index and _id a client can send (quotes,
// control characters and non-ASCII included), failed items among them, and across the byte
// chunks it is gathered in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBulk } from '../../src/ingest/elasticsearch/bulk.js';
import { bulkResponseSteps } from '../../src/ingest/elasticsearch/elasticsearch-routes.js';
import type { ParseLimits } from '../../src/ingest/parse-body.js';
import { runAtOnce } from '../../src/steps.js';

const LIMITS: ParseLimits = { maxRecords: 100_000, maxDepth: 16, maxKeys: 200 };

/** What Elasticsearch answers for one item, built as objects (the shape its clients read). */
function expectedItem(op: string, index: string, id: string | null, seqNo: number, error?: object): object {
  if (error) return { [op]: { _index: index, _id: id, status: 400, error } };
  return {
    [op]: {
      _index: index,
      _id: id,
      _version: 1,
      result: 'created',
      _shards: { total: 1, successful: 1, failed: 0 },
      _seq_no: seqNo,
      _primary_term: 1,
      status: 201,
    },
  };
}

test('the _bulk answer reads as Elasticsearch item objects, for awkward indexes and ids', () => {
  const lines = [
    { index: { _index: 'plain', _id: 'doc-1' } },
    { message: 'a' },
    { create: { _index: 'quo"te\\s', _id: 'id\u0001\u2028é😀' } },
    { message: 'b' },
    { update: { _index: 'plain', _id: 'u1' } },
    { doc: { message: 'c' } },
    { index: {} },
    { message: 'd' },
    { delete: { _id: 'gone' } },
  ];
  const body = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const parsed = parseBulk(body, 'default-idx', 1_700_000_000_000_000, LIMITS);
  const answer = JSON.parse(Buffer.concat(runAtOnce(bulkResponseSteps(parsed, 12))).toString()) as {
    took: number;
    errors: boolean;
    items: object[];
  };
  assert.equal(answer.took, 12);
  assert.equal(answer.errors, true);
  const it = parsed.items;
  assert.deepEqual(answer.items, [
    expectedItem('index', 'plain', 'doc-1', 0),
    expectedItem('create', 'quo"te\\s', 'id\u0001\u2028é😀', 1),
    expectedItem('update', 'plain', 'u1', 0, it[2]!.error!.cause),
    expectedItem('index', 'default-idx', it[3]!.id!, 2),
    expectedItem('delete', 'default-idx', 'gone', 0, it[4]!.error!.cause),
  ]);
});

test('a long _bulk answer is whole across its chunks, every _seq_no in order', () => {
  const pair = '{"index":{"_index":"ix"}}\n{"message":"m"}\n';
  const n = 5000;
  const parsed = parseBulk(Buffer.from(pair.repeat(n)), undefined, 1_700_000_000_000_000, LIMITS);
  const chunks = runAtOnce(bulkResponseSteps(parsed, 3));
  assert.ok(chunks.length > 4, `${chunks.length} chunks`);
  const text = Buffer.concat(chunks);
  const answer = JSON.parse(text.toString()) as { errors: boolean; items: Array<{ index: object }> };
  assert.equal(answer.errors, false);
  assert.deepEqual(
    answer.items,
    parsed.items.map((item, i) => expectedItem('index', 'ix', item.id!, i)),
  );
});

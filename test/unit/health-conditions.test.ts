// The condition grammar and its evaluation: what parses, where a bad condition is said to go
// wrong, how literals are read for each placeholder, and what each condition sees and decides
// against bodies, statuses, durations, rcodes and addresses.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { parseCheck } from '../../src/health/check-schema.js';
import { compileCondition, type ProbedKind } from '../../src/health/conditions/compile.js';
import { parseCostProblem } from '../../src/health/conditions/body-json.js';
import { evaluateConditions, type ProbeFacts } from '../../src/health/conditions/evaluate.js';
import { ConditionError, parseCondition } from '../../src/health/conditions/parse.js';
import { compileGlob, globMatches } from '../../src/health/conditions/pattern.js';
import { judge } from '../../src/health/conditions/verdict.js';

function problem(text: string, kind: ProbedKind = 'http'): { position: number; reason: string } {
  try {
    compileCondition(text, kind);
  } catch (err) {
    assert.ok(err instanceof ConditionError, `not a ConditionError: ${String(err)}`);
    return { position: err.position, reason: err.reason };
  }
  assert.fail(`${text} was accepted`);
}

function run(conditions: string[], facts: ProbeFacts, kind: ProbedKind = 'http', now = 0): unknown[] {
  return evaluateConditions(
    conditions.map((c) => compileCondition(c, kind)),
    facts,
    now,
  ).map((o) => [o.ok, o.value]);
}

const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

describe('condition grammar', () => {
  test('the Gatus forms parse', () => {
    for (const [text, kind] of [
      ['[STATUS] == 200', 'http'],
      ['[STATUS] == any(200, 204)', 'http'],
      ['[RESPONSE_TIME] < 300', 'http'],
      ['[BODY].status == UP', 'http'],
      ['[BODY].items[0].id == pat(abc*)', 'http'],
      ['len([BODY].items) > 0', 'http'],
      ['has([BODY].error) == false', 'http'],
      ['[BODY] == pat(*all good*)', 'http'],
      ['[CERTIFICATE_EXPIRATION] > 72h', 'tls'],
      ['[DNS_RCODE] == NOERROR', 'dns'],
      ['[CONNECTED] == true', 'tcp'],
      ['[IP] == 10.0.0.1', 'tcp'],
      ['[IP] == ::1', 'dns'],
      ['[status]==200', 'http'],
      ['  [BODY].data.name != "john doe"  ', 'http'],
    ] as const)
      assert.doesNotThrow(() => compileCondition(text, kind), text);
  });

  test('the tree holds the path, the operator and where it stands', () => {
    const t = parseCondition('len([BODY].a.b[12]) >= 3');
    assert.deepEqual(t.left, { type: 'len', pos: 1, fact: 'BODY', path: ['a', 'b', 12] });
    assert.equal(t.op, '>=');
    assert.equal(t.opPos, 21);
    assert.deepEqual(t.right, { type: 'value', text: '3', quoted: false, pos: 24 });
  });

  test('a bad condition names the character where it goes wrong', () => {
    const cases: [string, number, RegExp][] = [
      ['', 1, /empty/],
      ['[STATUS] = 200', 10, /"=="/],
      ['[STATUS] 200', 10, /expected an operator/],
      ['[STATUS] ==', 12, /value is missing/],
      ['[STATUS] == 200 201', 17, /unexpected "201"/],
      ['[STATU] == 200', 1, /unknown placeholder \[STATU\]/],
      ['[STATUS == 200', 1, /not closed/],
      ['[STATUS].x == 1', 1, /only \[BODY\] takes a path/],
      ['[BODY]. == 1', 8, /key name/],
      ['[BODY][x] == 1', 8, /array index/],
      ['[BODY] == "open', 11, /quoted value is not closed/],
      ['size([BODY]) > 1', 1, /unknown function "size"/],
      ['len(3) > 1', 5, /takes a placeholder/],
      ['[STATUS] == any(200 204)', 21, /to close any\(/],
      ['[STATUS] == pat(', 17, /pat\( is not closed/],
      ['[STATUS] == pat()', 17, /needs a pattern/],
      ['[STATUS] == abc', 13, /\[STATUS\] is a number; "abc" is not/],
      ['[STATUS] == any(200, x)', 22, /"x" is not/],
      ['[RESPONSE_TIME] < fast', 19, /duration/],
      ['[CONNECTED] == yes', 16, /true or false/],
      ['[CONNECTED] < true', 13, /compares numbers/],
      ['[STATUS] > any(200, 300)', 12, /== and != only/],
      ['[BODY].n < many', 12, /not a number/],
      ['len([STATUS]) > 1', 1, /takes \[BODY\]/],
      ['200 == 200', 1, /compares a placeholder/],
      ['[STATUS] == [STATUS]', 13, /not with another placeholder/],
      ['[IP] == 10.0.0.1', 1, /not known to a http check/],
    ];
    for (const [text, position, reason] of cases) {
      const p = problem(text);
      assert.equal(p.position, position, `${text}: ${p.reason}`);
      assert.match(p.reason, reason, text);
    }
    assert.match(problem('[DNS_RCODE] == OK', 'dns').reason, /one of NOERROR/);
    assert.match(problem('[IP] == localhost', 'tcp').reason, /an IP address/);
    assert.match(problem('[STATUS] == 200', 'tcp').reason, /\[STATUS\] is not known to a tcp check \(it is for http\)/);
    assert.match(problem('x'.repeat(501)).reason, /at most 500/);
  });

  test('pat() matches the whole value, stars standing for any run', () => {
    const m = (g: string, t: string): boolean => globMatches(compileGlob(g), t);
    assert.ok(m('abc*', 'abcdef'));
    assert.ok(m('abc*', 'abc'));
    assert.ok(!m('abc*', 'xabc'));
    assert.ok(m('*bc', 'abc'));
    assert.ok(m('a*c*e', 'abcde'));
    assert.ok(!m('a*c*e', 'abcdef'));
    assert.ok(!m('ab*ba', 'aba'), 'the pieces may not overlap');
    assert.ok(m('**', ''));
    assert.ok(m('exact', 'exact'));
    assert.ok(!m('exact', 'exactly'));
    assert.ok(m('a?c', 'a?c'), '? is literal');
  });
});

describe('condition evaluation', () => {
  test('status, any() and != against the code seen', () => {
    assert.deepEqual(
      run(['[STATUS] == 200', '[STATUS] == any(200, 204)', '[STATUS] != any(500, 503)', '[STATUS] < 300'], {
        connected: true,
        status: 204,
      }),
      [
        [false, 204],
        [true, 204],
        [true, 204],
        [true, 204],
      ],
    );
  });

  test('body paths: numbers and strings, arrays, missing keys', () => {
    const body = json({ status: 'UP', n: 12, s: '12', ok: true, none: null, items: [{ id: 'abc1' }, {}], o: { a: 1 } });
    assert.deepEqual(
      run(
        [
          '[BODY].status == UP',
          '[BODY].status == "UP"',
          '[BODY].n == 12',
          '[BODY].n == 12.0',
          '[BODY].n == "12"',
          '[BODY].s == 12',
          '[BODY].n > 9',
          '[BODY].s > 9',
          '[BODY].ok == true',
          '[BODY].none == null',
          '[BODY].items[0].id == pat(abc*)',
          '[BODY].items[5].id == x',
          '[BODY].missing != x',
          '[BODY].status.deeper == x',
          '[BODY].items == x',
          '[BODY].o == x',
        ],
        { connected: true, body },
      ),
      [
        [true, 'UP'],
        [true, 'UP'],
        [true, 12],
        [true, 12],
        [false, 12],
        [true, '12'],
        [true, 12],
        [true, '12'],
        [true, true],
        [true, null],
        [true, 'abc1'],
        [false, null],
        [false, null],
        [false, null],
        [false, '(array of 2)'],
        [false, '(object)'],
      ],
    );
  });

  test('len() of strings, arrays, objects and missing values; has()', () => {
    const body = json({ s: 'héllo', a: [1, 2, 3], e: [], o: { x: 1, y: 2 }, n: 1234, z: null });
    assert.deepEqual(
      run(
        [
          'len([BODY].s) == 5',
          'len([BODY].a) == 3',
          'len([BODY].e) == 0',
          'len([BODY].o) == 2',
          'len([BODY].n) == 4',
          'len([BODY].missing) == 0',
          'len([BODY].z) == 0',
          'len([BODY]) > 10',
          'has([BODY].z) == true',
          'has([BODY].missing) == true',
        ],
        { connected: true, body },
      ),
      [
        [true, 5],
        [true, 3],
        [true, 0],
        [true, 2],
        [true, 4],
        [false, null],
        [false, null],
        [true, Buffer.from(body).toString().length],
        [true, true],
        [false, false],
      ],
    );
  });

  test('a body that is not JSON: [BODY] is its text, every path is missing', () => {
    const body = Buffer.from('status: all good');
    assert.deepEqual(
      run(['[BODY] == pat(*all good*)', '[BODY].status == UP', 'len([BODY]) == 16'], { connected: true, body }),
      [
        [true, 'status: all good'],
        [false, 'body is not JSON'],
        [true, 16],
      ],
    );
  });

  test('a body too deep or with too many values is not parsed: its paths fail and say why', () => {
    const deep = Buffer.from(`${'['.repeat(65)}${']'.repeat(65)}`);
    assert.deepEqual(run(['len([BODY][0]) == 1', 'len([BODY]) == 130'], { connected: true, body: deep }), [
      [false, 'body nests deeper than 64 levels: not read as JSON'],
      [true, 130],
    ]);
    const fine = Buffer.from(`${'['.repeat(64)}"[[[[["${']'.repeat(64)}`);
    assert.deepEqual(run(['len([BODY][0]) == 1'], { connected: true, body: fine }), [[true, 1]]);
    const wide = json(Array.from({ length: 50_001 }, () => 0));
    assert.deepEqual(run(['len([BODY].a) > 1'], { connected: true, body: wide }), [
      [false, 'body holds over 50000 values: not read as JSON'],
    ]);
    assert.equal(parseCostProblem(json({ a: 'x,'.repeat(60_000) })), null, 'commas in strings are not values');
  });

  test('a long value is shown cut, and still compared whole', () => {
    const long = 'x'.repeat(1000);
    const [[ok, value]] = run(['[BODY].v == pat(*x)'], { connected: true, body: json({ v: long }) }) as [
      [boolean, string],
    ];
    assert.equal(ok, true);
    assert.equal(value.length, 201);
  });

  test('durations: 72h against the certificate, 300 and 1s against the response time', () => {
    const hour = 3_600_000;
    const facts = { connected: true, certValidTo: 100 * hour, responseTimeMs: 450 };
    assert.deepEqual(run(['[CERTIFICATE_EXPIRATION] > 72h', '[CERTIFICATE_EXPIRATION] > 5d'], facts, 'tls', 0), [
      [true, 100 * hour],
      [false, 100 * hour],
    ]);
    assert.deepEqual(run(['[RESPONSE_TIME] < 300', '[RESPONSE_TIME] < 1s', '[RESPONSE_TIME] <= 450'], facts, 'tls'), [
      [false, 450],
      [true, 450],
      [true, 450],
    ]);
  });

  test('dns rcode, ip and connected', () => {
    assert.deepEqual(
      run(
        ['[DNS_RCODE] == noerror', '[IP] == 127.0.0.1', '[IP] == pat(127.*)', '[CONNECTED] == true'],
        {
          connected: true,
          dnsRcode: 'NOERROR',
          ip: '127.0.0.1',
        },
        'dns',
      ),
      [
        [true, 'NOERROR'],
        [true, '127.0.0.1'],
        [true, '127.0.0.1'],
        [true, true],
      ],
    );
    assert.deepEqual(run(['[CONNECTED] == true', '[IP] == 10.0.0.1'], { connected: false }, 'tcp'), [
      [false, false],
      [false, null],
    ]);
  });
});

describe('conditions in a check', () => {
  const up = { status: 'up' as const, latencyMs: 120, statusCode: 200, errorClass: null, message: null, details: null };

  test('a failed condition is down, a failed degraded condition is degraded, all outcomes in details', () => {
    const parsed = parseCheck({
      kind: 'http',
      name: 'api',
      url: 'http://127.0.0.1/',
      conditions: ['[STATUS] == 200', '[BODY].status == UP'],
      degradedConditions: ['[RESPONSE_TIME] < 100'],
    });
    assert.ok(parsed.ok);
    const c = parsed.check;
    const good = judge(c, {
      ...up,
      latencyMs: 20,
      facts: { connected: true, status: 200, body: json({ status: 'UP' }) },
    });
    assert.equal(good.status, 'up');
    assert.equal('facts' in good, false, 'the facts (the body) are not kept');
    assert.deepEqual(good.details, {
      conditions: [
        { condition: '[STATUS] == 200', ok: true, value: 200 },
        { condition: '[BODY].status == UP', ok: true, value: 'UP' },
        { condition: '[RESPONSE_TIME] < 100', ok: true, value: 20, degraded: true },
      ],
    });
    const slow = judge(c, { ...up, facts: { connected: true, status: 200, body: json({ status: 'UP' }) } });
    assert.equal(slow.status, 'degraded');
    assert.match(slow.message!, /degraded condition failed: \[RESPONSE_TIME\] < 100, saw 120/);
    const bad = judge(c, { ...up, facts: { connected: true, status: 200, body: json({ status: 'DOWN' }) } });
    assert.equal(bad.status, 'down');
    assert.equal(bad.errorClass, 'condition');
    assert.match(bad.message!, /condition failed: \[BODY\].status == UP, saw "DOWN"$/);
  });

  test('a run the probe failed stays down with its own error; conditions are still shown', () => {
    const parsed = parseCheck({
      kind: 'tcp',
      name: 't',
      host: '127.0.0.1',
      port: 1,
      conditions: ['[CONNECTED] == true'],
    });
    assert.ok(parsed.ok);
    const r = judge(parsed.check, {
      ...up,
      status: 'down',
      errorClass: 'connection_refused',
      message: 'refused',
    });
    assert.equal(r.status, 'down');
    assert.equal(r.errorClass, 'connection_refused');
    assert.deepEqual(r.details, { conditions: [{ condition: '[CONNECTED] == true', ok: false, value: false }] });
  });

  test('a check without conditions is passed through untouched', () => {
    const parsed = parseCheck({ kind: 'tcp', name: 't', host: '127.0.0.1', port: 1 });
    assert.ok(parsed.ok);
    assert.deepEqual(judge(parsed.check, { ...up, facts: { connected: true } }), up);
  });

  test('the schema names the bad condition by index and position; lists are capped; push has none', () => {
    const r = parseCheck({
      kind: 'http',
      name: 'x',
      url: 'http://a/',
      conditions: ['[STATUS] == 200'],
      degradedConditions: ['[RESPONSE_TIME] < 300', '[RESPONSE_TIME] << 3'],
    });
    assert.ok(!r.ok);
    assert.equal(r.problems[0]!.field, 'degradedConditions.1');
    assert.match(r.problems[0]!.message, /at character 18/);
    const many = parseCheck({
      kind: 'http',
      name: 'x',
      url: 'http://a/',
      conditions: Array.from({ length: 21 }, () => '[STATUS] == 200'),
    });
    assert.ok(!many.ok);
    assert.equal(many.problems[0]!.field, 'conditions');
    const cert = ['[STATUS] == 200', '[CERTIFICATE_EXPIRATION] > 72h'];
    assert.ok(parseCheck({ kind: 'http', name: 'x', url: 'https://a/', conditions: cert }).ok);
    const plain = parseCheck({ kind: 'http', name: 'x', url: 'http://a/', degradedConditions: cert });
    assert.ok(!plain.ok);
    assert.equal(plain.problems[0]!.field, 'degradedConditions.1');
    assert.match(plain.problems[0]!.message, /needs an https:\/\/ URL/);
    const push = parseCheck({ kind: 'push', name: 'p', conditions: ['[CONNECTED] == true'] });
    assert.ok(!push.ok);
    assert.match(push.problems[0]!.message, /unknown field/);
  });
});

test('the conditions example of docs/health.md is a valid config file', (t) => {
  const md = readFileSync(new URL('../../docs/health.md', import.meta.url), 'utf8');
  const yaml = /## Conditions[\s\S]*?```yaml\n([\s\S]*?)```/.exec(md)![1]!;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-conditions-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, yaml);
  const { config } = loadConfig({ env: {}, file });
  const checks = config.checks as Array<{ name: string; conditions?: string[] }>;
  assert.deepEqual(
    checks.map((c) => [c.name, c.conditions?.length]),
    [
      ['api', 3],
      ['api-cert', 1],
      ['db-port', 2],
      ['gone', 1],
    ],
  );
  // A bad condition in the file is refused at load, naming the check and the condition.
  writeFileSync(file, yaml.replace('[STATUS] == 200', '[STATUS] === 200'));
  assert.throws(() => loadConfig({ env: {}, file }), /checks\[0\]\.conditions\.0[\s\S]*at character 12/);
});

// http probe over undici keep-alive pools: one Agent per (verify TLS × follow redirects)
// combination, shared by every check, with connections per origin capped at the per-host
// limit, each connecting through the target guard (every connection, so every redirect hop,
// is checked against the target policy: target-guard.ts). The body is read only when a keyword,
// regex or condition needs it, and then at most 1 MiB
// (a regex is matched off the event loop: body-match.ts);
// otherwise it is drained so the connection goes back to the pool. Each new TLS connection's
// certificate expiry is noted per host:port, for the conditions that read it.
import type { PeerCertificate } from 'node:tls';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import type { HttpCheck } from './check-schema.js';
import { guardedConnector } from './target-guard.js';
import { TargetPolicy } from './target-policy.js';
import { failure, round, type ProbeResult } from './probe-result.js';
import { BodyMatcher } from './body-match.js';
import type { ProbeFacts } from './conditions/evaluate.js';
import { conditionsRead } from './conditions/verdict.js';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;
/** One pool of matcher threads for every check's bodyRegex (unref'd: it never holds the process). */
const bodyMatcher = new BodyMatcher();

/** Origins whose certificate expiry is remembered (oldest forgotten first). */
const MAX_CERT_ORIGINS = 50_000;

export class HttpPools {
  private readonly agents = new Map<string, Dispatcher>();
  private readonly closers: Agent[] = [];
  /**
   * When each https origin's certificate (as seen on its latest new connection) stops being
   * valid, for [CERTIFICATE_EXPIRATION]: noted at the handshake, so a run on a kept-alive
   * connection costs nothing, and a renewed certificate shows once connections are recycled
   * (keepAliveMaxTimeout).
   */
  private readonly certs = new Map<string, number>();

  constructor(
    private readonly connectionsPerOrigin: number,
    /** Checked on every new connection, so on every redirect hop too. */
    private readonly targets = new TargetPolicy({ allowTargets: [], denyTargets: [] }),
  ) {}

  get(verifyTls: boolean, followRedirects: boolean): Dispatcher {
    const key = `${verifyTls ? 'v' : 'n'}${followRedirects ? 'f' : 's'}`;
    let d = this.agents.get(key);
    if (!d) {
      const agent = new Agent({
        connections: this.connectionsPerOrigin,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 120_000,
        connect: guardedConnector(this.targets, { rejectUnauthorized: verifyTls }, (host, port, socket) =>
          this.noteCertificate(`${bare(host)}:${port}`, socket.getPeerCertificate()),
        ),
      });
      this.closers.push(agent);
      d = followRedirects ? agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })) : agent;
      this.agents.set(key, d);
    }
    return d;
  }

  /** Epoch ms the certificate of `origin` ("host:port") stops being valid, if one was seen. */
  certValidTo(origin: string): number | undefined {
    return this.certs.get(origin);
  }

  private noteCertificate(origin: string, cert: PeerCertificate | undefined): void {
    const validTo = cert?.valid_to ? Date.parse(cert.valid_to) : NaN;
    if (Number.isNaN(validTo)) return;
    this.certs.delete(origin);
    this.certs.set(origin, validTo);
    if (this.certs.size > MAX_CERT_ORIGINS) this.certs.delete(this.certs.keys().next().value!);
  }

  async close(): Promise<void> {
    await Promise.all(this.closers.map((a) => a.destroy()));
    this.agents.clear();
  }
}

export function statusMatches(code: number, ranges: readonly string[]): boolean {
  for (const r of ranges) {
    const dash = r.indexOf('-');
    const lo = Number(r.slice(0, dash));
    const hi = Number(r.slice(dash + 1));
    if (code >= lo && code <= hi) return true;
  }
  return false;
}

export async function probeHttp(check: HttpCheck, signal: AbortSignal, pools: HttpPools): Promise<ProbeResult> {
  const started = performance.now();
  const res = await request(check.url, {
    method: check.method,
    headers: { 'user-agent': 'sluice-health/1', ...check.headers },
    body: check.body ?? null,
    signal,
    dispatcher: pools.get(check.verifyTls, check.followRedirects),
  });
  const needBody = check.bodyContains !== undefined || check.bodyRegex !== undefined || conditionsRead(check, 'BODY');
  let body: Buffer = Buffer.alloc(0);
  if (needBody) body = await readLimited(res.body, MAX_BODY_BYTES);
  else await res.body.dump();
  const latencyMs = round(performance.now() - started);
  const statusCode = res.statusCode;
  const facts: ProbeFacts = { connected: true, status: statusCode, ...(needBody ? { body } : {}) };
  if (conditionsRead(check, 'CERTIFICATE_EXPIRATION')) facts.certValidTo = pools.certValidTo(originOf(check.url));
  // Conditions on [STATUS] replace expectedStatus (so `[STATUS] == 503` can pass).
  if (!conditionsRead(check, 'STATUS') && !statusMatches(statusCode, check.expectedStatus)) {
    return failure('status', `status ${statusCode}, expected ${check.expectedStatus.join(', ')}`, latencyMs, {
      statusCode,
      facts,
    });
  }
  if (check.bodyContains !== undefined && !body.toString('utf8').includes(check.bodyContains)) {
    return failure('body', `body does not contain ${JSON.stringify(check.bodyContains)}`, latencyMs, {
      statusCode,
      facts,
    });
  }
  if (check.bodyRegex !== undefined && !(await bodyMatcher.match(check.bodyRegex, body, signal))) {
    return failure('body', `body does not match /${check.bodyRegex}/`, latencyMs, { statusCode, facts });
  }
  if (check.maxLatency !== undefined && latencyMs > check.maxLatency) {
    return {
      status: 'degraded',
      latencyMs,
      statusCode,
      errorClass: null,
      message: `latency ${latencyMs} ms above maxLatency ${check.maxLatency} ms`,
      details: null,
      facts,
    };
  }
  return { status: 'up', latencyMs, statusCode, errorClass: null, message: null, details: null, facts };
}

/** "host:port" of a URL, as the connector sees it. */
function originOf(url: string): string {
  const u = new URL(url);
  return `${bare(u.hostname)}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
}

/** An IPv6 host without its URL brackets. */
function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    chunks.push(b);
    n += b.length;
    if (n >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

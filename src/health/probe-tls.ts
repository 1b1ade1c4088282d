// tls probe: handshake with host:port and read the peer certificate. Fails when the
// certificate has expired, expires within minDaysLeft days, or (verifyTls) does not verify.
// Days left are always recorded in the result's details.
import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import type { TlsCheck } from './check-schema.js';
import { assertHostAllowed, guardedLookup } from './target-guard.js';
import type { TargetPolicy } from './target-policy.js';
import { failure, round, type ProbeResult } from './probe-result.js';
import { conditionsRead } from './conditions/verdict.js';

const DAY_MS = 86_400_000;

export function probeTls(check: TlsCheck, signal: AbortSignal, targets: TargetPolicy): Promise<ProbeResult> {
  const started = performance.now();
  const servername = check.servername ?? (isIP(check.host) ? undefined : check.host);
  return new Promise<ProbeResult>((resolve, reject) => {
    assertHostAllowed(targets, check.host, check.port);
    // We verify ourselves after the handshake, so an invalid chain is reported, not thrown.
    const socket = connect({
      host: check.host,
      port: check.port,
      servername,
      rejectUnauthorized: false,
      lookup: guardedLookup(targets, check.port, signal),
    });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      const latencyMs = round(performance.now() - started);
      const cert: PeerCertificate = socket.getPeerCertificate();
      const authorized = socket.authorized;
      const authError = socket.authorizationError ? String(socket.authorizationError) : null;
      socket.destroy();
      if (!cert || !cert.valid_to) {
        resolve(failure('tls', 'the server sent no certificate', latencyMs));
        return;
      }
      const validTo = new Date(cert.valid_to).getTime();
      const daysLeft = Math.floor(((validTo - Date.now()) / DAY_MS) * 100) / 100;
      const details = {
        daysLeft,
        validFrom: new Date(cert.valid_from).toISOString(),
        validTo: new Date(validTo).toISOString(),
        subject: cert.subject?.CN ?? null,
        issuer: cert.issuer?.CN ?? null,
        authorized,
      };
      const facts = { connected: true, certValidTo: validTo };
      if (daysLeft < 0)
        resolve(failure('tls_expired', `certificate expired on ${details.validTo}`, latencyMs, { details, facts }));
      else if (check.verifyTls && !authorized)
        resolve(
          failure('tls_invalid', `certificate not trusted: ${authError ?? 'unknown reason'}`, latencyMs, {
            details,
            facts,
          }),
        );
      // Conditions on [CERTIFICATE_EXPIRATION] replace minDaysLeft (an expired certificate is always down).
      else if (daysLeft < check.minDaysLeft && !conditionsRead(check, 'CERTIFICATE_EXPIRATION')) {
        resolve(
          failure('tls_expiring', `certificate expires in ${daysLeft} days (minimum ${check.minDaysLeft})`, latencyMs, {
            details,
            facts,
          }),
        );
      } else resolve({ status: 'up', latencyMs, statusCode: null, errorClass: null, message: null, details, facts });
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}

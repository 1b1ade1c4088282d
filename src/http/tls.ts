// TLS on the listener: the server's options read from the PEM files named in server.tls*,
// checked by building a secure context before they are used, so a bad certificate or a key
// that does not match it is an error naming the file — at start-up it stops the collector; on
// a reload (SIGHUP) it is logged and the certificate in use stays. A reload swaps the context
// for new handshakes only (setSecureContext): open connections keep theirs.
//
// mTLS: with server.tlsClientCa every handshake asks for a client certificate but does not
// fail without one (requestCert, rejectUnauthorized false), because the request for a
// certificate is per connection while the rule is per route: ingest routes check the
// connection's verdict (401 without a certificate when server.tlsRequireClientCert, 403 for one
// that does not verify); /healthz, /metrics, the UI and the APIs keep their own auth.
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { SluiceError, errorMessage } from '../errors.js';
import type { ServerConfig } from './config.js';

export interface TlsOptions extends SecureContextOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

function configError(detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_CONFIG', detail);
}

/** Whether TLS is configured; throws naming the keys when the settings do not go together. */
export function tlsEnabled(server: ServerConfig): boolean {
  const on = server.tlsCert !== '' || server.tlsKey !== '';
  if (on && (server.tlsCert === '' || server.tlsKey === ''))
    throw configError('server.tlsCert and server.tlsKey go together: set both, or neither for plain HTTP');
  if (!on && (server.tlsCa !== '' || server.tlsClientCa !== '' || server.tlsRequireClientCert))
    throw configError(
      'server.tlsCa, server.tlsClientCa and server.tlsRequireClientCert need TLS: set server.tlsCert and server.tlsKey',
    );
  if (server.tlsRequireClientCert && server.tlsClientCa === '')
    throw configError('server.tlsRequireClientCert needs server.tlsClientCa (the CA that signs client certificates)');
  return on;
}

function readPem(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`${key}: cannot read ${path}: ${errorMessage(err)}`);
  }
}

/** Reads and checks the PEM files. Throws SLUICE_ERR_CONFIG naming the file at fault. */
export function readTlsOptions(server: ServerConfig): TlsOptions {
  const cert = readPem('server.tlsCert', server.tlsCert);
  const chain = server.tlsCa ? readPem('server.tlsCa', server.tlsCa) : '';
  const clientCa = server.tlsClientCa ? readPem('server.tlsClientCa', server.tlsClientCa) : undefined;
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw configError(`server.tlsCert: ${server.tlsCert} holds no valid PEM certificate: ${errorMessage(err)}`);
  }
  const options: TlsOptions = {
    cert: chain ? `${cert.trimEnd()}\n${chain}` : cert,
    key: readPem('server.tlsKey', server.tlsKey),
    ...(clientCa ? { ca: clientCa } : {}),
    requestCert: clientCa !== undefined,
    rejectUnauthorized: false,
  };
  try {
    // What a handshake would need, built now: a key that does not match the certificate fails here.
    createSecureContext(options);
  } catch (err) {
    throw configError(
      `server.tlsCert/server.tlsKey (${server.tlsCert}, ${server.tlsKey}) cannot be used: ${errorMessage(err)}`,
    );
  }
  return options;
}

/** SHA-256 fingerprint of the leaf certificate in `options.cert`, as `getPeerCertificate().fingerprint256` shows it. */
export function certFingerprint(options: TlsOptions): string {
  return new X509Certificate(String(options.cert)).fingerprint256;
}

/**
 * Reads the files again and, if they are good, uses them for new connections. Returns the new
 * certificate's fingerprint; throws (and changes nothing) when they are not.
 */
export function reloadTls(server: HttpsServer, config: ServerConfig): string {
  const options = readTlsOptions(config);
  server.setSecureContext(options);
  return certFingerprint(options);
}

/**
 * The mTLS check on ingest routes (INGEST_ROUTE), before any other hook of theirs (a root
 * hook, so before the route family's auth). Install only with server.tlsClientCa set.
 */
export function installClientCertCheck(app: FastifyInstance, required: boolean): void {
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.routeOptions.config.ingest !== true) return done();
    const socket = req.raw.socket as TLSSocket;
    if (socket.authorized) return done();
    const presented = Object.keys(socket.getPeerCertificate?.() ?? {}).length > 0;
    if (presented) return done(new SluiceError('SLUICE_ERR_CLIENT_CERT_REJECTED', String(socket.authorizationError)));
    if (required) return done(new SluiceError('SLUICE_ERR_CLIENT_CERT_REQUIRED'));
    done();
  });
}

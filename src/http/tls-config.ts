// Config keys of TLS on the listener, part of the `server` section (spread into serverConfig in
// http/config.ts). Paths to PEM files, read at start-up and again on SIGHUP.
import { z } from 'zod';

const path = z.string().default('');

export const tlsConfigShape = {
  tlsCert: path.describe('PEM certificate (chain) file: with server.tlsKey the listener speaks HTTPS; empty: HTTP'),
  tlsKey: path.describe('PEM private key file of server.tlsCert'),
  tlsCa: path.describe(
    'PEM intermediate CA certificates sent after server.tlsCert, when that file holds only the leaf',
  ),
  tlsClientCa: path.describe(
    'PEM CA file for client certificates (mTLS): clients are asked for a certificate, verified against it',
  ),
  tlsRequireClientCert: z
    .boolean()
    .default(false)
    .describe(
      'Ingest routes refuse a client without a certificate from server.tlsClientCa (401; 403 for one that does not verify); other routes do not need one',
    ),
};

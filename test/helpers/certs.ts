// Certificates for TLS tests, made with the openssl command line in the test's own directory:
// a CA, server certificates for 127.0.0.1/localhost signed by it, and client certificates.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pem {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
  /** As `getPeerCertificate().fingerprint256` shows it. */
  fingerprint256: string;
}

/** Whether the openssl command is here (tests call cannotHere without it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

function read(certPath: string, keyPath: string): Pem {
  const cert = readFileSync(certPath, 'utf8');
  return {
    certPath,
    keyPath,
    cert,
    key: readFileSync(keyPath, 'utf8'),
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCa(dir: string, name: string): Pem {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC, '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${name}`]);
  return read(certPath, keyPath);
}

const EXTENSIONS = {
  server: 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  client: 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
  intermediate: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
};

/** A certificate signed by `ca`: a server one (for 127.0.0.1 and localhost), a client one, or an intermediate CA. */
export function makeCert(dir: string, name: string, ca: Pem, kind: keyof typeof EXTENSIONS): Pem {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, EXTENSIONS[kind]);
  openssl(['req', '-new', ...EC, '-keyout', keyPath, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial'].concat([
      '-out',
      certPath,
      '-days',
      '2',
      '-extfile',
      ext,
    ]),
  );
  return read(certPath, keyPath);
}

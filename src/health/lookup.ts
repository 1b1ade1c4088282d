// Name lookups for every probe (dns checks, and the connects of http/tcp/tls checks by host
// name). getaddrinfo cannot be cancelled and runs on libuv's small thread pool, which file I/O
// (the WAL's writes and fsyncs, the file sink) shares. With a resolver that does not answer,
// each run left one more lookup behind when its timeout fired, until the pool was taken for
// minutes: every lookup and every file operation waited. So concurrent lookups of one name
// share a call, and at most MAX_RUNNING calls run at once; the rest wait in line here, where
// a lookup nobody waits for any more (its probe timed out) is dropped before it starts.
import { lookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** Half of libuv's default pool of 4: the other half stays free for file I/O. */
const MAX_RUNNING = 2;

interface Pending {
  /** `byName`'s key: hints and name. */
  key: string;
  hostname: string;
  /** getaddrinfo hints (net.connect asks for ADDRCONFIG): part of what is shared. */
  hints: number;
  waiters: Done[];
}

const byName = new Map<string, Pending>();
const line: Pending[] = [];
let running = 0;

type Done = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

/**
 * Every address of `hostname`, sharing a lookup already under way for it. Returns a cancel
 * function: `done` is then not called, and a lookup left with nobody waiting never starts.
 */
export function lookupAll(hostname: string, hints: number, done: Done): () => void {
  const key = `${hints} ${hostname}`;
  let p = byName.get(key);
  if (p) p.waiters.push(done);
  else {
    p = { key, hostname, hints, waiters: [done] };
    byName.set(key, p);
    line.push(p);
    next();
  }
  const pending = p;
  return () => {
    const i = pending.waiters.indexOf(done);
    if (i >= 0) pending.waiters.splice(i, 1);
  };
}

/** `lookupAll` as a promise that an abort settles at once (the lookup itself runs on). */
export function lookupAllAbortable(hostname: string, signal: AbortSignal): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      cancel();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const cancel = lookupAll(hostname, 0, (err, addresses) => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(addresses);
    });
  });
}

/** Keeps the resolved addresses a connection may use, or says why none may be (target-guard.ts). */
export type Vet = (addresses: LookupAddress[]) => LookupAddress[] | Error;

/**
 * For `net.connect` / `tls.connect` / undici's `connect` options. With `signal` (a tcp or tls
 * probe's), a lookup the probe no longer waits for is dropped before it starts; undici's shared
 * pools have no per-request signal, but keep-alive makes their lookups rare. With `vet`, only
 * the addresses it keeps are handed to the connect: what was checked is what is connected to.
 */
export function probeLookup(signal?: AbortSignal, vet?: Vet): LookupFunction {
  return (hostname, options, callback) => {
    const cancel = lookupAll(hostname, options.hints ?? 0, (err, all) => {
      signal?.removeEventListener('abort', cancel);
      if (!err && vet) {
        const kept = vet(all);
        if (kept instanceof Error) return callback(kept as NodeJS.ErrnoException, '', 0);
        all = kept;
      }
      answer(hostname, options, callback, err, all);
    });
    signal?.addEventListener('abort', cancel, { once: true });
  };
}

function answer(
  hostname: string,
  options: Parameters<LookupFunction>[1],
  callback: Parameters<LookupFunction>[2],
  err: NodeJS.ErrnoException | null,
  all: LookupAddress[],
): void {
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
  const addresses = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
  if (!err && addresses.length === 0)
    err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
  if (err) return callback(err, '', 0);
  if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
  callback(null, addresses[0]!.address, addresses[0]!.family);
}

function next(): void {
  while (running < MAX_RUNNING && line.length > 0) {
    const p = line.shift()!;
    if (p.waiters.length === 0) {
      byName.delete(p.key);
      continue;
    }
    running++;
    lookup(p.hostname, { all: true, hints: p.hints }, (err, addresses) => {
      running--;
      byName.delete(p.key);
      for (const w of p.waiters) w(err, err ? [] : addresses);
      next();
    });
  }
}

/** Tests: lookups running or waiting. */
export function lookupStats(): { running: number; waiting: number } {
  return { running, waiting: line.length };
}

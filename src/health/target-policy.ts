// Which addresses and names health checks may reach: the built-in deny list (link-local, cloud
// metadata, unspecified addresses), health.denyTargets and health.allowTargets, and the
// collector's own listeners. An allow rule lifts deny rules of its own kind (an address rule
// lifts address rules, a name rule lifts name rules), so allowing a name never lets it
// resolve to a denied address; nothing lifts the rule on the collector's own listeners.
import { networkInterfaces } from 'node:os';
import { formatIp, matchesIp, matchesName, parseHost, parseIp, parseRule, type Ip, type Rule } from './target-match.js';

/** Denied whatever the config says, unless allowTargets lifts one. */
export const BUILT_IN_DENY: ReadonlyArray<{ rule: string; why: string }> = [
  { rule: '169.254.169.254', why: 'cloud metadata' },
  { rule: 'fd00:ec2::254', why: 'cloud metadata' },
  { rule: '100.100.100.200', why: 'cloud metadata' },
  { rule: 'metadata.google.internal', why: 'cloud metadata' },
  { rule: '169.254.0.0/16', why: 'link-local' },
  { rule: 'fe80::/10', why: 'link-local' },
  { rule: '0.0.0.0/8', why: 'unspecified: reaches this host' },
  { rule: '::/128', why: 'unspecified: reaches this host' },
];

export interface Denial {
  /** The target as the check names it or as it resolved. */
  target: string;
  /** The rule that denies it, with where the rule comes from. */
  rule: string;
}

export interface TargetRulesConfig {
  allowTargets: readonly string[];
  denyTargets: readonly string[];
}

interface NamedRule {
  rule: Rule;
  label: string;
}

const LOOPBACK_V4 = parseRule('127.0.0.0/8') as Rule;
const LOOPBACK_V6 = parseRule('::1') as Rule;
const UNSPECIFIED = [parseRule('0.0.0.0/8') as Rule, parseRule('::/128') as Rule];

export class TargetPolicy {
  private readonly deny: NamedRule[];
  private readonly allow: Rule[];
  private readonly listenerPorts = new Set<number>();

  constructor(config: TargetRulesConfig, listenerPorts: Iterable<number> = []) {
    this.deny = [
      ...BUILT_IN_DENY.map((d) => ({ rule: mustParse(d.rule), label: `built-in rule ${d.rule} (${d.why})` })),
      ...config.denyTargets.map((t) => ({ rule: mustParse(t), label: `health.denyTargets rule ${t}` })),
    ];
    this.allow = config.allowTargets.map(mustParse);
    for (const p of listenerPorts) this.addListenerPort(p);
  }

  /** The collector listens on this port (known once it listens when configured as 0). */
  addListenerPort(port: number): void {
    if (port > 0) this.listenerPorts.add(port);
  }

  /** A host as a check names it (an address in any form the resolver takes, or a name). */
  checkHost(host: string, port: number): Denial | null {
    const h = parseHost(host);
    if (h.kind === 'ip') return this.checkIp(h.ip, port, host);
    if (this.listenerPorts.has(port) && (h.name === 'localhost' || h.name.endsWith('.localhost')))
      return { target: `${host}:${port}`, rule: ownListener(port) };
    const hit = this.deny.find((d) => matchesName(d.rule, h.name, port));
    if (!hit || this.allow.some((a) => matchesName(a, h.name, port))) return null;
    return { target: host, rule: hit.label };
  }

  /** An address the resolver returned, about to be connected to. */
  checkAddress(address: string, port: number): Denial | null {
    const ip = parseIp(address);
    // The resolver hands back only addresses; anything else is not connected to.
    if (!ip) return { target: address, rule: 'not an IP address' };
    return this.checkIp(ip, port, address);
  }

  private checkIp(ip: Ip, port: number, shown: string): Denial | null {
    const text = shown === formatIp(ip) ? shown : `${shown} (${formatIp(ip)})`;
    if (this.listenerPorts.has(port) && this.isLocal(ip))
      return { target: `${text} port ${port}`, rule: ownListener(port) };
    const hit = this.deny.find((d) => matchesIp(d.rule, ip, port));
    if (!hit || this.allow.some((a) => matchesIp(a, ip, port))) return null;
    return { target: text, rule: hit.label };
  }

  private isLocal(ip: Ip): boolean {
    if (matchesIp(LOOPBACK_V4, ip, 0) || matchesIp(LOOPBACK_V6, ip, 0)) return true;
    if (UNSPECIFIED.some((r) => matchesIp(r, ip, 0))) return true;
    // Read each time (only for the listener's port): interfaces come and go (DHCP, containers).
    return readLocalAddresses().some((a) => a.v === ip.v && a.n === ip.n);
  }
}

function ownListener(port: number): string {
  return `the collector's own listener (port ${port} on a local address)`;
}

function mustParse(text: string): Rule {
  const r = parseRule(text);
  // The config schema refused bad rules already; reaching here is a programming error.
  if (typeof r === 'string') throw new Error(`target rule "${text}" ${r}`);
  return r;
}

function readLocalAddresses(): Ip[] {
  const out: Ip[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) {
      const ip = parseIp(a.address);
      if (ip) out.push(ip);
    }
  return out;
}

/** The message a denied target gets, at creation and at run time. */
export function denialText(d: Denial): string {
  return `${d.target} is denied by ${d.rule}`;
}

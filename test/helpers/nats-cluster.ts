// NATS servers for the scale-out tests: one JetStream server, or a cluster of three, each a
// `nats-server` child on loopback ports with its own temporary store directory. A node can be
// SIGKILLed and started again on the same ports and store, as a crashed server restarts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/** Whether the nats-server binary is on PATH (Debian's `nats-server` package). */
export function natsServerInstalled(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface NatsNode {
  name: string;
  port: number;
  url: string;
  /** SIGKILL; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store. */
  restart(): Promise<void>;
  running(): boolean;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's client URL, comma-separated (nats.servers). */
  servers: string;
  stop(): Promise<void>;
}

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

/** Starts `size` servers (1: standalone; more: one cluster) and waits until each answers /healthz. */
export async function startNatsCluster(size: number, dir: string): Promise<NatsCluster> {
  const ports: Ports[] = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await freePort('tcp'), cluster: await freePort('tcp'), monitor: await freePort('tcp') });
  const nodes = ports.map((p, i) => node(`n${i + 1}`, p, ports, join(dir, `n${i + 1}`)));
  await Promise.all(nodes.map((n) => n.restart()));
  return {
    nodes,
    servers: nodes.map((n) => n.url).join(','),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.kill()));
    },
  };
}

function node(name: string, p: Ports, all: Ports[], store: string): NatsNode {
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  mkdirSync(store, { recursive: true });
  const args = ['-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-js', '-sd', store];
  args.push('--server_name', name);
  if (all.length > 1) {
    const routes = all.filter((o) => o !== p).map((o) => `nats://127.0.0.1:${o.cluster}`);
    args.push(
      '--cluster_name',
      'sluice-test',
      '--cluster',
      `nats://127.0.0.1:${p.cluster}`,
      '--routes',
      routes.join(','),
    );
  }
  const running = (): boolean => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    port: p.client,
    url: `127.0.0.1:${p.client}`,
    running,
    async kill() {
      if (running()) proc!.kill('SIGKILL');
      await exited;
    },
    async restart() {
      const child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = child;
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      exited = new Promise((resolve) => child.once('exit', () => resolve()));
      await waitFor(
        () => `nats-server ${name} to answer /healthz: ${output.slice(-2000)}`,
        async () => {
          if (!running()) throw new Error(`nats-server ${name} exited: ${output.slice(-2000)}`);
          try {
            return (await fetch(`http://127.0.0.1:${p.monitor}/healthz`)).ok;
          } catch {
            return false;
          }
        },
        30_000,
      );
    },
  };
}

/** Creates the stream the roles share (retrying while a new cluster elects its JetStream leader). */
export async function createStream(servers: string, stream: string, subject: string, replicas: number): Promise<void> {
  const nc = await connect({ servers: servers.split(','), timeout: 5000 });
  try {
    await waitFor(
      `stream ${stream} created`,
      async () => {
        try {
          const jsm = await jetstreamManager(nc, { timeout: 5000 });
          await jsm.streams.add({
            name: stream,
            subjects: [`${subject}.>`],
            num_replicas: replicas,
            duplicate_window: 120_000_000_000,
          });
          return true;
        } catch {
          return false;
        }
      },
      30_000,
    );
  } finally {
    await nc.close();
  }
}

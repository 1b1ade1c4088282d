// Config keys of the NATS JetStream sink (composed into the one config schema in config/schema.ts).
import { z } from 'zod';

export const natsConfig = z
  .object({
    servers: z
      .array(z.string().min(1))
      .default(['127.0.0.1:4222'])
      .describe(
        'NATS servers, host:port or nats:// URLs (comma-separated in env); credentials go in nats.user/pass or nats.token',
      ),
    stream: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
      .default('SLUICE')
      .describe('JetStream stream the batches are published to (created when missing)'),
    subject: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens, no wildcards')
      .default('sluice')
      .describe('Subject prefix: a batch of each record type goes to <subject>.logs, .health or .checks'),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(0)
      .describe(
        'Stream replicas when the stream is created; 0: 3 when the server is in a cluster that can hold them, else 1',
      ),
    duplicateWindowMs: z
      .number()
      .int()
      .min(1000)
      .default(120_000)
      .describe('JetStream duplicate window when the stream is created: a retried publish within it is dropped'),
    user: z.string().default('').describe('User name (with nats.pass); empty: none'),
    pass: z.string().default('').describe('Password of nats.user'),
    token: z.string().default('').describe('Auth token; empty: none'),
    tlsCaFile: z
      .string()
      .default('')
      .describe("PEM file of the CA that signed the NATS servers' certificates; empty: system CAs"),
    tlsCertFile: z
      .string()
      .default('')
      .describe('PEM client certificate for NATS mTLS (with nats.tlsKeyFile); empty: none'),
    tlsKeyFile: z.string().default('').describe('PEM private key of nats.tlsCertFile'),
    streamMaxBytes: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Size cap of the stream when it is created (discard new: a full stream refuses publishes, so ingest pushes back); 0: no cap',
      ),
    consumer: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
      .default('sluice-writers')
      .describe('Role writer: the durable pull consumer all writers share (created when missing)'),
    ackWaitMs: z
      .number()
      .int()
      .min(1000)
      .default(30_000)
      .describe(
        'Role writer: how long a fetched batch may go without news before JetStream hands it to another writer (a writer still holding it says so every third of this)',
      ),
    maxDeliveries: z
      .number()
      .int()
      .min(2)
      .default(5)
      .describe(
        'Role writer: a batch delivered this many times (writers died on it) goes to the dead-letter file instead of being written again',
      ),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe('Connect timeout, and how long a publish waits for its JetStream ack'),
  })
  .prefault({});

export type NatsConfig = z.infer<typeof natsConfig>;

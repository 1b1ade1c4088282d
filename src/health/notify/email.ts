// E-mail: a plain-text message (subject = the title) sent over SMTP with nodemailer; one
// transport per channel, pooled, closed when the alerter stops.
import { createTransport, type Transporter } from 'nodemailer';
import type { Channel } from './schema.js';
import { plainText, title, type Notice, type Outgoing } from './message.js';

type EmailChannel = Extract<Channel, { kind: 'email' }>;

export function emailMessage(n: Notice): Outgoing {
  return { kind: 'mail', subject: title(n), text: `${plainText(n)}\n\n-- \nSent by Sluice\n` };
}

export interface Mailer {
  send(subject: string, text: string): Promise<void>;
  close(): void;
}

export function createMailer(c: EmailChannel, timeoutMs: number): Mailer {
  const transport: Transporter = createTransport({
    host: c.host,
    port: c.port,
    secure: c.secure,
    ...(c.auth ? { auth: { user: c.auth.user, pass: c.auth.pass } } : {}),
    pool: true,
    maxConnections: 2,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    send: async (subject, text) => {
      await transport.sendMail({ from: c.from, to: c.to, subject, text });
    },
    close: () => transport.close(),
  };
}

/** SMTP 5xx answers are permanent (bad address, refused sender); the rest is worth retrying. */
export function isPermanentMailError(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

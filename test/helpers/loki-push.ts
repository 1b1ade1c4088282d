// Builds Loki push bodies as Loki's clients do, for tests and the bench: the PushRequest
// protobuf (encoded by protobufjs from the message definitions of grafana/loki's push.proto,
// independently of Sluice's hand decoder) in Snappy's block format, and the JSON form.
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';

export interface PushEntry {
  /** Nanoseconds since the epoch, as a decimal string. */
  ns: string;
  line: string;
  metadata?: Array<[string, string]>;
}
export interface PushStream {
  labels: Array<[string, string]>;
  entries: PushEntry[];
}

const root = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
          },
        },
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});
const PushRequest = root.lookupType('logproto.PushRequest');

/** The label set as Loki clients print it: {a="b", c="d"} with Go escapes. */
export function labelText(labels: ReadonlyArray<[string, string]>): string {
  return `{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

export function pushProto(streams: readonly PushStream[]): Buffer {
  const msg = PushRequest.fromObject({
    streams: streams.map((s) => ({
      labels: labelText(s.labels),
      entries: s.entries.map((e) => {
        const ns = BigInt(e.ns);
        return {
          timestamp: { seconds: (ns / 1_000_000_000n).toString(), nanos: Number(ns % 1_000_000_000n) },
          line: e.line,
          structuredMetadata: (e.metadata ?? []).map(([name, value]) => ({ name, value })),
        };
      }),
    })),
  });
  return compress(Buffer.from(PushRequest.encode(msg).finish()));
}

export function pushJson(streams: readonly PushStream[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      streams: streams.map((s) => ({
        stream: Object.fromEntries(s.labels),
        values: s.entries.map((e) => (e.metadata ? [e.ns, e.line, Object.fromEntries(e.metadata)] : [e.ns, e.line])),
      })),
    }),
  );
}

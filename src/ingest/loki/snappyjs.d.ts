// snappyjs ships no types: the function the Loki route uses, and compress for tests and the bench.
declare module 'snappyjs' {
  /** Undoes Snappy's block format; throws when the stream is invalid or would exceed maxLength. */
  export function uncompress(compressed: Buffer, maxLength?: number): Buffer;
  export function compress(uncompressed: Buffer): Buffer;
}

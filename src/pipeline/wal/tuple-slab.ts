// Where the WAL keeps the COPY tuples of the records it holds until the sink has written them:
// views into large shared slabs rather than a Buffer per request. A Buffer per request is
// external memory V8 frees late under load; records leave in arrival order, so a slab is
// released soon after its last view is dropped.
const SLAB_BYTES = 1024 * 1024;

export class TupleSlab {
  private slab = Buffer.allocUnsafeSlow(0);
  private used = 0;

  /** A copy of `bytes` in the current slab (a new one when it is full). */
  keep(bytes: Buffer): Buffer {
    const n = bytes.length;
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, n));
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + n);
    bytes.copy(view);
    this.used += n;
    return view;
  }
}

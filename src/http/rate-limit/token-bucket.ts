// One token bucket: `rate` tokens a second up to `capacity`. A cost may be larger than what is
// left (records and chunked bodies are known only after the fact), so the balance may go
// negative: that debt is paid off by the refill before the bucket admits anything again.
// Time is passed in (milliseconds), so the arithmetic is exact under a test's clock.

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly rate: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  /** Tokens in the bucket at `now` (negative while in debt). */
  level(now: number): number {
    if (now > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    return this.tokens;
  }

  /** Milliseconds until the bucket holds `need` tokens (0: it does now). */
  waitMs(need: number, now: number): number {
    const short = need - this.level(now);
    return short <= 0 ? 0 : (short * 1000) / this.rate;
  }

  /** Takes `cost` tokens, even into debt. */
  charge(cost: number, now: number): void {
    this.level(now);
    this.tokens -= cost;
  }

  /** Whole seconds until the bucket is full again. */
  resetSeconds(now: number): number {
    const short = this.capacity - this.level(now);
    return short <= 0 ? 0 : Math.ceil(short / this.rate);
  }

  isFull(now: number): boolean {
    return this.level(now) >= this.capacity;
  }
}

// A token bucket: `burst` messages at once, refilled at `perSecond`.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    if (this.peek() < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens available now (refills first, takes nothing). */
  peek(): number {
    const t = this.now();
    // A clock that steps back must not leave the bucket empty until it catches up.
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, t - this.last) / 1000) * this.perSecond);
    this.last = t;
    return this.tokens;
  }
}

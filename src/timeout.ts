// The one timeout helper: wait for some work, but no longer than a limit. Whichever comes first
// settles the result, and the timer never outlives the wait (no stray timer holds the process).

/**
 * Settles as `work` does, or after `ms` with what `onTimeout` returns (or rejects with what it
 * throws), whichever comes first. `onTimeout` runs only if the limit is reached; an infinite
 * `ms` waits for `work` alone. The work itself is not cancelled: pass it a signal for that.
 */
export async function withTimeout<T, U = T>(work: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  if (!Number.isFinite(ms)) return work;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<U>((resolve, reject) => {
    timer = setTimeout(
      () => {
        try {
          resolve(onTimeout());
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      },
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

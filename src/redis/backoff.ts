// Reconnect delays: capped exponential backoff with "full jitter" (AWS
// Architecture Blog, "Exponential Backoff And Jitter"): each delay is drawn
// uniformly from [0, min(cap, base · 2^attempt)), so nodes that lost the same
// Redis at the same moment do not come back in lockstep. Sans-I/O: the
// random source is a parameter.

/** The delay before reconnect attempt `attempt` (0 for the first), in ms. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  // 2^attempt overflows to Infinity long after min() has settled on maxMs.
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

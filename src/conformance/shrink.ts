// Shrinking a failing random stream against the live server: try smaller
// variants (properties.ts's candidates) one by one and keep any that fails
// the same way, until none does or the budget runs out. Greedy, like
// fast-check's shrinker, but each step is a real connection, and the
// expectation is recomputed by the model for every candidate.
import { shrinkCandidates, type Generated } from './properties.js';
import type { Judgement } from './verdict.js';

/** Limits of one shrink. */
export interface ShrinkBudget {
  /** Most candidate runs. */
  maxRuns: number;
  /** Most wall-clock time (ms). */
  maxMs: number;
}

/** The smallest failing stream found. */
export interface Shrunk<T> {
  generated: Generated;
  judgement: Judgement;
  /** What the run that produced `judgement` carried (observation etc.). */
  detail: T;
  /** Candidate runs tried, and how many of them were kept. */
  runs: number;
  steps: number;
}

/**
 * Shrink `start` (which failed with `first`): `check` runs a candidate and
 * returns its judgement; a candidate is kept when it is FAILED with the
 * same `key`.
 */
export async function shrink<T>(
  start: Generated,
  first: { judgement: Judgement; detail: T },
  check: (g: Generated) => Promise<{ judgement: Judgement; detail: T }>,
  budget: ShrinkBudget,
): Promise<Shrunk<T>> {
  const deadline = performance.now() + budget.maxMs;
  let best: Shrunk<T> = { generated: start, judgement: first.judgement, detail: first.detail, runs: 0, steps: 0 };
  let improved = true;
  while (improved && best.runs < budget.maxRuns && performance.now() < deadline) {
    improved = false;
    for (const candidate of shrinkCandidates(best.generated)) {
      if (best.runs >= budget.maxRuns || performance.now() >= deadline) break;
      best.runs++;
      const result = await check(candidate);
      if (result.judgement.verdict === 'FAILED' && result.judgement.key === first.judgement.key) {
        best = { ...best, generated: candidate, judgement: result.judgement, detail: result.detail, steps: best.steps + 1 };
        improved = true;
        break;
      }
    }
  }
  return best;
}

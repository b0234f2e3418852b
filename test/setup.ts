// Property tests run from a fixed seed so `npm test` is deterministic.
// Explore other inputs with FC_SEED=<n> npm test; a failure prints its seed.
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 6455) });

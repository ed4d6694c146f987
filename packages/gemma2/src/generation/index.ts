export type { BeamHypothesis, BeamSearchOptions } from './beam-search.js';
export { beamSearch } from './beam-search.js';
export type { FinishReason, GeneratedToken, GenerateOptions } from './generate.js';
export { generateTokens } from './generate.js';
export type { Candidates, SamplingOptions } from './logits-processors.js';
export { applyRepetitionPenalty, argmax, sampleCandidate, warpLogits } from './logits-processors.js';
export { SeededRandom } from './prng.js';
export type { StepModel } from './step-model.js';

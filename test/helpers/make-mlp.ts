/** Seeded checkpoint folders for tests: the same writer and model specs the benchmark uses. */
export { writeMlp, writeCalib, PROOF_MODELS, type MlpSpec } from '../../bench/models.js';

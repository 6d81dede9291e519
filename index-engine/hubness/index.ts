/** DBNorm hubness reduction (ALGORITHMS.md §2): pure math over typed arrays, no I/O. */
export { type HubnessStats, hubnessStats, kOccurrence, skewness } from './k-occurrence.js';
export { type BankVectors, computeNormalizers, type NormalizerInput, type NormalizerOutput } from './normalizers.js';
export {
  isRescoreMethod,
  needsGalleryBank,
  needsQueryBank,
  RESCORE_METHODS,
  type RescoreInput,
  type RescoreMethod,
  rescore,
} from './rescore.js';
export { type Similarity, scoreToSimilarity, similarityOf } from './similarity.js';

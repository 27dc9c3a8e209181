// The per-account Bayesian junk filter: tokens of messages, their classification, and
// training, over the token counts the store keeps in each account's junk.db.
export {
  MAX_WORD,
  MIN_WORD,
  TOKENIZE_DEFAULTS,
  Tokens,
  collapseDigits,
  htmlToText,
  tokenKey,
  tokenize,
  type TokenizeOptions,
} from './tokenize.js';
export {
  CLASSIFY_DEFAULTS,
  chi2Q,
  classifyCounts,
  combineFisher,
  combineGraham,
  tokenProbability,
  type Classification,
  type ClassifyParams,
  type CombineMethod,
  type TokenTexts,
  type Word,
} from './classify.js';
export { JunkTrainer } from './trainer.js';
export {
  JUNK_FILTER_DEFAULTS,
  JunkFilter,
  contentKey,
  messageKey,
  retrain,
  trainingClass,
  type MessageSource,
  type RetrainReport,
  type TrainMessage,
} from './filter.js';

export {
  METRIC_PREFIX,
  PANIC_ORIGINS,
  defineCounter,
  defineGauge,
  defineHistogram,
  panicTotal,
  recordPanic,
  registry,
  type PanicOrigin,
} from './metrics.js';

export {
  CUSTOM_LEVELS,
  LOG_LEVELS,
  createLogger,
  formatPretty,
  isLogLevel,
  newCid,
  traceLine,
  type CustomLevel,
  type LogLevel,
  type Logger,
  type LoggerOptions,
  type TraceKind,
} from './log.js';

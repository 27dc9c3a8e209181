export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics.js';

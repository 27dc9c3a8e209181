// The process-wide Prometheus registry. Metrics are defined through the helpers below,
// which return the existing metric when the name is already registered, so that
// several servers started in one process share their counters.
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

export const METRIC_PREFIX = 'tidings_';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

type Config<C> = Omit<C, 'registers'>;
type MetricClass<M> = abstract new (...args: never[]) => M;

function define<M>(kind: MetricClass<M>, name: string, create: () => M): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (!(existing instanceof kind)) {
    throw new TypeError(`metric ${name} is already registered with another type`);
  }
  return existing;
}

/** A counter in {@link registry}; the same object for every call with this name. */
export function defineCounter<T extends string>(
  config: Config<CounterConfiguration<T>>,
): Counter<T> {
  return define(
    Counter<T>,
    config.name,
    () => new Counter<T>({ ...config, registers: [registry] }),
  );
}

/** A histogram in {@link registry}; the same object for every call with this name. */
export function defineHistogram<T extends string>(
  config: Config<HistogramConfiguration<T>>,
): Histogram<T> {
  return define(
    Histogram<T>,
    config.name,
    () => new Histogram<T>({ ...config, registers: [registry] }),
  );
}

/** A gauge in {@link registry}; the same object for every call with this name. */
export function defineGauge<T extends string>(config: Config<GaugeConfiguration<T>>): Gauge<T> {
  return define(Gauge<T>, config.name, () => new Gauge<T>({ ...config, registers: [registry] }));
}

/** Where an unexpected exception can be caught and counted. */
export const PANIC_ORIGINS = ['imap', 'smtp', 'queue', 'store', 'http'] as const;
export type PanicOrigin = (typeof PANIC_ORIGINS)[number];

export const panicTotal = defineCounter({
  name: 'tidings_panic_total',
  help: 'Unexpected exceptions caught and recovered, by origin.',
  labelNames: ['origin'] as const,
});
// Every origin starts at 0 so that increase() sees the first panic.
for (const origin of PANIC_ORIGINS) panicTotal.inc({ origin }, 0);

/** Count one recovered exception. */
export function recordPanic(origin: PanicOrigin): void {
  panicTotal.inc({ origin });
}

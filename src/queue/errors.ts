// Typed queue errors: submission maps them to a temporary SMTP failure (451 4.3.0).

export type QueueErrorCode = 'invalid' | 'schema' | 'notfound';

export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'QueueError';
  }
}

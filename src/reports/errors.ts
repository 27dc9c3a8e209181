// The error of a report that cannot be read: malformed, refused as hostile, or missing
// what the format requires. Its message says what was wrong; storage and other
// failures are not ReportErrors.
export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

export function isReportError(e: unknown): e is ReportError {
  return e instanceof ReportError;
}

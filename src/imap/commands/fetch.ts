// FETCH and UID FETCH (RFC 9051 §6.4.5).
import type { Handler } from './types.js';
import { UserError } from '../errors.js';

export const fetchHandler: Handler = async () => {
  throw new UserError('', 'FETCH not available yet');
};

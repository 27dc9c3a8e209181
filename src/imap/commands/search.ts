// SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182).
import type { Handler } from './types.js';
import { UserError } from '../errors.js';

export const searchHandler: Handler = async () => {
  throw new UserError('', 'SEARCH not available yet');
};

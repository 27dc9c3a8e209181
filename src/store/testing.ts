// Test access to an account's internals, for tests that simulate damage or data left by
// older versions (a deleted file, a missing column value). Not exported from the store's
// index: the rest of the program reaches the store only through its public API.
import Database from 'better-sqlite3';
import { coreOf, type Account } from './account.js';
import { messagePath as pathOf } from './files.js';

/** The account's SQLite database. */
export function rawDatabase(a: Account): Database.Database {
  return coreOf(a).db;
}

/** Where a message file lives on disk. */
export function messagePath(a: Account, fileId: number): string {
  return pathOf(coreOf(a), fileId);
}

/** Runs SQL on a database file, as a crashed tool or a hand edit might (junk.db, ...). */
export function execOnFile(file: string, sql: string): void {
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

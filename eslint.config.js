// Flat config: typescript-eslint's recommended rules for src, tests and scripts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SQLITE = {
  name: 'better-sqlite3',
  message: 'SQL belongs in src/store (or src/queue): add a store method instead.',
};

/** Imports of the store's own files, other than its index (and, in tests, its test helpers). */
function storeInternals(inTests) {
  const allowed = ['!**/store/index.js'];
  if (inTests) allowed.push('!**/store/testing.js', '!**/store/testutil.js');
  return {
    group: ['**/store/*.js', ...allowed],
    message: 'Use the store through src/store/index.js, its public API.',
  };
}

export default tseslint.config(
  { ignores: ['dist/', '.bench-build/', 'node_modules/', 'testdata/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-control-regex': 'off',
      // All SQL lives in the store and the queue: nothing else may reach the database,
      // and the rest of the program sees the store only through its index (tests may
      // also use its test helpers).
      'no-restricted-imports': ['error', { paths: [SQLITE], patterns: [storeInternals(true)] }],
    },
  },
  {
    files: ['src/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [SQLITE], patterns: [storeInternals(false)] }],
    },
  },
  {
    files: ['src/store/**', 'src/queue/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);

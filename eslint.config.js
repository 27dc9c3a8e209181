// Flat config: typescript-eslint's recommended rules for src, tests and scripts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
      // All SQL lives in the store and the queue: nothing else may reach the database.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'better-sqlite3',
              message: 'SQL belongs in src/store (or src/queue): add a store method instead.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/**', 'src/queue/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);

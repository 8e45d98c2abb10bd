import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'bin/', '.tmp/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Short files and functions everywhere in the product code; blank lines and comments do not count.
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    rules: {
      'max-lines': ['error', 300],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // The generated Kill Bill client is loaded once, by require, in generated-client.ts (why: there).
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    ignores: ['src/clients/killbill/generated-client.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'killbill',
              message: "Types only here (import type); values through './generated-client.js'.",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The sync path is read more than written: functions of 60 lines counting blanks and comments, and no
    // `!` (narrow once instead).
    files: ['src/sync/**/*.ts', 'src/record/**/*.ts', 'workers/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', 60],
      '@typescript-eslint/no-non-null-assertion': 'error',
    },
  },
  {
    // chai assertions such as `expect(x).to.exist` are expressions by design.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);

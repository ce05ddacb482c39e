// Lint rules that protect money and determinism, on top of typescript-eslint's recommended set.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.tools/**', 'coverage/**', 'reports/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly' },
    },
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An unawaited promise in money code is a lost write or a swallowed failure.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Prettier prints code at 100 columns (.prettierrc.json) but leaves comments and strings as
      // they are: comments are held to the same width here; a string or a URL may run past it.
      'max-len': [
        'error',
        {
          code: 100,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
          ignoreUrls: true,
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The workflow fence, as an allow-list: workflow code imports values only from Temporal's
    // workflow-safe packages, other workflow files (and their contracts/) and the pure id builders;
    // from anywhere else only types (an activity's interface, a decision's shape). Anything that
    // reaches pg, the gateway, Node or a clock (payments/, loans/, reconciliation/, config/,
    // ledger/ ...) stays out.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(?!(@temporalio/(workflow|common)|\./[a-z-]+|\./contracts/[a-z-]+|\.\./ids/workflow-ids)$)`,
              allowTypeImports: true,
              message:
                'workflow code must stay deterministic: import values only from @temporalio/workflow, @temporalio/common, ./ and ../ids/workflow-ids (types from anywhere); do the rest in an activity',
            },
          ],
        },
      ],
    },
  },
  {
    // No money decisions in the HTTP layer: api/** validates, authorises and calls payments/,
    // loans/, reconciliation/; it never posts to the ledger itself (reads and account creation are
    // fine).
    files: ['api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/ledger/transactions'],
              message:
                'api/ does not post to the ledger: do it in payments/, loans/ or reconciliation/',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.property.name=/^(post|transfer|hold|postPending|voidPending|reverse)$/][callee.object.type='NewExpression'][callee.object.callee.name='Ledger']",
          message:
            'api/ does not post to the ledger: do it in payments/, loans/ or reconciliation/',
        },
        {
          selector:
            "CallExpression[callee.property.name=/^(post|transfer|hold|postPending|voidPending|reverse)$/][callee.object.name='ledger']",
          message:
            'api/ does not post to the ledger: do it in payments/, loans/ or reconciliation/',
        },
      ],
    },
  },
  {
    // One function, one job: none over 70 lines outside the tests (a test file's describe block is
    // a list of cases, not a function to split).
    files: ['**/*.ts'],
    ignores: ['test/**'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 70, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
    },
  },
  {
    // The ledger, and the database under it, are libraries with no Temporal in them.
    files: ['ledger/**/*.ts', 'db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'the ledger must be usable without Temporal' },
          ],
        },
      ],
    },
  },
);

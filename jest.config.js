/**
 * Jest: TypeScript through ts-jest, in two tiers (`npm test -- --selectProjects unit`):
 * - unit: pure code (money, schedules, classification, notification verification, the gateway
 *   simulator in process, the chaos plan, the lint fence): no Postgres, no Temporal, seconds;
 * - integration: everything else, on a real Postgres and real Temporal servers (see test/helpers).
 */
const UNIT = [
  'test/ledger/money.test.ts',
  'test/loans/schedule.test.ts',
  'test/gateway/client-classification.test.ts',
  'test/gateway/verify-notification.test.ts',
  'test/gateway/simulator-truth.test.ts',
  'test/gateway/simulator-orders.test.ts',
  'test/gateway/simulator-outage.test.ts',
  'test/gateway/simulator-notifications.test.ts',
  'test/gateway/simulator-cli.test.ts',
  'test/chaos/plan.test.ts',
  'test/chaos/summary.test.ts',
  'test/security/workflow-fence.test.ts',
  'test/api/errors.test.ts',
];

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // ESM-only dependencies (fastify's inject uses cookie 2) are compiled to CommonJS for jest.
    '^.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(cookie|set-cookie-parser)/)'],
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
};

module.exports = {
  testTimeout: 120_000,
  maxWorkers: 2,
  // test/chaos/seeds.test.ts runs its seven seeds at once (it.concurrent); nothing else is
  // concurrent.
  maxConcurrency: 7,
  projects: [
    { ...common, displayName: 'unit', testMatch: UNIT.map((f) => `<rootDir>/${f}`) },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        ...UNIT.map((f) => `/${f.replace(/[.]/g, '\\.')}$`),
      ],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
    },
  ],
};

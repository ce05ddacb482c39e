// Every test file, and every process a test starts, runs as the `test` environment (config/env.ts);
// the test databases are recorded as such (test/helpers/postgres.ts).
process.env.APP_ENV = 'test';

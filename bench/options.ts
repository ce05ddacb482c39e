// The command-line options every benchmark shares, with the local stack's defaults
// (config/local.ts).
import { Option } from 'commander';
import {
  localApiUrl,
  localGatewayUrl,
  localOwnerDatabaseUrl,
  localTemporalAddress,
} from '../config/local';

/** Benchmarks seed and measure tables directly: they run as the schema's owner. */
export const databaseUrlOption = (what: string) =>
  new Option('--database-url <url>', `Postgres, as the owner (${what})`).default(
    localOwnerDatabaseUrl(),
  );
export const temporalAddressOption = () =>
  new Option('--temporal-address <addr>', 'Temporal').default(localTemporalAddress());
export const gatewayUrlOption = () =>
  new Option('--gateway-url <url>', 'the gateway simulator').default(localGatewayUrl());
export const apiUrlOption = () => new Option('--api-url <url>', 'the API').default(localApiUrl());
/** The bare Temporal ceiling each benchmark measures beside its own figure, in the same run. */
export const ceilingWorkflowsOption = () =>
  new Option('--ceiling-workflows <n>', 'workflows for the bare Temporal ceiling').default('1000');

import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

/**
 * Where the Temporal service is: the local dev server by default, any cluster or Temporal Cloud by
 * env.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig | true;
  /** Temporal Cloud API key authentication (implies TLS). */
  apiKey?: string;
}

/**
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE; mutual TLS with TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY
 * (file paths), optional TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME; or TEMPORAL_API_KEY
 * (Temporal Cloud).
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const settings: TemporalSettings = {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
  };
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (Boolean(cert) !== Boolean(key))
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  if (cert && key) {
    settings.tls = {
      clientCertPair: { crt: readFileSync(cert), key: readFileSync(key) },
      ...(env.TEMPORAL_TLS_CA
        ? { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_CA) }
        : {}),
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  }
  if (env.TEMPORAL_API_KEY) {
    settings.apiKey = env.TEMPORAL_API_KEY;
    settings.tls ??= true;
  }
  return settings;
}

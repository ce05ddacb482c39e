// What the scenario talks to: the API (as its clients do), Temporal (the operators' update and
// visibility), Postgres (read-only counts for progress and the summary) and the simulator's
// control routes (faults, and its record of what it executed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { temporalSettingsFromEnv } from '../config/temporal';
import { createPool } from '../db/pool';
import { DemoApi } from './api';
import { localApiUrl, localDatabaseUrl, localGatewayUrl } from '../config/local';

export interface SimulatorOrder {
  orderNo: string;
  kind: 'PAYOUT' | 'COLLECTION';
  status: string;
  amount: string;
  amountMinor: string;
}

export class Simulator {
  constructor(readonly url: string) {}

  async setFaults(rates: Record<string, number>): Promise<void> {
    const res = await fetch(`${this.url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rates }),
    });
    if (!res.ok)
      throw new Error(`the simulator refused the faults: HTTP ${res.status} ${await res.text()}`);
  }

  async truth(): Promise<SimulatorOrder[]> {
    const res = await fetch(`${this.url}/_sim/truth`);
    if (!res.ok) throw new Error(`the simulator's truth: HTTP ${res.status}`);
    return ((await res.json()) as { orders: SimulatorOrder[] }).orders;
  }
}

export interface World {
  api: DemoApi;
  temporal: Client;
  db: Pool;
  simulator: Simulator;
  uiUrl: string;
  namespace: string;
  close(): Promise<void>;
}

export async function connectWorld(): Promise<World> {
  const root = join(__dirname, '..');
  const adminKey =
    process.env.ADMIN_API_KEY ??
    readFileSync(process.env.ADMIN_KEY_FILE ?? join(root, '.data', 'admin-api-key'), 'utf8').trim();
  const settings = temporalSettingsFromEnv();
  const connection = await Connection.connect({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
  });
  // Reads (and a payout run started as a job) as the application does: its own login
  // (scripts/env.sh).
  const db = createPool({ connectionString: localDatabaseUrl(), max: 4, applicationName: 'demo' });
  return {
    api: new DemoApi(localApiUrl(), adminKey),
    temporal: new Client({ connection, namespace: settings.namespace }),
    db,
    simulator: new Simulator(localGatewayUrl()),
    uiUrl: process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233',
    namespace: settings.namespace,
    async close() {
      await connection.close();
      await db.end();
    },
  };
}

/** A Web UI link to a list search (what an operator would type into the search box). */
export function uiSearchLink(world: Pick<World, 'uiUrl' | 'namespace'>, query: string): string {
  return `${world.uiUrl}/namespaces/${world.namespace}/workflows?query=${encodeURIComponent(query)}`;
}

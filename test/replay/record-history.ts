// Records a workflow's history from a running Temporal server into
// test/replay/histories/<name>.json.
//   npm run record-history -- <workflowId> [name]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporalSettingsFromEnv } from '../../config/temporal';
import { HISTORIES_DIR } from './histories';

async function main(): Promise<void> {
  const [workflowId, name] = process.argv.slice(2);
  if (!workflowId || workflowId === '--help') {
    console.error('usage: npm run record-history -- <workflowId> [file name without .json]');
    process.exit(2);
  }
  const settings = temporalSettingsFromEnv();
  const connection = await Connection.connect({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
  });
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    const handle = client.workflow.getHandle(workflowId);
    const { status } = await handle.describe();
    if (status.name === 'RUNNING')
      throw new Error(`${workflowId} is still running: record a closed workflow`);
    const history = await handle.fetchHistory();
    const file = join(HISTORIES_DIR, `${name ?? workflowId}.json`);
    writeFileSync(file, historyToJSON(history) + '\n');
    console.log(
      `[record-history] ${history.events?.length ?? 0} events of ${workflowId} (${status.name}) -> ${file}`,
    );
  } finally {
    await connection.close();
  }
}

main().catch((err: Error) => {
  console.error(`[record-history] error: ${err.message}`);
  process.exit(1);
});

// `npm run ops -- ...` in-process against an API on a real port, with the admin key: its exit code
// and output.
import { runOps } from '../../cli/ops';
import { ADMIN_KEY } from '../api/helpers';

export async function runOpsAt(
  apiUrl: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  return runOpsWithKey(ADMIN_KEY, apiUrl, ...args);
}

/** The same with another key (an operator's). */
export async function runOpsWithKey(
  key: string,
  apiUrl: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  process.env.OPS_API_KEY = key;
  try {
    const code = await runOps(['--api-url', apiUrl, ...args], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    delete process.env.OPS_API_KEY;
  }
}

// Progress for the scenario: a bar per phase on a terminal (cli-progress), and without one a line
// every few seconds; each phase ends with one line of counts and rates.
import { SingleBar, Presets } from 'cli-progress';

const LINE_EVERY_MS = 5_000;

export class Phase {
  private readonly startedAt = Date.now();
  private readonly bar: SingleBar | undefined;
  private lastLine = Date.now();
  private value = 0;
  private detail = '';

  constructor(
    private readonly name: string,
    private readonly total: number,
    private readonly unit: string,
  ) {
    if (process.stdout.isTTY) {
      this.bar = new SingleBar(
        {
          format: `  ${name.padEnd(12)} [{bar}] {value}/{total} ${unit} {detail}`,
          hideCursor: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(total, 0, { detail: '' });
    }
  }

  update(value: number, detail = ''): void {
    this.value = value;
    this.detail = detail;
    if (this.bar) this.bar.update(value, { detail });
    else if (Date.now() - this.lastLine >= LINE_EVERY_MS) {
      this.lastLine = Date.now();
      console.log(`  ${this.name}: ${value}/${this.total} ${this.unit} ${detail}`);
    }
  }

  /** Ends the phase with its one summary line. */
  done(summary: string): void {
    this.bar?.update(this.value, { detail: this.detail });
    this.bar?.stop();
    const seconds = (Date.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? (this.value / seconds).toFixed(1) : '-';
    console.log(`✔ ${this.name}: ${summary} (${seconds.toFixed(1)} s, ${rate} ${this.unit}/s)`);
  }
}

export function say(text: string): void {
  console.log(text);
}

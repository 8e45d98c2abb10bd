/**
 * Progress on a terminal as one redrawn bar; elsewhere (CI, logs, pipes) a plain line now and then, since
 * carriage returns make a mess of files.
 */
export class ProgressBar {
  private readonly tty: boolean;
  private lastTenth = -1;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(done: number, total: number, note = ''): void {
    if (!this.tty) {
      // A line per tenth of the way and per failure, not per step: 10,000 subscriptions are not 10,000 lines.
      const tenth = total === 0 ? 10 : Math.floor((done * 10) / total);
      if (tenth === this.lastTenth && done < total && !note) return;
      this.lastTenth = tenth;
      this.out.write(`${this.label}: ${done}/${total}${note ? ` ${note}` : ''}\n`);
      return;
    }
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.out.write(`\r${this.label} ${bar} ${done}/${total} ${note}`.slice(0, (this.out.columns ?? 100) - 1));
    if (done >= total) this.out.write('\n');
  }
}

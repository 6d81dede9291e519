import cliProgress from 'cli-progress';

/** A progress bar on stderr, or nothing when stderr is not a terminal or --quiet was given. */
export interface Progress {
  update(value: number, points: number): void;
  /** A line above the bar (retries), so it is not overdrawn. */
  note(message: string): void;
  stop(): void;
}

export function progress(label: string, total: number, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY) {
    return { update: () => {}, note: (m) => process.stderr.write(`${m}\n`), stop: () => {} };
  }
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {points} points | {speed} points/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0, { points: 0, speed: 0 });
  return {
    update: (value, points) => {
      const seconds = (performance.now() - started) / 1000;
      bar.update(value, { points, speed: seconds > 0 ? Math.round(points / seconds) : 0 });
    },
    note: (message) => process.stderr.write(`\r\x1b[K${message}\n`),
    stop: () => bar.stop(),
  };
}

/** The last line of import and export: how many points, how long, how fast, and the peak memory. */
export function summary(verb: string, points: number, target: string, startedMs: number): string {
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = seconds > 0 ? Math.round(points / seconds) : points;
  const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
  return `${verb} ${points} points ${target} in ${seconds.toFixed(2)} s (${rate} points/s, peak RSS ${peakMb} MB)`;
}

import cliProgress from 'cli-progress';

/** A progress bar on stderr, or nothing when stderr is not a terminal or --quiet was given. */
export interface Progress {
  update(value: number, points: number): void;
  /** A line above the bar (retries), so it is not overdrawn. */
  note(message: string): void;
  stop(): void;
}

const SILENT: Progress = { update: () => {}, note: (m) => process.stderr.write(`${m}\n`), stop: () => {} };

/** A bar for `total` units; `payload` names the figures after the bar from the value and the seconds so far. */
function bar(
  format: string,
  total: number,
  quiet: boolean,
  payload: (value: number, count: number, seconds: number) => Record<string, string | number>,
): Progress {
  if (quiet || !process.stderr.isTTY) return SILENT;
  const started = performance.now();
  const single = new cliProgress.SingleBar(
    { stream: process.stderr, format, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  single.start(Math.max(total, 1), 0, payload(0, 0, 0));
  return {
    update: (value, count) => single.update(value, payload(value, count, (performance.now() - started) / 1000)),
    note: (message) => process.stderr.write(`\r\x1b[K${message}\n`),
    stop: () => single.stop(),
  };
}

const perSecond = (amount: number, seconds: number) => (seconds > 0 ? amount / seconds : 0);

/** Import and export: the bar follows `value` (bytes read, or points), the figures count points. */
export function progress(label: string, total: number, quiet: boolean): Progress {
  return bar(
    `${label} {bar} {percentage}% | {points} points | {speed} points/s | ETA {eta_formatted}`,
    total,
    quiet,
    (_value, points, seconds) => ({ points, speed: Math.round(perSecond(points, seconds)) }),
  );
}

export const mebibytes = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** Snapshot downloads and uploads: bytes moved out of `total`. */
export function byteProgress(label: string, total: number, quiet: boolean): Progress {
  return bar(
    `${label} {bar} {percentage}% | {done}/{total_mb} MB | {speed} MB/s | ETA {eta_formatted}`,
    total,
    quiet,
    (bytes, _count, seconds) => ({
      done: mebibytes(bytes),
      total_mb: mebibytes(total),
      speed: mebibytes(perSecond(bytes, seconds)),
    }),
  );
}

/** The largest resident set of this process so far (maxRSS is in KiB). */
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** The last line of import and export: how many points, how long, how fast, and the peak memory. */
export function summary(verb: string, points: number, target: string, startedMs: number): string {
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = seconds > 0 ? Math.round(points / seconds) : points;
  return `${verb} ${points} points ${target} in ${seconds.toFixed(2)} s (${rate} points/s, peak RSS ${peakRssMb()} MB)`;
}

/** The last line of a snapshot download or upload: size, time, throughput and the peak memory. */
export function byteSummary(what: string, bytes: number, startedMs: number): string {
  const seconds = (performance.now() - startedMs) / 1000;
  return `${what} (${mebibytes(bytes)} MB) in ${seconds.toFixed(2)} s (${mebibytes(perSecond(bytes, seconds))} MB/s, peak RSS ${peakRssMb()} MB)`;
}

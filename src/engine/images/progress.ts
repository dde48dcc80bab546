// Docker's JSON progress messages (pull, push, load): the objects the docker CLI renders as
// progress bars, with the same `progress` text Docker puts beside `progressDetail`.

export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface ProgressMessage {
  status?: string;
  progressDetail?: ProgressDetail;
  progress?: string;
  id?: string;
  stream?: string;
  aux?: unknown;
  errorDetail?: { code?: number; message: string };
  error?: string;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Sizes as Docker prints them: decimal units, 4 significant digits (`3.645kB`, `264.3kB`, `29B`). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${DECIMAL_UNITS[i]}`;
}

const BAR_WIDTH = 50;

/** `[=====>      ]  3.645kB/264.3kB`, the bar Docker draws for a known total. */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(Math.floor(Math.floor((current / total) * 100) / 2), BAR_WIDTH);
  const box = `[${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled)}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return box + numbers;
}

/** A status line for one item (a layer: `id` is its short digest). */
export function statusMessage(status: string, id?: string): ProgressMessage {
  return id === undefined ? { status } : { status, progressDetail: {}, id };
}

/** `Downloading`/`Extracting` with bytes done out of a total. */
export function progressMessage(status: string, id: string, current: number, total: number): ProgressMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** An error in the middle of a stream: both forms, as clients check one or the other. */
export function errorMessage(message: string): ProgressMessage {
  return { errorDetail: { message }, error: message };
}

/** A layer's id in progress lines: the first 12 hex digits of its digest. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { StartJob, WorkerMessage } from '../jobs/protocol.ts';
import { asWorkerMessage } from '../jobs/protocol.ts';

/**
 * A cluster job's folder in the data folder (on the shared file system): how the host and a
 * worker on a node talk without either opening SQLite there. The host writes start.json;
 * the worker appends its reports, one JSON line each, to messages.jsonl (tensors go to the
 * blob folder beside them, as a local worker's do). A report counts once its line is
 * complete, so a worker killed mid-write leaves at most a partial line that no one reads.
 */

export interface JobFolderStart {
  start: StartJob;
  /** the data folder's blob store root */
  blobs: string;
  /**
   * messages.jsonl's size when this start was written: reports before it are already in
   * `start.resume`; a requeued worker resumes from those after it
   */
  logOffset: number;
}

export const startFile = (folder: string) => join(folder, 'start.json');
export const reportLog = (folder: string) => join(folder, 'messages.jsonl');

export interface Report {
  message: WorkerMessage;
  /** the log's size up to the end of this report's line */
  end: number;
}

/** The complete report lines of the log from byte `offset` on. */
export function readReports(folder: string, offset: number): Report[] {
  let fd: number;
  try {
    fd = openSync(reportLog(folder), 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return [];
    const bytes = Buffer.alloc(size - offset);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    const reports: Report[] = [];
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(10, start);
      if (nl < 0 || nl >= read) break;
      const line = bytes.subarray(start, nl).toString('utf8');
      start = nl + 1;
      if (line.trim() === '') continue;
      reports.push({ message: asWorkerMessage(JSON.parse(line)), end: offset + start });
    }
    return reports;
  } finally {
    closeSync(fd);
  }
}

/** Appends one report as one line (a single write, so lines never interleave). */
export function appendReport(folder: string, message: WorkerMessage) {
  appendFileSync(reportLog(folder), JSON.stringify(message) + '\n');
}

// bench/decode's results: what each reader measured and the report run.ts prints and writes as
// JSON (bench/all reads it to write BENCHMARKS.md).

import type { Dataset } from "./common.js";
import type { ProfileSummary } from "./cpuprofile.js";

export const READERS = ["raw", "verbose", "zongji", "transport", "sluice"] as const;
export type ReaderName = (typeof READERS)[number];

export const LABELS: Record<ReaderName, string> = {
  raw: "mariadb-binlog --raw",
  verbose: "mariadb-binlog --verbose",
  zongji: "@vlasky/zongji 0.9.0",
  transport: "sluice transport (no decode)",
  sluice: "sluice decoder (text values)",
};

export interface ReaderRun {
  reader: ReaderName;
  label: string;
  ok: boolean;
  error?: string;
  /** Row changes this reader reported (-1: it does not count; the dataset's count is used). */
  rowsCounted: number;
  rows: number;
  bytes: number;
  /** Seconds reading (in-process readers: connect to end, without process start-up). */
  seconds: number;
  /** The child's wall time, start-up included. */
  wallSeconds: number;
  rowsPerSec: number;
  mbPerSec: number;
  cpuSeconds: number;
  /** Row changes per CPU second of the reader: less sensitive to other work on the machine. */
  rowsPerCpuSecond: number;
  /** CPU used by the reader per second of reading: 1.0 = one core busy. */
  cores: number;
  serverCpuSeconds?: number;
  /**
   * CPU seconds used meanwhile by everything else on the machine (busy time of all cores minus
   * the reader's and mariadbd's): other work competing for the 2 cores skews the figures.
   */
  otherCpuSeconds?: number;
  maxRssMB: number;
  rssSamplesMB?: number[];
  notes: string[];
}

export interface Report {
  dataset: Dataset;
  machine: {
    cpus: number;
    node: string;
    measuredWith: string;
    loadAvgBefore: number[];
    loadAvgAfter: number[];
  };
  runs: ReaderRun[][];
  /** Per reader, its fastest run (other work on the machine can only slow a run down). */
  results: ReaderRun[];
  ratios: Record<string, number | null>;
  /** Per reader, the median rows/s of its successful runs. */
  medians: Record<string, number | null>;
  /** Each ratio computed within every round (readers that ran close in time), then the median. */
  medianRoundRatios: Record<string, number | null>;
  targets: Record<string, boolean | null>;
  profile?: { reader: string; summary: ProfileSummary };
  seconds: { generation: number | null; total: number };
}

/**
 * Preloaded into every measured child (`node --import <this file> …`): when the process exits, writes
 * `process.resourceUsage()` as JSON to the file named by BENCH_RUSAGE_FILE — user and system CPU in
 * µs and peak RSS (`maxRSS`, KB on Linux) of that process alone, measured by the kernel (getrusage).
 * This replaces /usr/bin/time, which CI images may lack, and measures the same thing on every platform.
 *
 * 'exit' handlers run on a normal end and on process.exit(); a process killed by a signal writes
 * nothing, and the benchmark reports its CPU and RSS as unknown.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.BENCH_RUSAGE_FILE;
if (target !== undefined && target !== '') {
  process.on('exit', () => {
    // Synchronous on purpose: nothing asynchronous runs once 'exit' has fired.
    writeFileSync(target, JSON.stringify(process.resourceUsage()));
  });
}

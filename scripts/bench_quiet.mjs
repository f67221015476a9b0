#!/usr/bin/env node
// `node scripts/bench_quiet.mjs LABEL`: waits for a quiet machine (scripts/bench_lib.mjs waitQuiet:
// at most BENCH_QUIET_WAIT_S seconds, default 0) and prints how busy it was; scripts/bench.sh calls
// it before each engine it times.
import os from 'node:os';
import { waitQuiet } from './bench_lib.mjs';

const label = process.argv[2] ?? '';
const { busy } = await waitQuiet({ label });
console.log(`  (${label ? label + ': ' : ''}machine ${(busy * 100).toFixed(0)} % busy over 1 s of ${os.cpus().length} cores before starting)`);

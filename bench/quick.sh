#!/usr/bin/env bash
# A quick look: bench/run.sh's smoke run (short runs, small data), printed only; docs/benchmarks.md is left
# alone. For the real table run `bash bench/run.sh` on a quiet machine. Any of run.sh's knobs apply.
exec env QUICK=1 OUT="${OUT:--}" bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"

// The benchmark suite's entry point (Google Benchmark).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();

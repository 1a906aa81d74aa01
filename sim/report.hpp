#pragma once
// Turning a run's results into numbers people read: a terminal table, JSON, a fingerprint.
//
// Everything here is a pure function of the scenario and the results, formatted with fixed
// precision, so equal runs print equal bytes. Wall-clock figures never enter it.

#include <cstdint>
#include <string>

#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

namespace hearsay::sim {

struct summary {
  std::uint32_t queries = 0;
  std::uint32_t succeeded = 0;
  double success_rate = 0;
  // Time to first hit over successful queries, microseconds (nearest-rank percentiles).
  std::int64_t first_hit_p50_us = 0, first_hit_p95_us = 0, first_hit_p99_us = 0;
  double first_hit_mean_us = 0;
  double hops_mean = 0;
  std::uint32_t hops_p50 = 0, hops_max = 0;
  double hits_mean = 0;
  double query_messages_mean = 0, hit_messages_mean = 0, duplicates_mean = 0;
  double reached_mean = 0, coverage_mean = 0;  // peers reached; as a fraction of all peers
  // Queries that got hits_wanted hits, and the time to that k-th hit over them.
  std::uint32_t succeeded_k = 0;
  std::int64_t kth_hit_p50_us = 0, kth_hit_p95_us = 0, kth_hit_p99_us = 0;
};

summary summarize(const scenario& s, const run_results& r);

// The human-readable report, ending with "fingerprint: <16 hex digits>".
std::string format_report(const scenario& s, const run_results& r);
// The same figures as one JSON object (plus the per-query records when `per_query`).
std::string format_json(const scenario& s, const run_results& r, bool per_query);

// FNV-1a 64 of text: cheap, stable, enough to tell two runs apart at a glance.
std::uint64_t fingerprint(const std::string& text);

}  // namespace hearsay::sim

#pragma once
// Turning a run's results into numbers people read: a terminal table, JSON, a fingerprint.
//
// Everything here is a pure function of the scenario and the results, formatted with fixed
// precision, so equal runs print equal bytes. Wall-clock figures never enter it.

#include <cstdint>
#include <string>
#include <utility>

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
  // Downloads (when the scenario has them), over the queries issued: how they ended; time to
  // file (search and download) over those done; bytes received and failovers over all;
  // each done download's rate (its file over its duration, from its start).
  std::uint32_t downloads_started = 0, downloads_done = 0, downloads_failed = 0, downloads_timed_out = 0,
                downloads_abandoned = 0, downloads_not_started = 0;
  std::int64_t file_p50_us = 0, file_p95_us = 0, file_p99_us = 0;
  double file_mean_us = 0;
  std::uint64_t download_bytes = 0, download_failovers = 0;
  double download_rate_mean_mbps = 0, download_rate_p50_mbps = 0, download_rate_p95_mbps = 0;
};

summary summarize(const scenario& s, const run_results& r);

// With an attack: the searches issued before the first Sybil joined, those issued from then
// on, and the share of each that found a hit.
struct attack_split {
  std::uint32_t before = 0, after = 0;
  double success_before = 0, success_after = 0;
};
attack_split split_by_attack(const scenario& s, const run_results& r);

// Whether the scenario's joins overlap (HyParView only), given how long a join takes to
// settle, about 2 x the median link latency x walk_length_active (a JOIN and its walk, and the
// answers on their way back), which goes to settle_ms. Joins every join_interval overlap when
// a peer joins sooner after the one before than that. Joins in proportion to the overlay's
// size (join_proportional) overlap where they meet: at a seed, which takes every join through
// it, when it takes the next before the last settled (join_interval x seeds at the end, the
// fastest); in the overlay, when the joins under way are more than joining_share_max of it.
// Such an overlay is built as a flash crowd, and its structure differs from one grown peer by
// peer.
inline constexpr double joining_share_max = 0.01;
bool joins_overlap(const scenario& s, double& settle_ms);
// How long the joins take: the virtual time from the first peer's start to the last's.
micros join_phase(const scenario& s);

// The searches issued in the interval of over-time sample i (until the next one), and how
// many of them found a hit.
std::pair<std::uint32_t, std::uint32_t> interval_queries(const run_results& r, std::size_t i);

// The human-readable report, ending with "fingerprint: <16 hex digits>".
std::string format_report(const scenario& s, const run_results& r);
// The same figures as one JSON object (plus the per-query records when `per_query`).
std::string format_json(const scenario& s, const run_results& r, bool per_query);

// FNV-1a 64 of text: cheap, stable, enough to tell two runs apart at a glance.
std::uint64_t fingerprint(const std::string& text);

}  // namespace hearsay::sim

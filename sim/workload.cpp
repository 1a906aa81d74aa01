// The simulator's workload (see simulator.hpp and the scenario's [workload] keys): the
// catalogue of files, how many copies of each are placed and on which peers, the schedule of
// searches, and the table from a search's id to its record.

#include "sim/simulator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "sim/distributions.hpp"

namespace hearsay::sim {

std::string file_name(std::uint32_t f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "file-%06u", f);
  return buf;
}

file_info catalogue_file(std::uint32_t f, std::uint64_t size) {
  file_info info;
  info.name = file_name(f);
  info.size = size;
  for (std::size_t b = 0; b < 4; ++b) info.sha256.bytes[b] = static_cast<std::uint8_t>(f >> (8 * b));
  info.sha256.bytes[31] = 0x5a;
  return info;
}

void simulator::place_files() {
  // Replica counts: the budget files x replication, spread by the strategy (Cohen & Shenker
  // 2002), each file getting at least one copy and at most one per peer.
  const zipf popularity(scenario_.files, scenario_.popularity_alpha);
  replicas_.assign(scenario_.files, scenario_.replication);
  if (scenario_.replication_strategy != scenario::replication_kind::uniform) {
    const bool sqrt_rule = scenario_.replication_strategy == scenario::replication_kind::square_root;
    double weight_sum = 0;
    for (std::uint32_t f = 0; f < scenario_.files; ++f) {
      weight_sum += sqrt_rule ? std::sqrt(popularity.probability(f)) : popularity.probability(f);
    }
    const double budget = static_cast<double>(scenario_.files) * scenario_.replication;
    for (std::uint32_t f = 0; f < scenario_.files; ++f) {
      const double w = sqrt_rule ? std::sqrt(popularity.probability(f)) : popularity.probability(f);
      const auto copies = static_cast<std::uint32_t>(std::llround(budget * w / weight_sum));
      replicas_[f] = std::clamp<std::uint32_t>(copies, 1, honest_peers());
    }
  }
  rng size_rng = rng::stream(scenario_.seed, stream_file_sizes);
  file_sizes_ = scenario_.file_size.draw_all(scenario_.files, size_rng);
  // Each file as peers share it, made once: placed now, and again on a churned peer's return.
  // Each file's record once, in a catalogue every peer's library names by id (the file's index):
  // 4 bytes a replica.
  catalogue_.clear();
  for (std::uint32_t f = 0; f < scenario_.files; ++f) {
    const file_id id = catalogue_.add(catalogue_file(f, file_sizes_[f]));
    HEARSAY_ASSERT(id == f);
  }
  holders_.assign(scenario_.files, {});
  // Rejection sampling of distinct peers, with a bit per peer (cleared after each file, so the
  // cost is that of the copies drawn, not of the peers; 1.25 MB at 10^7 peers, mostly in
  // cache). A file's holders are then listed in order: by sorting the draws, or, for a file on
  // more than one peer in 256, by reading the bits in order, which costs less than the sort
  // (10^8 copies on 10^7 peers: a sort took 8 s).
  std::vector<std::uint64_t> taken(honest_peers() / 64 + 1, 0);
  for (std::uint32_t f = 0; f < scenario_.files; ++f) {
    auto& holders = holders_[f];
    // Files are on honest peers (with an attack, Sybils hold none: they answer no query).
    const std::uint32_t copies = std::min(replicas_[f], honest_peers());
    holders.reserve(copies);
    while (holders.size() < copies) {
      const auto peer = static_cast<std::uint32_t>(workload_rng_.below(honest_peers()));
      std::uint64_t& word = taken[peer / 64];
      const std::uint64_t bit = std::uint64_t{1} << (peer % 64);
      if ((word & bit) != 0) continue;
      word |= bit;
      holders.push_back(peer);
    }
    if (copies >= honest_peers() / 256) {
      holders.clear();
      for (std::size_t w = 0; w < taken.size(); ++w) {
        for (std::uint64_t bits = taken[w]; bits != 0; bits &= bits - 1) {
          holders.push_back(static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits))));
        }
        taken[w] = 0;
      }
    } else {
      for (auto peer : holders) taken[peer / 64] = 0;
      std::sort(holders.begin(), holders.end());
    }
  }
  if (compact()) {
    compact_place();
    return;
  }
  std::vector<std::uint32_t> files_held(size(), 0);
  for (const auto& holders : holders_) {
    for (auto peer : holders) ++files_held[peer];
  }
  // Each holder's library: its files in catalogue order, in one allocation.
  for (std::uint32_t peer = 0; peer < size(); ++peer) {
    if (files_held[peer] == 0) continue;
    nodes_[peer]->files().share(catalogue_);
    nodes_[peer]->files().reserve(files_held[peer]);
  }
  for (std::uint32_t f = 0; f < scenario_.files; ++f) {
    for (auto peer : holders_[f]) nodes_[peer]->files().add(file_id{f});
  }
}

void simulator::plan_queries(micros first) {
  const zipf popularity(scenario_.files, scenario_.popularity_alpha);
  queries_.assign(scenario_.queries, {});
  for (auto& w : workers_) w->counts.assign(scenario_.queries, {});
  micros at = first;
  std::vector<micros> issue_times;
  if (compact()) issue_times.reserve(scenario_.queries);
  for (std::uint32_t k = 0; k < scenario_.queries; ++k) {
    query_record& r = queries_[k];
    // A random peer searching for a file it does not hold (people search for what they
    // lack), drawn by popularity; after a few tries any draw will do.
    r.origin = static_cast<std::uint32_t>(workload_rng_.below(honest_peers()));  // searchers are honest
    for (int attempt = 0; attempt < 32; ++attempt) {
      r.file = popularity.draw(workload_rng_);
      const auto& h = holders_[r.file];
      if (!std::binary_search(h.begin(), h.end(), r.origin)) break;
    }
    post_global(at, issue_query{k});
    if (compact()) issue_times.push_back(at);
    if (scenario_.poisson_arrivals) {
      at += micros{static_cast<std::int64_t>(
          std::llround(draw_exponential(workload_rng_, static_cast<double>(scenario_.query_interval.count()))))};
    } else {
      at += scenario_.query_interval;
    }
  }
  last_query_at_ = at;
  if (compact()) compact_prepare(issue_times);
}

void simulator::id_index::insert(query_id id, std::uint32_t index) {
  HEARSAY_ASSERT(id != 0);
  if (2 * (count_ + 1) > slots_.size()) {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(64, 2 * old.size()), slot{});
    mask_ = slots_.size() - 1;
    count_ = 0;
    for (const auto& s : old) {
      if (s.id != 0) insert(s.id, s.index);
    }
  }
  std::size_t i = id & mask_;
  while (slots_[i].id != 0 && slots_[i].id != id) i = (i + 1) & mask_;
  if (slots_[i].id == id) return;  // the first search with an id keeps it
  ++count_;
  slots_[i] = slot{id, index};
}

}  // namespace hearsay::sim

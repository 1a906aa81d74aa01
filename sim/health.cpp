// The simulator's measurements (see simulator.hpp): the shape of the honest overlay and the
// state of an attack, at any instant (the run samples them over time); the overlay's structure
// (clustering, hop distances) beside a random graph's, once, when the queries start; and at
// the end of a run the results: per-query counts folded in, the peers' stats summed, their load.

#include "sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <future>

#include "sim/adversary.hpp"

namespace hearsay::sim {

void simulator::collect_results(run_results& out) {
  // Fold in the counts each worker kept for its own peers.
  for (auto& w : workers_) {
    for (std::size_t k = 0; k < w->counts.size() && k < queries_.size(); ++k) {
      w->counts[k].add_to(queries_[k]);
      w->counts[k] = query_counts{};
    }
  }
  out.queries = queries_;
  // The peers' counters summed, and each running peer's load (messages received).
  std::vector<std::uint64_t> load;
  if (compact()) {
    compact_collect(out, load);
  } else {
    for (const auto& g : stats_groups_) out.totals += g.counters;
    for (std::uint32_t i = 0; i < honest_peers(); ++i) {
      if (running_[i]) load.push_back(nodes_[i]->messages_received());
    }
  }
  if (!load.empty()) {
    std::sort(load.begin(), load.end());
    out.load_min = load.front();
    out.load_max = load.back();
    out.load_p99 = load[std::min(load.size() - 1, load.size() * 99 / 100)];
    double sum = 0;
    for (auto v : load) sum += static_cast<double>(v);
    out.load_mean = sum / static_cast<double>(load.size());
  }
  out.events = events_processed();
  out.end = now_;
  out.queries_start = queries_start_;
  out.over_time = samples_;
  if (plan_.sybils() > 0) out.attack_end = measure_attack();
  if (swarm_ != nullptr) {
    out.sybil_messages = swarm_->messages_sent();
    out.sybil_queries_dropped = swarm_->queries_dropped();
  }
}

overlay_health simulator::measure_health() const {
  if (compact()) return compact_health();
  overlay_health h;
  const std::uint32_t n = size();
  std::vector<std::uint32_t> in_degree(n, 0);
  // Union-find over active links, taken as undirected.
  disjoint_sets components(n);
  std::uint64_t active_sum = 0, passive_sum = 0;
  h.active_min = ~0u;
  const std::uint32_t honest = honest_peers();
  for (std::uint32_t i = 0; i < honest; ++i) {
    if (!running_[i]) continue;
    ++h.peers_running;
    const auto active = nodes_[i]->members().active();
    const auto size_i = static_cast<std::uint32_t>(active.size());
    h.active_min = std::min(h.active_min, size_i);
    h.active_max = std::max(h.active_max, size_i);
    active_sum += size_i;
    passive_sum += nodes_[i]->members().passive().size();
    for (const auto& p : active) {
      std::uint32_t j = 0;
      if (!index_of(p, j) || j >= honest) continue;
      ++in_degree[j];
      if (!nodes_[j]->members().is_active(address_of(i))) ++h.links_asymmetric;
      components.unite(i, j);
    }
  }
  if (h.peers_running == 0) {
    h.active_min = 0;
    return h;
  }
  h.links_directed = active_sum;
  const double running = h.peers_running;
  h.active_mean = static_cast<double>(active_sum) / running;
  h.passive_mean = static_cast<double>(passive_sum) / running;
  std::vector<std::uint32_t> component_size(n, 0);
  h.in_degree_min = ~0u;
  double sq = 0;
  for (std::uint32_t i = 0; i < honest; ++i) {
    if (!running_[i]) continue;
    if (component_size[components.find(i)]++ == 0) ++h.components;
    h.in_degree_min = std::min(h.in_degree_min, in_degree[i]);
    h.in_degree_max = std::max(h.in_degree_max, in_degree[i]);
    sq += static_cast<double>(in_degree[i]) * in_degree[i];
  }
  h.largest_component = *std::max_element(component_size.begin(), component_size.end());
  h.in_degree_mean = static_cast<double>(active_sum) / running;
  h.in_degree_stddev = std::sqrt(std::max(0.0, sq / running - h.in_degree_mean * h.in_degree_mean));
  return h;
}

structure_comparison simulator::measure_structure(bool two_threads) const {
  // Clustering over 2,000 peers and distances from 32 sources: samples, so that the cost stays
  // a small part of a run's at any size (bench/HISTORY.md, "The overlay's structure").
  constexpr std::uint32_t clustering_samples = 2'000;
  constexpr std::uint32_t sources = 32;
  // The graph: a static topology's own (every peer runs on it from the start), or the running
  // honest peers' active views as undirected links, the peers renumbered in order.
  graph views;
  const graph* g = &graph_;
  if (!scenario_.topology.is_static()) {
    const std::uint32_t honest = honest_peers();
    std::vector<std::uint32_t> number(honest, ~0u);
    std::uint32_t count = 0;
    for (std::uint32_t i = 0; i < honest; ++i) {
      if (running_[i]) number[i] = count++;
    }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
    for (std::uint32_t i = 0; i < honest; ++i) {
      if (!running_[i]) continue;
      for (const auto& p : nodes_[i]->members().active()) {
        std::uint32_t j = 0;
        if (!index_of(p, j) || j >= honest || !running_[j]) continue;
        links.emplace_back(number[i], number[j]);
      }
    }
    views = graph::from_edges(count, links);
    g = &views;
  }
  // A stream of its own, so the measurement leaves every other draw of the run as it was. The
  // random graph's draws follow the overlay's sample's: with those skipped on a copy of the
  // stream, the two are measured at once, on two threads.
  rng random = rng::stream(scenario_.seed, stream_structure);
  rng after = random;
  skip_structure_draws(g->n, clustering_samples, sources, after);
  structure_comparison out;
  auto overlay = std::async(two_threads ? std::launch::async : std::launch::deferred,
                            [&] { return sample_structure(*g, clustering_samples, sources, random); });
  out.random = sample_structure(configuration_model(*g, after), clustering_samples, sources, after);
  out.overlay = overlay.get();
  return out;
}

attack_sample simulator::measure_attack() const {
  attack_sample a;
  if (plan_.sybils() == 0) return a;
  std::uint32_t with_active = 0, with_outbound = 0, with_passive = 0;
  double active_share = 0, outbound_share = 0, passive_share = 0;
  for (std::uint32_t i = 0; i < honest_peers(); ++i) {
    if (!running_[i]) continue;
    ++a.honest_running;
    const auto& m = nodes_[i]->members();
    std::uint32_t sybils = 0, outbound = 0, outbound_sybils = 0;
    for (const auto& p : m.active()) {
      const bool sybil = address_plan::is_sybil_address(p);
      sybils += sybil ? 1 : 0;
      if (m.is_outbound(p)) {
        ++outbound;
        outbound_sybils += sybil ? 1 : 0;
      }
    }
    if (m.active().empty()) {
      ++a.isolated;
    } else {
      ++with_active;
      active_share += static_cast<double>(sybils) / static_cast<double>(m.active().size());
      if (sybils == m.active().size()) ++a.eclipsed;
    }
    if (outbound > 0) {
      ++with_outbound;
      outbound_share += static_cast<double>(outbound_sybils) / outbound;
    }
    std::uint32_t passive_sybils = 0;
    for (const auto& p : m.passive()) passive_sybils += address_plan::is_sybil_address(p) ? 1u : 0u;
    if (!m.passive().empty()) {
      ++with_passive;
      passive_share += static_cast<double>(passive_sybils) / static_cast<double>(m.passive().size());
    }
    a.sybil_passive_max = std::max(a.sybil_passive_max, passive_sybils);
  }
  a.sybil_active_share = with_active == 0 ? 0 : active_share / with_active;
  a.sybil_outbound_share = with_outbound == 0 ? 0 : outbound_share / with_outbound;
  a.sybil_passive_share = with_passive == 0 ? 0 : passive_share / with_passive;
  return a;
}

}  // namespace hearsay::sim

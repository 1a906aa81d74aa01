// The simulator's set-up and its run from start to end (see simulator.hpp): the peers, their
// workers and the static graph made once, the overlay built by joins, then the phases of a run.
// The event loop is in engine.cpp and workers.cpp, faults in faults.cpp, the files and queries
// in workload.cpp, the measurements in health.cpp.

#include "sim/simulator.hpp"

#include <algorithm>
#include <future>

#include "overlay/strategy.hpp"
#include "sim/adversary.hpp"
#include "sim/compact.hpp"
#include "sim/downloads.hpp"
#include "sim/processors.hpp"

namespace hearsay::sim {

result<std::unique_ptr<simulator>> simulator::create(const scenario& s) {
  if (s.engine == scenario::engine_kind::compact) {
    if (const char* why = compact_refusal(s)) return failure(std::string("engine = compact: ") + why);
  }
  auto g = make_graph(s);
  if (!g) return g.error();
  return std::unique_ptr<simulator>(new simulator(s, std::move(*g)));
}

micros simulator::copies_span(const scenario& s) {
  const search_config& cfg = s.node.search;
  const search_strategy& row = strategy_of(cfg);
  const auto ttl = static_cast<std::int64_t>(std::min(cfg.*row.ttl, cfg.*row.ttl_max));
  micros waits{0};
  if (&row == &expanding_ring_strategy && ttl > 1) waits = cfg.ring_wait_per_hop * (ttl * (ttl - 1) / 2);
  if (row.walker && cfg.walk_check_hops > 0) {
    // A walker waits at most once every walk_check_hops hops, each time until its relay hears
    // from the origin (a round trip; an answer later than walk_check_timeout finds the walkers
    // gone) or stops waiting.
    const micros park = std::min(cfg.walk_check_timeout, s.latency.maximum() * 2);
    waits = park * (ttl / cfg.walk_check_hops);
  }
  // (Every message crosses one link in at most the latency model's maximum: the engines
  // deliver it at its send time plus one link's latency, or not at all.)
  return waits + s.latency.maximum() * ttl;
}

micros simulator::search_span(const scenario& s) {
  // The copies, then the hits back along the reverse path, at most as many hops as the copies
  // took.
  const search_config& cfg = s.node.search;
  const search_strategy& row = strategy_of(cfg);
  return copies_span(s) + s.latency.maximum() * std::int64_t{std::min(cfg.*row.ttl, cfg.*row.ttl_max)};
}

const char* simulator::dup_cache_refusal(const scenario& s) {
  const search_config& cfg = s.node.search;
  // Sybils may send a search's id again at any time, long after its own messages.
  if (sybil_count(s) > 0) return "an attack may replay query ids";
  // A duplicate cache forgets an id only when it expires or when the cache is full. Neither
  // may happen while the search can still reach the peer: its copies and its hits back.
  const micros span = search_span(s);
  if (span >= cfg.dup_cache_lifetime) return "a search's messages may outlast overlay.dup_cache_lifetime_ms";
  // Ids alive at once at one peer: at most the searches issued within one lifetime and span
  // (the workload's searches are the only ones: downloads fetch from their hits).
  if (s.queries >= cfg.dup_cache_capacity) {
    if (s.poisson_arrivals || s.query_interval.count() == 0) {
      return "more searches than overlay.dup_cache_capacity, at random times";
    }
    const std::int64_t alive = (cfg.dup_cache_lifetime + span).count() / s.query_interval.count() + 1;
    if (alive >= cfg.dup_cache_capacity) return "more searches alive at once than overlay.dup_cache_capacity";
  }
  return nullptr;
}

simulator::simulator(const scenario& s)
    : simulator(s, [&s] {
        auto g = make_graph(s);
        HEARSAY_ASSERT(g.ok());
        return std::move(*g);
      }()) {}

result<graph> simulator::make_graph(const scenario& s) {
  if (!s.topology.is_static()) return graph{};
  rng topology_rng = rng::stream(s.seed, stream_topology);
  return build_graph(s.topology, s.peers, topology_rng);
}

simulator::simulator(const scenario& s, graph static_graph)
    : scenario_(s),
      plan_(s.peers, std::min(sybil_count(s), s.peers), s.attack.sybil_groups),
      first_adversary_(plan_.sybils() > 0 && s.attack.behaviour != scenario::attack_settings::behaviour_kind::honest
                           ? plan_.first_sybil()
                           : s.peers),
      node_config_(s.node),
      workload_rng_(rng::stream(s.seed, stream_workload)),
      graph_(std::move(static_graph)),
      fault_rng_(rng::stream(s.seed, stream_faults)) {
  node_config_.membership.repair = s.repair;
  node_config_.search.hits_wanted = s.hits_wanted;
  // Once a search's messages are all delivered, nothing reads what the duplicate caches keep
  // of it (dup_cache_refusal), yet they would keep it for the whole configured lifetime (two
  // minutes by default): a peer that a run's searches reach holds a slot for each of them,
  // most of a 10^5-peer flood run's memory. So the peers' caches forget an id just after the
  // longest a search's messages may take: the same results from smaller tables.
  if (s.trim_dup_lifetime && dup_cache_refusal(s) == nullptr) node_config_.search.dup_cache_lifetime = search_span(s) + micros{1};
  HEARSAY_ASSERT(s.engine != scenario::engine_kind::compact || compact_refusal(s) == nullptr);
  const bool compact = s.engine != scenario::engine_kind::nodes && compact_refusal(s) == nullptr;
  node_config_.seeds.clear();
  for (std::uint32_t i = 0; i < std::min(s.seed_count, s.peers); ++i) node_config_.seeds.push_back(address_of(i));
  running_.assign(s.peers, 0);
  // Workers: as many as asked for, never more than peers, and one when windows would be too
  // short to pay for their hand-offs (a latency model whose minimum is under 100 us, or zero
  // as for the lognormal). Unless asked, one per processor this process may use from 20,000
  // peers on (sim/processors.hpp); below that the windows hold too few events to gain from a
  // second thread (bench/HISTORY.md).
  lookahead_ = s.latency.minimum();
  unsigned threads = s.threads;
  // (At most 63: a queue names at most 63 other slabs, sim/event_queue.hpp.)
  if (threads == 0) threads = s.peers >= 20'000 ? std::min(usable_processors(), 63u) : 1;
  threads = std::min<unsigned>(threads, std::max<std::uint32_t>(1, s.peers));
  if (lookahead_ < micros{100}) threads = 1;
  HEARSAY_ASSERT(threads < 64);
  if (compact) {
    // No nodes: peers are the compact engine's few words each, run by its own workers. The
    // node engine's worker list holds one idle worker (the plan's per-query counts).
    compact_build(threads);
    set_worker_count(1);
    auto w = std::make_unique<worker>();
    w->outbox[0].resize(1);
    w->outbox[1].resize(1);
    w->slabs.resize(1);
    workers_.push_back(std::move(w));
    return;
  }
  incarnation_.assign(s.peers, 0);
  static_assert(sizeof(peer_host) == 32 && alignof(peer_host) == 32);
  hosts_.reserve(s.peers);  // nodes keep references to their hosts: no reallocation
  for (std::uint32_t i = 0; i < s.peers; ++i) hosts_.emplace_back(*this, i);
  // The seeds in pairs, within the first block (beyond it, blocks spread them anyway); the
  // counters' sets follow the same units (stats_of_unit).
  seeds_spread_ = std::min<std::uint32_t>(std::uint32_t{1} << block_log2, (std::min(s.seed_count, s.peers) + 1) & ~1u);
  stats_groups_.resize((seeds_spread_ >> 1) + ((s.peers + (1u << block_log2) - 1) >> block_log2));
  // Building a node is mostly the first touch of its 896 bytes, and memory touched for the first
  // time can cost milliseconds per MiB on a virtual machine (bench/HISTORY.md): the workers'
  // threads build a share each. Each node's state depends only on its index, so the result is
  // the same.
  nodes_.allocate(s.peers);
  auto build_nodes = [this, &s](std::uint32_t first, std::uint32_t last) {
    for (std::uint32_t i = first; i < last; ++i) {
      const std::uint64_t node_seed = rng::stream(s.seed, stream_peers + i).next();
      nodes_.build(i, node_config_, address_of(i), node_seed, hosts_[i], stats_of_unit(i));
    }
  };
  {
    std::vector<std::thread> builders;
    const std::uint32_t share = (s.peers + threads - 1) / threads;
    for (unsigned k = 1; k < threads; ++k) {
      const std::uint32_t first = std::min(s.peers, k * share);
      builders.emplace_back(build_nodes, first, std::min(s.peers, first + share));
    }
    build_nodes(0, std::min(s.peers, share));
    for (auto& t : builders) t.join();
  }
  for (unsigned k = 0; k < threads; ++k) {
    auto w = std::make_unique<worker>();
    w->index = k;
    w->outbox[0].resize(threads);
    w->outbox[1].resize(threads);
    w->slabs.resize(threads);
    for (unsigned d = 0; d < threads; ++d) {
      if (d != k) w->slabs[d] = std::make_unique<slab<event>>();
    }
    workers_.push_back(std::move(w));
  }
  // Worker k's queue knows worker s's slab for it as source s + 1.
  for (auto& w : workers_) {
    for (auto& from : workers_) w->queue.add_source(from->slabs[w->index].get());
  }
  set_worker_count(threads);
  assign_hosts();
  if (first_adversary_ < s.peers) {
    swarm_ = std::make_unique<sybil_swarm>(plan_, node_config_.membership, s.seed_count, s.seed,
                                           s.attack.behaviour == scenario::attack_settings::behaviour_kind::flood);
  }
  if (downloads_enabled(s)) {
    downloads_ = std::make_unique<download_world>(
        s, rng::stream(s.seed, stream_capacities).next(), running_, catalogue_, queries_,
        [this](std::uint32_t a, std::uint32_t b) { return link_latency(a, b); });
  }
  for (unsigned k = 1; k < threads; ++k) helpers_.emplace_back([this, k] { helper_loop(k); });
}

void simulator::node_array::allocate(std::size_t n) {
  HEARSAY_ASSERT(slots_ == nullptr);
  // Huge pages where they pay (sim/huge_pages.hpp): the nodes are most of what an event reads,
  // at random.
  static_assert(alignof(node) <= 64);
  storage_ = memory_block(n * sizeof(node));
  slots_ = static_cast<node*>(storage_.data());
  size_ = n;
}

simulator::node_array::~node_array() {
  for (std::size_t i = 0; i < size_; ++i) (*this)[i]->~node();
}

simulator::~simulator() {
  stop_helpers();
  compact_stop();
  // A structure still being measured reads the graph, which goes before compact_ does.
  if (compact_ != nullptr && compact_->structure.valid()) compact_->structure.wait();
  // Pending events may live in other workers' slabs: destroy them all before any slab goes.
  take_all_incoming();
  for (auto& w : workers_) w->queue.clear();
}

std::span<const peer_addr> simulator::active_of(std::uint32_t i) const {
  return adversary(i) ? swarm_->links(i) : nodes_[i]->members().active();
}

void simulator::build_overlay() {
  HEARSAY_ASSERT(!built_);
  built_ = true;
  if (compact()) {
    std::fill(running_.begin(), running_.end(), 1);
    return;
  }
  if (scenario_.topology.is_static()) {
    // A fixed graph: every peer starts at once on its neighbours; there is nothing to settle.
    std::vector<peer_addr> neighbours;
    for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
      neighbours.clear();
      for (auto j : graph_.neighbours(i)) neighbours.push_back(address_of(j));
      running_[i] = 1;
      nodes_[i]->start_static(now_, neighbours);
    }
    return;
  }
  const std::uint32_t early = honest_peers() - late_joiners();
  micros at = now_;
  for (std::uint32_t i = 0; i < early; ++i) {
    if (i > 0) at += join_gap(scenario_, i);
    worker_of(i).queue.push(at, next_global_key(), start_peer{i});
  }
  const micros last_join = at;
  run_until(last_join + scenario_.stabilize);
}

run_results simulator::run() {
  build_overlay();
  run_results out;
  if (compact()) {
    // A fixed graph's structure does not change: measured on a thread of its own while the
    // files are placed and the searches run (at 10^7 peers it takes as long as they do).
    compact_->structure = std::async(std::launch::async, [this] { return measure_structure(false); });
  } else {
    out.health = measure_health();
    out.structure = measure_structure();
  }
  place_files();
  const micros first = now_;
  plan_faults(first);
  plan_queries(first);
  const bool faults = scenario_.crash_fraction > 0 || scenario_.leave_fraction > 0 || scenario_.sessions ||
                      scenario_.join_fraction > 0 || scenario_.partition_duration.count() > 0 ||
                      plan_.sybils() > 0;
  micros interval = scenario_.report_interval;
  if (interval.count() == 0 && faults) interval = micros{10'000'000};
  if (interval.count() > 0) {
    const micros end = last_query_at_ + scenario_.node.search.query_timeout;
    for (micros t = first; t <= end; t += interval) post_global(t, fault{fault::kind::sample, 0});
  }
  // Long enough for every query's timeout to pass and its last hits to arrive.
  run_until(last_query_at_ + scenario_.node.search.query_timeout + micros{1'000'000});
  if (downloads_ != nullptr) {
    // Then on, a second at a time, while downloads run; none outlasts its timeout.
    const micros deadline = last_query_at_ + scenario_.download.timeout + micros{1'000'000};
    while (downloads_->busy() && now_ < deadline) run_until(std::min(deadline, now_ + micros{1'000'000}));
  }
  stop_helpers();  // nothing runs in parallel after this
  compact_stop();
  if (compact()) {
    out.health = measure_health();  // (nor does its health)
    out.structure = compact_->structure.get();
  }
  collect_results(out);
  return out;
}

}  // namespace hearsay::sim

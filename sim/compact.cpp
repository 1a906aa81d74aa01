// The compact engine: a run on a fixed graph with peers of a few words each.
//
// On a fixed graph a peer's node is mostly state that such a run never uses (views, timers,
// a duplicate cache sized for a deployment) and 1.2 KB of it, which at 10^6-10^7 peers is
// what the run's time and memory go to. Here a peer is a 16-byte record (where its
// neighbours are, its event count, its load) and its random stream; the graph is the static
// one (compressed rows, 4 bytes a link end); a peer's library is its place among each file's
// holders (the catalogue is stored once), and a search marks the peers holding what it asks
// for. What a peer remembers of a search (the duplicate cache's entry: best TTL, upstream,
// hits relayed) is kept with the search, in a table per worker that lives while the search
// has messages in flight, and walkers parked at a relay wait in a table of their worker.
// Peers are dealt to worker threads as the node engine deals them, and run in windows of
// the minimum link latency. Events are keyed as the node engine keys them ((peer + 1) << 32 |
// the peer's count), each peer draws from its node's random stream in the same order, and
// the relay rules below are those of overlay/search.cpp and the strategies' files, step by
// step: the results are the same, byte for byte (tests/sim/compact_test.cpp runs both
// engines on a range of scenarios and compares their reports).
//
// What the engine leaves out, it proves cannot matter, or it declines the run
// (compact_refusal): a duplicate cache never forgets a live search (its lifetime outlasts a
// search's messages, its capacity the searches alive at once), and the neighbours' query
// budgets are kept per link end only when the query schedule could make one bind (a proof
// over the schedule, compact_prepare). Runs it declines (HyParView, direct replies, downloads,
// crashes and churn, attacks, the wire codec, a network tap) run on nodes.
//
// Mirroring the relay rules here rather than driving the strategies' own functions keeps
// those functions on peer addresses, which the real node needs; a strategy added to the
// table runs on nodes until it is added here too (compact_refusal names it).

#include "sim/compact.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "overlay/library.hpp"
#include "overlay/prefetch.hpp"
#include "overlay/small_vector.hpp"
#include "overlay/strategy.hpp"
#include "sim/downloads.hpp"
#include "sim/spin_wait.hpp"

namespace hearsay::sim {

namespace {

// How many copies of one search may cross one link in one direction: a TTL ball's relay sends
// a copy on only with more TTL than before (so at most ttl), a walker may cross a link at
// every one of its hops.
std::uint64_t copies_per_link(const search_config& cfg, const search_strategy& row) {
  const std::uint64_t ttl = std::min(cfg.*row.ttl, cfg.*row.ttl_max);
  return row.walker ? ttl * std::max<std::uint32_t>(1, cfg.walkers) : ttl;
}

std::size_t home_of(std::uint32_t peer, std::size_t mask) {
  return static_cast<std::size_t>((std::uint64_t{peer} * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
}

}  // namespace

// ---- a search's visits -------------------------------------------------------------------------

simulator::compact_world::visit* simulator::compact_world::visit_table::find(std::uint32_t peer) {
  if (slots.empty()) return nullptr;
  const std::size_t mask = slots.size() - 1;
  for (std::size_t i = home_of(peer, mask);; i = (i + 1) & mask) {
    if (slots[i].peer == peer) return &slots[i];
    if (slots[i].peer == visit::empty) return nullptr;
  }
}

simulator::compact_world::visit& simulator::compact_world::visit_table::find_or_insert(
    std::uint32_t peer, std::uint32_t upstream, std::uint8_t ttl, bool& found, std::size_t first_size) {
  if (2 * (std::size_t{count} + 1) > slots.size()) {
    std::vector<visit> old(std::max<std::size_t>(std::max<std::size_t>(64, first_size), 2 * slots.size()));
    old.swap(slots);
    const std::size_t mask = slots.size() - 1;
    for (const visit& v : old) {
      if (v.peer == visit::empty) continue;
      std::size_t i = home_of(v.peer, mask);
      while (slots[i].peer != visit::empty) i = (i + 1) & mask;
      slots[i] = v;
    }
  }
  const std::size_t mask = slots.size() - 1;
  std::size_t i = home_of(peer, mask);
  while (slots[i].peer != visit::empty) {
    if (slots[i].peer == peer) {
      found = true;
      return slots[i];
    }
    i = (i + 1) & mask;
  }
  found = false;
  ++count;
  visit& v = slots[i];
  v.peer = peer;
  v.upstream = upstream;
  v.ttl_best = ttl;
  v.hits_relayed = 0;
  return v;
}

// ---- which runs ------------------------------------------------------------------------------

const char* simulator::compact_refusal(const scenario& s) {
  if (!s.topology.is_static()) return "the overlay is built by HyParView joins, which needs whole nodes";
  const search_config& cfg = s.node.search;
  const search_strategy& row = strategy_of(cfg);
  if (&row != &flood_strategy && &row != &gossip_strategy && &row != &expanding_ring_strategy &&
      &row != &random_walk_strategy) {
    return "this strategy has no compact form yet";
  }
  if (cfg.reply_direct) return "direct replies spend each holder's budget for named addresses, which needs whole nodes";
  if (s.wire_codec) return "every message goes through the wire codec, which needs whole nodes";
  if (downloads_enabled(s)) return "downloads need whole nodes";
  if (s.crash_fraction > 0 || s.leave_fraction > 0 || s.sessions || s.join_fraction > 0) {
    return "crashes, leaves and churn need whole nodes";
  }
  if (sybil_count(s) > 0) return "an attack needs whole nodes";
  if (s.files > 0 && file_name(s.files - 1).size() > cfg.criteria_bytes_max) {
    return "file names longer than overlay.criteria_bytes_max are cut short by the origin, which needs whole nodes";
  }
  if (const char* why = dup_cache_refusal(s)) return why;
  return nullptr;
}

// ---- set-up ----------------------------------------------------------------------------------

void simulator::compact_build(unsigned threads) {
  compact_ = std::make_unique<compact_world>();
  compact_world& c = *compact_;
  const std::uint32_t n = scenario_.peers;
  c.random.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) c.random[i] = rng(rng::stream(scenario_.seed, stream_peers + i).next());
  c.peers.resize(n);
  HEARSAY_ASSERT(graph_.targets.size() <= std::numeric_limits<std::uint32_t>::max());
  for (std::uint32_t i = 0; i < n; ++i) {
    c.peers[i].first = static_cast<std::uint32_t>(graph_.offsets[i]);
    c.peers[i].degree = graph_.degree(i);
  }
  c.lookahead = scenario_.latency.minimum();
  for (unsigned k = 0; k < threads; ++k) {
    auto w = std::make_unique<compact_worker>();
    w->index = k;
    w->outbox[0].resize(threads);
    w->outbox[1].resize(threads);
    c.workers.push_back(std::move(w));
  }
  c.worker_mask = (threads & (threads - 1)) == 0 ? threads - 1 : ~0u;
  for (unsigned k = 1; k < threads; ++k) c.helpers.emplace_back([this, k] { compact_helper(k); });
}

simulator::compact_worker& simulator::compact_worker_of(std::uint32_t i) const {
  // Blocks of 64 peers (1 KB of records), dealt to the workers in turn.
  const compact_world& c = *compact_;
  const std::uint32_t unit = i >> 6;
  const auto count = static_cast<std::uint32_t>(c.workers.size());
  return *c.workers[c.worker_mask != ~0u ? unit & c.worker_mask : unit % count];
}

void simulator::compact_stop() {
  if (compact_ == nullptr || compact_->helpers.empty()) return;
  compact_world& c = *compact_;
  c.stopping.store(true, std::memory_order_release);
  c.generation.fetch_add(1, std::memory_order_acq_rel);
  c.generation.notify_all();
  for (auto& t : c.helpers) t.join();
  c.helpers.clear();
}

void simulator::compact_place() {
  // A peer's library is its place among the holders of each file (holders_, sorted): the
  // catalogue is shared, and a search asks "does p hold f" of one file's list.
  compact_world& c = *compact_;
  c.matches.assign(scenario_.files, {});
  c.matches_made.assign(scenario_.files, 0);
}

void simulator::compact_prepare(const std::vector<micros>& issue_times) {
  compact_world& c = *compact_;
  c.searches.assign(queries_.size(), {});
  for (auto& w : c.workers) {
    w->counts.assign(queries_.size(), {});
    w->visits.assign(queries_.size(), {});
    w->in_flight.assign(queries_.size(), 0);
  }
  const search_config& cfg = node_config_.search;
  const std::uint32_t rate = cfg.queries_per_neighbor_per_s;
  if (rate == 0) return;  // no budgets
  // A neighbour's budget (overlay/token_bucket.hpp: `burst` tokens, `rate` a second) never
  // runs dry when, over every interval of time, the copies it is asked to pass are at most
  // burst + rate x the interval. A neighbour passes a search's copies over one link at most
  // once per distinct TTL (a copy goes on again only with more TTL than before), so at most
  // `ttl` copies (a walker: one a hop, copies_per_link), all within copies_span of the
  // search's issue. For searches i..j issued in order, the copies they can put on one link
  // within an interval number at most ttl x (j - i + 1), and that interval is at least
  // t_j - t_i - span long. When that bound
  // holds for every i <= j no budget can refuse a copy, and none is kept; else each link end
  // keeps its budget, as a node does.
  const search_strategy& row = strategy_of(cfg);
  const std::uint64_t ttl = copies_per_link(cfg, row);
  const std::int64_t span = copies_span(scenario_).count();
  const std::uint64_t burst = std::max<std::uint32_t>(1, cfg.queries_per_neighbor_burst);
  const std::size_t n = issue_times.size();
  bool proven = true;
  std::uint64_t work = 0;
  for (std::size_t i = 0; i < n && proven; ++i) {
    // Fewer than burst / ttl searches fit the burst alone.
    for (std::size_t j = i + burst / ttl; j < n; ++j) {
      const std::uint64_t copies = ttl * (j - i + 1);
      const std::int64_t gap = std::max<std::int64_t>(0, (issue_times[j] - issue_times[i]).count() - span);
      // tokens are counted in millionths: rate per second = rate millionths per microsecond
      const long double allowance = static_cast<long double>(burst) + static_cast<long double>(rate) * gap / 1e6L;
      if (static_cast<long double>(copies) > allowance) {
        proven = false;
        break;
      }
      // Once the gap alone covers every search left, later ones cannot fail either.
      if (static_cast<long double>(ttl * (n - i)) <= allowance) break;
      if (++work > 50'000'000) {
        proven = false;  // too long to prove: keep the budgets
        break;
      }
    }
  }
  if (!proven) c.budgets.assign(graph_.targets.size(), token_state{});
}

// ---- sending ---------------------------------------------------------------------------------

void simulator::compact_send(compact_worker& w, std::uint32_t from, std::uint32_t to, const compact_world_event& e) {
  compact_world& c = *compact_;
  HEARSAY_ASSERT(c.peers[from].scheduled < UINT32_MAX);
  const std::uint64_t key = (std::uint64_t{from} + 1) << 32 | c.peers[from].scheduled++;
  const micros latency = link_latency(from, to);
  if (scenario_.loss > 0 && lost(key)) return;
  if (scenario_.partition_duration.count() != 0 && partitioned(from, to, w.now)) return;
  ++w.in_flight[e.record];
  const micros at = w.now + latency;
  compact_worker& dest = compact_worker_of(to);
  if (&dest == &w || !c.in_window) {
    dest.queue.push(at, key, e);
  } else {
    auto& o = w.outbox[c.parity][dest.index].emplace_back();
    o.at = at;
    o.key = key;
    o.e = e;
    w.outbox_earliest[c.parity] = std::min(w.outbox_earliest[c.parity], at);
  }
}

void simulator::compact_timer(compact_worker& w, std::uint32_t peer, compact_event_kind what, std::uint32_t record,
                              micros at) {
  compact_world& c = *compact_;
  const std::uint64_t key = (std::uint64_t{peer} + 1) << 32 | c.peers[peer].scheduled++;
  compact_world::event e;
  e.to = peer;
  e.from = peer;
  e.record = record;
  e.what = what;
  if (what == compact_world::kind::step || what == compact_world::kind::park_timeout) ++w.in_flight[record];
  w.queue.push(at, key, e);
}

// searcher::pass_to, from peer p to neighbour `to`.
void simulator::compact_pass(compact_worker& w, std::uint32_t p, std::uint32_t to, std::uint32_t record,
                             std::uint8_t ttl, std::uint8_t hops) {
  ++w.stats.queries_forwarded;
  ++w.stats.messages_sent;
  ++w.counts[record].query_messages;
  compact_world::event e;
  e.to = to;
  e.from = p;
  e.record = record;
  e.what = compact_world::kind::copy;
  e.ttl = ttl;
  e.hops = hops;
  compact_send(w, p, to, e);
}

// How a copy leaves peer p: strategy_parts::to_fanout (every origin's first copies, and relays
// of floods and expanding rings) or gossip's pass_on (relays of gossip).
void simulator::compact_pass_on(compact_worker& w, std::uint32_t p, std::uint32_t except, std::uint32_t record,
                                std::uint8_t ttl, std::uint8_t hops, bool relay) {
  compact_world& c = *compact_;
  const search_config& cfg = node_config_.search;
  const std::span<const std::uint32_t> neighbours(graph_.targets.data() + c.peers[p].first, c.peers[p].degree);
  if (relay && strategy_of(cfg).mode == query_mode::gossip) {
    for (const std::uint32_t q : neighbours) {
      if (q == except) continue;
      if (c.random[p].below(100) < cfg.gossip_percent) compact_pass(w, p, q, record, ttl, hops);
    }
    return;
  }
  small_vector<std::uint32_t, 8> targets;
  for (const std::uint32_t q : neighbours) {
    if (q != except) targets.push_back(q);
  }
  std::size_t n = targets.size();
  const std::uint32_t fanout = cfg.fanout;
  if (n > fanout) {
    for (std::size_t i = 0; i < fanout; ++i) {
      const auto j = i + static_cast<std::size_t>(c.random[p].below(n - i));
      std::swap(targets[i], targets[j]);
    }
    n = fanout;
  }
  for (std::size_t i = 0; i < n; ++i) compact_pass(w, p, targets[i], record, ttl, hops);
}

void simulator::compact_mark_holders(std::uint32_t record) {
  compact_world& c = *compact_;
  const std::uint32_t f = queries_[record].file;
  if (c.matches_made[f] == 0) {
    // What the query's criteria match in the catalogue, by the libraries' own rule.
    const criteria wanted = criteria::parse(file_name(f));
    for (file_id id = 0; id < catalogue_.size(); ++id) {
      if (catalogue_.matches(id, wanted)) c.matches[f].push_back(id);
    }
    c.matches_made[f] = 1;
  }
  // A peer's library holds a match when it is among a matching file's holders.
  auto& bits = c.searches[record].holders;
  bits.assign(size() / 64 + 1, 0);
  for (const file_id id : c.matches[f]) {
    for (const std::uint32_t p : holders_[id]) bits[p / 64] |= std::uint64_t{1} << (p % 64);
  }
}

// ---- the origin ------------------------------------------------------------------------------

void simulator::compact_issue(std::uint32_t k) {
  compact_world& c = *compact_;
  query_record& r = queries_[k];
  compact_world::search& s = c.searches[k];
  const search_config& cfg = node_config_.search;
  const search_strategy& row = strategy_of(cfg);
  const std::uint32_t o = r.origin;
  compact_worker& w = compact_worker_of(o);
  r.issued = now_;
  // searcher::start. Its node redraws an id it knows; here every id of the run counts as
  // known (the same unless two 64-bit draws collide).
  query_id id = 0;
  while (id == 0 || query_index_.find(id) != id_index::none) id = c.random[o].next();
  r.id = id;
  query_index_.insert(id, k);
  ++w.stats.queries_originated;
  s.open = true;
  c.live.push_back(k);
  compact_mark_holders(k);
  std::uint8_t ttl = std::min(cfg.*row.ttl, cfg.*row.ttl_max);
  micros extra_wait{0};
  if (&row == &expanding_ring_strategy && ttl > 1) {
    // strategy_ring.cpp's start: the nearest ring first, a step timer to widen it.
    s.stage_last = ttl;
    s.stage = 1;
    compact_timer(w, o, compact_world::kind::step, k, now_ + cfg.ring_wait_per_hop);
    extra_wait = cfg.ring_wait_per_hop * (ttl * (ttl - 1) / 2);
    ttl = 1;
  }
  // searcher::launch: the origin remembers the id, and closes the search in time.
  bool found = false;
  w.visits[k].find_or_insert(o, o, ttl, found, w.visits_hint);
  compact_timer(w, o, compact_world::kind::timeout, k, now_ + cfg.query_timeout + extra_wait);
  if (row.walker) {
    // strategy_walk.cpp's start: k walkers, each to a random neighbour.
    for (std::uint32_t j = 0; j < cfg.walkers; ++j) compact_walk_on(w, o, compact_world::visit::empty, k, ttl, 1);
  } else {
    compact_pass_on(w, o, compact_world::visit::empty, k, ttl, 1, false);
  }
}

// ---- events ----------------------------------------------------------------------------------

void simulator::compact_dispatch(compact_worker& w, const compact_world_event& e) {
  compact_world& c = *compact_;
  const search_config& cfg = node_config_.search;
  switch (e.what) {
    case compact_world::kind::copy:
      --w.in_flight[e.record];
      compact_copy(w, e);
      break;
    case compact_world::kind::hit:
      --w.in_flight[e.record];
      compact_hit(w, e);
      break;
    case compact_world::kind::timeout:
      c.searches[e.record].open = false;  // searcher::on_timer (query_timeout)
      break;
    case compact_world::kind::check:
    case compact_world::kind::status:
    case compact_world::kind::park_timeout:
      --w.in_flight[e.record];
      compact_walk_event(w, e);
      break;
    case compact_world::kind::step: {
      --w.in_flight[e.record];
      // strategy_ring.cpp's step, while the search is open.
      compact_world::search& s = c.searches[e.record];
      if (s.open && s.origin_hits < cfg.hits_wanted && s.stage < s.stage_last) {
        ++s.stage;
        const std::uint32_t o = queries_[e.record].origin;
        if (compact_world::visit* own = w.visits[e.record].find(o)) own->ttl_best = s.stage;
        compact_pass_on(w, o, compact_world::visit::empty, e.record, s.stage, 1, false);
        compact_timer(w, o, compact_world::kind::step, e.record, w.now + cfg.ring_wait_per_hop * s.stage);
      }
      break;
    }
  }
}

// node::on_message and searcher::on_query for a copy from a neighbour.
void simulator::compact_copy(compact_worker& w, const compact_world_event& e) {
  compact_world& c = *compact_;
  const search_config& cfg = node_config_.search;
  ++c.peers[e.to].received;
  ++w.stats.messages_received;
  ++w.stats.queries_received;
  if (!c.budgets.empty()) {
    const auto neighbours = graph_.neighbours(e.to);
    const auto at = std::lower_bound(neighbours.begin(), neighbours.end(), e.from);
    HEARSAY_ASSERT(at != neighbours.end() && *at == e.from);
    token_state& budget = c.budgets[graph_.offsets[e.to] + static_cast<std::size_t>(at - neighbours.begin())];
    if (!budget.take(w.now, cfg.queries_per_neighbor_per_s, cfg.queries_per_neighbor_burst)) {
      ++w.stats.queries_rate_limited;
      return;
    }
  }
  const std::uint8_t cap = cfg.*strategy_of(cfg).ttl_max;
  std::uint8_t ttl = e.ttl;
  if (ttl > cap) {
    ttl = cap;
    ++w.stats.queries_ttl_capped;
  }
  const auto next_hops = static_cast<std::uint8_t>(e.hops == 255 ? 255 : e.hops + 1);
  bool duplicate = false;
  compact_world::visit& v = w.visits[e.record].find_or_insert(e.to, e.from, ttl, duplicate, w.visits_hint);
  query_counts& counts = w.counts[e.record];
  const bool walker = strategy_of(cfg).walker;
  if (duplicate) {
    ++w.stats.queries_duplicate;
    ++counts.duplicates;
    if (walker) {
      compact_walker_goes_on(w, e, ttl, next_hops);
      return;
    }
    if (ttl > v.ttl_best) {
      v.ttl_best = ttl;
      ++w.stats.queries_reforwarded;
      if (ttl > 1) compact_pass_on(w, e.to, e.from, e.record, static_cast<std::uint8_t>(ttl - 1), next_hops, true);
    }
    return;
  }
  ++counts.reached;
  // searcher::answer: a hit back along the reverse path.
  const auto& holders = c.searches[e.record].holders;
  if ((holders[e.to / 64] >> (e.to % 64) & 1) != 0) {
    ++w.stats.hits_sent;
    ++w.stats.messages_sent;
    ++counts.hit_messages;
    compact_world::event hit;
    hit.to = e.from;
    hit.from = e.to;
    hit.record = e.record;
    hit.holder = e.to;
    hit.what = compact_world::kind::hit;
    hit.hops = e.hops;
    compact_send(w, e.to, e.from, hit);
  }
  if (walker) {
    compact_walker_goes_on(w, e, ttl, next_hops);
    return;
  }
  if (ttl > 1) compact_pass_on(w, e.to, e.from, e.record, static_cast<std::uint8_t>(ttl - 1), next_hops, true);
}

// searcher::on_query for a walker, seen or not: it goes on, and every walk_check_hops hops
// waits at its relay while the relay asks the origin whether the search still wants hits.
void simulator::compact_walker_goes_on(compact_worker& w, const compact_world_event& e, std::uint8_t ttl,
                                       std::uint8_t next_hops) {
  const search_config& cfg = node_config_.search;
  if (ttl <= 1) return;
  const auto next_ttl = static_cast<std::uint8_t>(ttl - 1);
  if (cfg.walk_check_hops == 0 || e.hops % cfg.walk_check_hops != 0) {
    compact_walk_on(w, e.to, e.from, e.record, next_ttl, next_hops);
    return;
  }
  std::uint32_t& count = w.parked_count[e.to];
  if (count >= cfg.parked_walkers_max) return;  // no room: the walker ends here
  const std::uint64_t at = std::uint64_t{e.to} << 32 | e.record;
  auto& walkers = w.parked[at];
  const bool first = walkers.empty();
  walkers.push_back({e.from, next_ttl, next_hops});
  ++count;
  if (!first) return;
  const std::uint32_t origin = queries_[e.record].origin;
  if (!compact_linked(e.to, origin) &&
      !w.stranger_budget[e.to].take(w.now, cfg.stranger_sends_per_s, cfg.stranger_sends_burst)) {
    // Over the budget for contacting named addresses: the walker ends here.
    w.parked.erase(at);
    --count;
    ++w.stats.stranger_sends_refused;
    return;
  }
  ++w.stats.messages_sent;
  ++w.counts[e.record].query_messages;  // check-backs are part of a walk's cost
  compact_world::event check;
  check.to = origin;
  check.from = e.to;
  check.record = e.record;
  check.what = compact_world::kind::check;
  compact_send(w, e.to, origin, check);
  compact_timer(w, e.to, compact_world::kind::park_timeout, e.record, w.now + cfg.walk_check_timeout);
}

void simulator::compact_walk_event(compact_worker& w, const compact_world_event& e) {
  compact_world& c = *compact_;
  const search_config& cfg = node_config_.search;
  const std::uint64_t at = std::uint64_t{e.to} << 32 | e.record;
  switch (e.what) {
    case compact_world::kind::check: {
      // searcher::on_walk_check, at the origin.
      ++c.peers[e.to].received;
      ++w.stats.messages_received;
      const compact_world::search& s = c.searches[e.record];
      const bool go_on = e.to == queries_[e.record].origin && s.open && s.origin_hits < cfg.hits_wanted;
      ++w.stats.messages_sent;
      ++w.counts[e.record].query_messages;
      compact_world::event status;
      status.to = e.from;
      status.from = e.to;
      status.record = e.record;
      status.what = compact_world::kind::status;
      status.ttl = go_on ? 1 : 0;
      compact_send(w, e.to, e.from, status);
      break;
    }
    case compact_world::kind::status: {
      // searcher::on_walk_status, at the relay: its walkers go on, or end.
      ++c.peers[e.to].received;
      ++w.stats.messages_received;
      auto it = w.parked.find(at);
      if (it == w.parked.end()) return;
      const auto walkers = std::move(it->second);
      w.parked.erase(it);
      w.parked_count[e.to] -= static_cast<std::uint32_t>(walkers.size());
      if (e.ttl == 0) return;
      for (const auto& p : walkers) compact_walk_on(w, e.to, p.from, e.record, p.ttl, p.hops);
      break;
    }
    case compact_world::kind::park_timeout: {
      // The origin did not answer: the walkers parked for the search stop here.
      auto it = w.parked.find(at);
      if (it == w.parked.end()) return;
      w.parked_count[e.to] -= static_cast<std::uint32_t>(it->second.size());
      w.parked.erase(it);
      break;
    }
    default:
      HEARSAY_ASSERT(false);
  }
}

bool simulator::compact_linked(std::uint32_t a, std::uint32_t b) const {
  const auto neighbours = graph_.neighbours(a);
  return std::binary_search(neighbours.begin(), neighbours.end(), b);
}

void simulator::compact_walk_on(compact_worker& w, std::uint32_t p, std::uint32_t except, std::uint32_t record,
                                std::uint8_t ttl, std::uint8_t hops) {
  compact_world& c = *compact_;
  const std::span<const std::uint32_t> neighbours(graph_.targets.data() + c.peers[p].first, c.peers[p].degree);
  if (neighbours.empty()) return;
  const bool has_except = except != compact_world::visit::empty;
  const std::size_t others = neighbours.size() - ((has_except && compact_linked(p, except)) ? 1 : 0);
  std::uint32_t target = compact_world::visit::empty;
  if (others == 0) {
    target = except;  // a dead end: the walker goes back (nowhere, at its origin)
  } else {
    auto k = c.random[p].below(others);
    for (const std::uint32_t q : neighbours) {
      if (has_except && q == except) continue;
      if (k-- == 0) {
        target = q;
        break;
      }
    }
  }
  if (target != compact_world::visit::empty) compact_pass(w, p, target, record, ttl, hops);
}

// node::on_message and searcher::on_hit.
void simulator::compact_hit(compact_worker& w, const compact_world_event& e) {
  compact_world& c = *compact_;
  const search_config& cfg = node_config_.search;
  ++c.peers[e.to].received;
  ++w.stats.messages_received;
  query_record& r = queries_[e.record];
  // (Only the origin's worker reads and writes the origin's side of a search.)
  if (e.to == r.origin && c.searches[e.record].open) {
    compact_world::search& s = c.searches[e.record];
    if (s.origin_hits >= cfg.hits_per_query_max) {
      ++w.stats.hits_dropped;
      return;
    }
    ++s.origin_hits;
    ++w.stats.hits_received;
    // peer_host::on_search_hit
    const micros latency = w.now - r.issued;
    if (r.hits++ == 0) {
      r.first_hit = latency;
      r.first_hit_hops = e.hops;
      r.first_holder = e.holder;
    }
    if (r.hits == scenario_.hits_wanted) r.kth_hit = latency;
    return;
  }
  compact_world::visit* v = w.visits[e.record].find(e.to);
  if (v == nullptr || v->upstream == e.to || v->hits_relayed >= cfg.hits_per_query_max) {
    ++w.stats.hits_dropped;
    return;
  }
  ++v->hits_relayed;
  ++w.stats.hits_relayed;
  ++w.stats.messages_sent;
  ++w.counts[e.record].hit_messages;
  compact_world::event next = e;
  next.to = v->upstream;
  next.from = e.to;
  compact_send(w, e.to, v->upstream, next);
}

// ---- the loop --------------------------------------------------------------------------------

void simulator::compact_warm(const compact_worker& w, const compact_world_event& e) const {
  const compact_world& c = *compact_;
  if (e.what != compact_world::kind::copy && e.what != compact_world::kind::hit) return;
  const auto& table = w.visits[e.record].slots;
  if (!table.empty()) prefetch_line(&table[home_of(e.to, table.size() - 1)]);
  if (e.what != compact_world::kind::copy) return;
  prefetch_line(graph_.targets.data() + c.peers[e.to].first);
  // Whether the peer holds what the search asks: a word of a bitmap of the peers, read at
  // random (125 KB a search at 10^6 peers, several searches alive at once), which misses the
  // nearer caches about as often as the peer's own lists do.
  const auto& holders = c.searches[e.record].holders;
  if (!holders.empty()) prefetch_line(&holders[e.to / 64]);
}

micros simulator::compact_next_time(compact_worker& w) const {
  // Between windows the set the last window wrote is parity ^ 1.
  const compact_world& c = *compact_;
  micros next = w.queue.empty() ? micros{std::numeric_limits<std::int64_t>::max()} : w.queue.next_time();
  const unsigned set = c.parity ^ 1;
  for (const auto& from : c.workers) {
    if (!from->outbox[set][w.index].empty()) next = std::min(next, from->outbox_earliest[set]);
  }
  return next;
}

void simulator::compact_run_worker(compact_worker& w, micros end) {
  compact_world& c = *compact_;
  // What the other workers sent this one's peers in the previous window.
  const unsigned set = c.parity ^ 1;
  for (auto& from : c.workers) {
    auto& box = from->outbox[set][w.index];
    for (const auto& o : box) w.queue.push(o.at, o.key, o.e);
    box.clear();
  }
  auto& queue = w.queue;
  while (!queue.empty() && queue.next_time() <= end) {
    // The memory an event reads, asked for ahead in three stages `ahead` events apart (as
    // the node engine's loop does, engine.cpp): the payload, then the peer's record, then
    // its neighbours and its visit to the search.
    constexpr std::size_t ahead = 8;
    if (const compact_world::event* e = queue.peek(3 * ahead)) {
      prefetch_line(e);
    } else {
      queue.prepare_next();
    }
    if (const compact_world::event* e = queue.peek(2 * ahead)) prefetch_line(&c.peers[e->to]);
    if (const compact_world::event* e = queue.peek(ahead)) compact_warm(w, *e);
    const auto e = queue.take();
    HEARSAY_ASSERT(e.at >= w.now);
    w.now = e.at;
    ++w.events;
    compact_dispatch(w, e.payload);
    queue.release(e.slot);
  }
}

void simulator::compact_helper(unsigned index) {
  compact_world& c = *compact_;
  std::uint32_t seen = 0;
  spin_budget budget;
  while (true) {
    seen = wait_for_change(c.generation, seen, budget);  // the next window
    if (c.stopping.load(std::memory_order_acquire)) return;
    compact_run_worker(*c.workers[index], c.window_end);
    c.done.fetch_add(1, std::memory_order_acq_rel);
    c.done.notify_one();
  }
}

void simulator::compact_window(micros end) {
  compact_world& c = *compact_;
  for (auto& w : c.workers) w->outbox_earliest[c.parity] = micros{std::numeric_limits<std::int64_t>::max()};
  c.in_window = true;
  if (c.helpers.empty()) {
    for (auto& w : c.workers) compact_run_worker(*w, end);
  } else {
    c.window_end = end;
    c.done.store(0, std::memory_order_relaxed);
    c.generation.fetch_add(1, std::memory_order_acq_rel);  // publishes window_end
    c.generation.notify_all();
    compact_run_worker(*c.workers[0], end);
    const auto others = static_cast<unsigned>(c.workers.size() - 1);
    static thread_local spin_budget budget;
    for (unsigned done = 0; (done = c.done.load(std::memory_order_acquire)) != others;) {
      wait_for_change(c.done, done, budget);
    }
  }
  c.in_window = false;
  c.parity ^= 1;
}

void simulator::compact_settle() {
  // Between windows: a search with nothing in flight (no message on its way, no step armed)
  // will not be read again; its tables go.
  compact_world& c = *compact_;
  for (std::size_t i = 0; i < c.live.size();) {
    const std::uint32_t k = c.live[i];
    std::int64_t in_flight = 0;
    for (const auto& w : c.workers) in_flight += w->in_flight[k];
    if (in_flight != 0) {
      ++i;
      continue;
    }
    for (auto& w : c.workers) {
      auto& table = w->visits[k];
      // The next search starts at the size this one needed (searches alike reach alike), so
      // that its table is not re-laid a dozen times as it grows.
      if (table.count > 0) w->visits_hint = std::bit_ceil(2 * std::size_t{table.count} + 2);
      table.release();
    }
    std::vector<std::uint64_t>().swap(c.searches[k].holders);
    c.live[i] = c.live.back();
    c.live.pop_back();
  }
}

void simulator::compact_run_until(micros t) {
  compact_world& c = *compact_;
  constexpr micros never{std::numeric_limits<std::int64_t>::max()};
  while (true) {
    micros next = never;
    for (const auto& w : c.workers) next = std::min(next, compact_next_time(*w));
    const micros next_global = global_.empty() ? never : global_.next_time();
    if (std::min(next, next_global) > t) break;
    if (next_global <= next) {
      // Searches (and samples) alone, before any peer's event of the same instant, as run_until.
      now_ = next_global;
      for (auto& w : c.workers) w->now = now_;
      for (auto& w : workers_) w->now = now_;
      run_global_events();
      continue;
    }
    // A window: up to the next global event, the end, and (with several workers) the earliest
    // time a message sent in it could arrive.
    micros end = std::min(t, next_global - micros{1});
    if (c.workers.size() > 1) end = std::min(end, next + c.lookahead - micros{1});
    compact_window(end);
    compact_settle();
    now_ = std::max(now_, end);
  }
  now_ = std::max(now_, t);
  for (auto& w : c.workers) w->now = now_;
  for (auto& w : workers_) w->now = now_;
}

unsigned simulator::threads() const {
  return static_cast<unsigned>(compact_ != nullptr ? compact_->workers.size() : workers_.size());
}

std::uint64_t simulator::compact_events() const {
  std::uint64_t n = 0;
  for (const auto& w : compact_->workers) n += w->events;
  return n;
}

void simulator::compact_collect(run_results& out, std::vector<std::uint64_t>& load) const {
  const compact_world& c = *compact_;
  for (const auto& w : c.workers) {
    out.totals += w->stats;
    for (std::size_t k = 0; k < w->counts.size() && k < out.queries.size(); ++k) w->counts[k].add_to(out.queries[k]);
  }
  // Every peer of a compact run runs to the end.
  load.resize(honest_peers());
  for (std::uint32_t i = 0; i < honest_peers(); ++i) load[i] = c.peers[i].received;
}

overlay_health simulator::compact_health() const {
  // measure_health over nodes started on the graph: each active view is the peer's
  // neighbours, links are symmetric, passive views empty.
  overlay_health h;
  const std::uint32_t n = size();
  h.peers_running = n;
  if (n == 0) return h;
  disjoint_sets components(n);
  h.active_min = h.in_degree_min = ~0u;
  double sq = 0;
  const std::uint32_t* targets = graph_.targets.data();
  const std::size_t target_count = graph_.targets.size();
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t d = graph_.degree(i);
    h.active_min = std::min(h.active_min, d);
    h.active_max = std::max(h.active_max, d);
    h.links_directed += d;
    sq += static_cast<double>(d) * d;
    for (std::size_t k = graph_.offsets[i]; k < graph_.offsets[i + 1]; ++k) {
      // A neighbour's parent is a miss on a large graph: asked for 16 links ahead.
      if (k + 16 < target_count) prefetch_line(components.entry(targets[k + 16]));
      const std::uint32_t j = targets[k];
      if (j < i) continue;  // each link once: the same components, half the work
      components.unite(i, j);
    }
  }
  h.in_degree_min = h.active_min;
  h.in_degree_max = h.active_max;
  std::vector<std::uint32_t> component_size(n, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (component_size[components.find(i)]++ == 0) ++h.components;
  }
  h.largest_component = *std::max_element(component_size.begin(), component_size.end());
  const double running = n;
  h.active_mean = h.in_degree_mean = static_cast<double>(h.links_directed) / running;
  h.passive_mean = 0;
  h.in_degree_stddev = std::sqrt(std::max(0.0, sq / running - h.in_degree_mean * h.in_degree_mean));
  return h;
}

}  // namespace hearsay::sim

// The discrete-event simulator (see simulator.hpp).

#include "sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "overlay/codec.hpp"
#include "overlay/prefetch.hpp"
#include "sim/adversary.hpp"
#include "sim/distributions.hpp"
#include "sim/downloads.hpp"
#include "sim/processors.hpp"

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

namespace {
// Stream numbers: each consumer of randomness has its own, so adding one never shifts another.
constexpr std::uint64_t stream_workload = 1;
constexpr std::uint64_t stream_network = 2;
constexpr std::uint64_t stream_topology = 3;
constexpr std::uint64_t stream_faults = 4;
constexpr std::uint64_t stream_loss = 5;
constexpr std::uint64_t stream_file_sizes = 6;
constexpr std::uint64_t stream_capacities = 7;
constexpr std::uint64_t stream_peers = 1'000;
}  // namespace

simulator::simulator(const scenario& s)
    : scenario_(s),
      plan_(s.peers, std::min(sybil_count(s), s.peers), s.attack.sybil_groups),
      first_adversary_(plan_.sybils() > 0 && s.attack.behaviour != scenario::attack_settings::behaviour_kind::honest
                           ? plan_.first_sybil()
                           : s.peers),
      node_config_(s.node),
      workload_rng_(rng::stream(s.seed, stream_workload)),
      fault_rng_(rng::stream(s.seed, stream_faults)) {
  node_config_.membership.repair = s.repair;
  node_config_.search.hits_wanted = s.hits_wanted;
  incarnation_.assign(s.peers, 0);
  node_config_.seeds.clear();
  for (std::uint32_t i = 0; i < std::min(s.seed_count, s.peers); ++i) node_config_.seeds.push_back(address_of(i));
  running_.assign(s.peers, 0);
  static_assert(sizeof(peer_host) == 32 && alignof(peer_host) == 32);
  hosts_.reserve(s.peers);  // nodes keep references to their hosts: no reallocation
  for (std::uint32_t i = 0; i < s.peers; ++i) hosts_.emplace_back(*this, i);
  // Workers: as many as asked for, never more than peers, and one when windows would be too
  // short to pay for their hand-offs (a latency model whose minimum is under 100 us, or zero
  // as for the lognormal). Unless asked, one per processor this process may use from 20,000
  // peers on (sim/processors.hpp); below that the windows hold too few events (the default
  // 10,000-peer run takes the same time on two).
  lookahead_ = s.latency.minimum();
  unsigned threads = s.threads;
  // (At most 63: a queue names at most 63 other slabs, sim/event_queue.hpp.)
  if (threads == 0) threads = s.peers >= 20'000 ? std::min(usable_processors(), 63u) : 1;
  threads = std::min<unsigned>(threads, std::max<std::uint32_t>(1, s.peers));
  if (lookahead_ < micros{100}) threads = 1;
  HEARSAY_ASSERT(threads < 64);
  // Building a node is mostly the first touch of its 1.2 KB, and memory touched for the first
  // time can cost milliseconds per MiB on a virtual machine (bench/HISTORY.md): the workers'
  // threads build a share each (0.35 s for 10^5 peers on one thread, there). Each node's
  // state depends only on its index, so the result is the same.
  nodes_.allocate(s.peers);
  auto build_nodes = [this, &s](std::uint32_t first, std::uint32_t last) {
    for (std::uint32_t i = first; i < last; ++i) {
      const std::uint64_t node_seed = rng::stream(s.seed, stream_peers + i).next();
      nodes_.build(i, node_config_, address_of(i), node_seed, hosts_[i]);
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
  if (s.topology.is_static()) {
    rng topology_rng = rng::stream(s.seed, stream_topology);
    if (!build_graph(s.topology, s.peers, topology_rng, graph_, error_)) graph_ = graph{};
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
  // The seeds in pairs, within the first block (beyond it, blocks spread them anyway).
  seeds_spread_ = std::min<std::uint32_t>(std::uint32_t{1} << block_log2, (std::min(s.seed_count, s.peers) + 1) & ~1u);
  assign_hosts();
  if (first_adversary_ < s.peers) {
    swarm_ = std::make_unique<sybil_swarm>(plan_, node_config_.membership, s.seed_count, s.seed,
                                           s.attack.behaviour == scenario::attack_settings::behaviour_kind::flood);
  }
  if (downloads_enabled(s)) {
    downloads_ = std::make_unique<download_world>(
        s, rng::stream(s.seed, stream_capacities).next(), running_, file_sizes_, queries_,
        [this](std::uint32_t a, std::uint32_t b) { return link_latency(a, b); });
  }
  for (unsigned k = 1; k < threads; ++k) helpers_.emplace_back([this, k] { helper_loop(k); });
}

void simulator::node_array::allocate(std::size_t n) {
  HEARSAY_ASSERT(slots_ == nullptr);
  // Huge pages where they pay (sim/huge_pages.hpp): the nodes are most of what an event reads,
  // at random.
  static_assert(alignof(std::optional<node>) <= 64);
  storage_ = memory_block(n * sizeof(std::optional<node>));
  slots_ = static_cast<std::optional<node>*>(storage_.data());
  size_ = n;
}

simulator::node_array::~node_array() {
  for (std::size_t i = 0; i < size_; ++i) slots_[i].~optional();
}

simulator::~simulator() {
  stop_helpers();
  // Pending events may live in other workers' slabs: destroy them all before any slab goes.
  take_all_incoming();
  for (auto& w : workers_) w->queue.clear();
}

void simulator::set_tap(network_tap* tap) {
  // A tap observes messages in one global order: the run goes on with a single worker. The
  // events keep their keys, so the run is the same.
  if (tap != nullptr && workers_.size() > 1) {
    stop_helpers();
    take_all_incoming();
    auto one = std::make_unique<worker>();
    one->outbox[0].resize(1);
    one->outbox[1].resize(1);
    one->slabs.resize(1);
    one->queue.add_source(nullptr);
    one->counts.assign(queries_.size(), {});
    for (auto& w : workers_) {
      // Copies out of the other workers' slabs, which go with them.
      while (!w->queue.empty()) {
        const auto e = w->queue.take();
        one->queue.push(e.at, e.key, std::move(e.payload));
        w->queue.release(e.slot);
      }
      for (std::size_t k = 0; k < w->counts.size(); ++k) w->counts[k].add_to(one->counts[k]);
      one->hits.insert(one->hits.end(), w->hits.begin(), w->hits.end());  // sorted when handed over
      one->now = w->now;
      one->events += w->events;
    }
    workers_.clear();
    workers_.push_back(std::move(one));
    set_worker_count(1);
    assign_hosts();
  }
  tap_ = tap;
}

void simulator::stop_helpers() {
  if (helpers_.empty()) return;
  stopping_.store(true, std::memory_order_release);
  window_generation_.fetch_add(1, std::memory_order_acq_rel);
  window_generation_.notify_all();
  for (auto& t : helpers_) t.join();
  helpers_.clear();
}

std::uint64_t simulator::next_global_key() {
  HEARSAY_ASSERT(global_scheduled_ < UINT32_MAX);
  return global_scheduled_++;
}

template <typename T, typename... Args>
void simulator::post(worker& from, std::uint32_t node, micros at, std::uint64_t key, Args&&... args) {
  worker& to = worker_of(node);
  if (&to == &from || !in_window_) {
    to.queue.template emplace<T>(at, key, std::forward<Args>(args)...);
  } else {
    slab<event>& s = *from.slabs[to.index];
    const std::uint32_t slot = s.allocate();
    s.construct(slot, std::in_place_type<T>, std::forward<Args>(args)...);
    outgoing& o = from.outbox[parity_][to.index].emplace_back();  // field by field (see event_queue::link)
    o.at = at;
    o.key = key;
    o.slot = slot;
    from.outbox_earliest[parity_] = std::min(from.outbox_earliest[parity_], at);
  }
}

void simulator::post_global(micros at, event e) { global_.push(at, next_global_key(), std::move(e)); }

bool simulator::lost(std::uint64_t key) const {
  // A draw per message from its key: the same whichever thread sends it.
  std::uint64_t h = (scenario_.seed ^ stream_loss * 0x9e3779b97f4a7c15ULL) + key * 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 31;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 29;
  return static_cast<double>(h >> 11) * 0x1.0p-53 < scenario_.loss;
}

std::span<const peer_addr> simulator::active_of(std::uint32_t i) const {
  return adversary(i) ? swarm_->links(i) : nodes_[i]->members().active();
}

micros simulator::link_latency(std::uint32_t a, std::uint32_t b) const {
  return scenario_.latency.link(scenario_.seed ^ stream_network, a, b);
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

// ---- the peers' host calls ----------------------------------------------------------------

template <typename M>
void simulator::peer_host::send_message(const peer_addr& to, M&& m) {
  simulator& sim = sim_;
  worker& w = *worker_;
  std::uint32_t target = 0;
  // Peers learn addresses only from other simulated peers, so every address is one of them.
  HEARSAY_ASSERT(sim.index_of(to, target));
  auto count = [&](query_id id, std::uint32_t query_counts::*field) {
    if (const std::uint32_t k = sim.record_index(w, id); k != id_index::none) ++(w.counts[k].*field);
  };
  if (const auto* q = std::get_if<msg_query>(&m)) {
    count(q->id, &query_counts::query_messages);
  } else if (const auto* h = std::get_if<msg_query_hit>(&m)) {
    count(h->id, &query_counts::hit_messages);
  } else if (const auto* c = std::get_if<msg_walk_check>(&m)) {
    count(c->id, &query_counts::query_messages);  // check-backs are part of a walk's cost
  } else if (const auto* st = std::get_if<msg_walk_status>(&m)) {
    count(st->id, &query_counts::query_messages);
  }
  const std::uint64_t key = next_key();
  const micros latency = sim.link_latency(self_, target);
  if (sim.scenario_.loss > 0 && sim.lost(key)) return;  // lost
  if (sim.partitioned(self_, target, w.now)) return;   // the partition swallows it
  // A peer that is not running refuses the connection when the message arrives (dispatch):
  // the sender learns one round trip after sending. Its state is not read here, since
  // another worker may be changing it.
  if (sim.tap_ != nullptr) sim.tap_->on_send(w.now, self_, target, m);
  sim.post<deliver>(w, target, w.now + latency, key, target, self_, std::forward<M>(m));
}

void simulator::peer_host::disconnect(const peer_addr& peer) {
  simulator& sim = sim_;
  worker& w = *worker_;
  std::uint32_t target = 0;
  HEARSAY_ASSERT(sim.index_of(peer, target));
  // Posted after (and so delivered after) every message sent before it on this link.
  sim.post<peer_down>(w, target, w.now + sim.link_latency(self_, target), next_key(), target, self_, true);
}

std::uint64_t simulator::peer_host::nonce() {
  std::uint64_t state = (std::uint64_t{self_} * 0x9e3779b97f4a7c15ULL) ^ static_cast<std::uint64_t>(worker_->now.count());
  const std::uint64_t n = splitmix64(state);
  return n == 0 ? 1 : n;
}

void simulator::peer_host::schedule(micros at, timer_id id) {
  worker& w = *worker_;
  w.queue.emplace<fire_timer>(at, next_key(), self_, sim_.incarnation_[self_], id);
}

void simulator::peer_host::on_search_hit(query_id id, const msg_query_hit& h, micros latency) {
  const std::uint32_t k = sim_.query_index_.find(id);
  if (k == id_index::none) return;
  query_record& r = sim_.queries_[k];
  std::uint32_t holder = 0;
  const bool known = sim_.index_of(h.holder, holder);
  if (r.hits++ == 0) {
    r.first_hit = latency;
    r.first_hit_hops = h.hops;
    if (known) r.first_holder = holder;
  }
  if (r.hits == sim_.scenario_.hits_wanted) r.kth_hit = latency;
  // The download world runs between windows: this worker only notes the hit (its own vector).
  if (sim_.downloads_ != nullptr && known) worker_->hits.push_back(download_hit{worker_->now, k, holder});
}

void simulator::peer_host::on_query_seen(const msg_query& q, bool duplicate) {
  if (const std::uint32_t k = sim_.record_index(*worker_, q.id); k != id_index::none) {
    auto& c = worker_->counts[k];
    ++(duplicate ? c.duplicates : c.reached);
  }
}

// ---- the event loop ---------------------------------------------------------------------

void simulator::dispatch(worker& w, event& e) {
  const micros now = w.now;
  if (auto* d = std::get_if<deliver>(&e)) {
    if (!running_[d->to]) {
      // Not running (never started, crashed or left, perhaps while the message was in
      // flight): the connection is refused or breaks, and the sender learns it.
      if (tap_ != nullptr) tap_->on_refuse(now, d->from, d->to, d->msg);
      const micros latency = link_latency(d->from, d->to);
      post<peer_down>(w, d->from, now + latency, next_key(d->to), d->from, d->to);
      return;
    }
    if (tap_ != nullptr) tap_->on_deliver(now, d->from, d->to, d->msg);
    if (adversary(d->to)) {
      swarm_->on_message(d->to, now, address_of(d->from), std::move(d->msg), hosts_[d->to]);
      return;
    }
    if (scenario_.wire_codec) {
      // The real bytes: encode as the sender would, verify and decode as the receiver would.
      const auto frame = codec::encode_frame(address_of(d->from), d->msg);
      auto decoded = codec::decode(frame, codec::limits{});
      HEARSAY_ASSERT(decoded.ok());
      HEARSAY_ASSERT(decoded.value.sender == address_of(d->from));
      nodes_[d->to]->on_message(now, decoded.value.sender, std::move(decoded.value.msg));
      return;
    }
    // The event's slot is released after this: the node may take what it keeps.
    nodes_[d->to]->on_message(now, address_of(d->from), std::move(d->msg));
  } else if (auto* t = std::get_if<fire_timer>(&e)) {
    if (running_[t->node] && t->incarnation == incarnation_[t->node]) {
      if (adversary(t->node)) {
        swarm_->on_timer(t->node, now, t->id, hosts_[t->node]);
      } else {
        nodes_[t->node]->on_timer(now, t->id);
      }
    }
  } else if (auto* p = std::get_if<peer_down>(&e)) {
    if (!running_[p->node]) return;
    if (adversary(p->node)) {
      swarm_->on_peer_down(p->node, address_of(p->peer), p->closed);
    } else if (!p->closed || nodes_[p->node]->members().is_active(address_of(p->peer))) {
      nodes_[p->node]->on_peer_down(now, address_of(p->peer));
      if (p->closed) {
        // The peer closed a link this peer still counted as an overlay link: this side
        // closes too, as a transport does on seeing the other end close, and the peer sees it
        // one link latency later. What this peer sent it meanwhile would have been lost on
        // the closed connection; here it arrives first, and the close then undoes what it
        // made (a JOIN-REPLY that crossed the close took this peer back into the other's
        // view, which nothing else would ever tell).
        post<peer_down>(w, p->peer, now + link_latency(p->node, p->peer), next_key(p->node), p->peer, p->node, true);
      }
    }
  } else if (auto* s = std::get_if<start_peer>(&e)) {
    running_[s->node] = 1;
    if (adversary(s->node)) {
      swarm_->start(s->node, now, hosts_[s->node]);
    } else {
      nodes_[s->node]->start(now);
    }
  } else {
    HEARSAY_ASSERT(false);  // searches and faults are global events
  }
}

void simulator::dispatch_global(event& e) {
  if (auto* q = std::get_if<issue_query>(&e)) {
    query_record& r = queries_[q->index];
    if (!running_[r.origin]) return;
    r.issued = now_;
    // The id is known only once the search starts, but the origin's own first sends happen
    // inside search(): count them from the stats instead.
    const auto sent_before = nodes_[r.origin]->stats().queries_forwarded;
    r.id = nodes_[r.origin]->search(now_, file_name(r.file));
    r.query_messages += static_cast<std::uint32_t>(nodes_[r.origin]->stats().queries_forwarded - sent_before);
    query_index_.insert(r.id, q->index);
    for (auto& w : workers_) w->counted_id = 0;  // an id looked up before (the first sends) is known now
  } else if (auto* f = std::get_if<fault>(&e)) {
    on_fault(*f);
  }
}

bool simulator::partitioned(std::uint32_t a, std::uint32_t b, micros now) const {
  if (scenario_.partition_duration.count() == 0) return false;
  const micros from = queries_start_ + scenario_.partition_at;
  if (now < from || now >= from + scenario_.partition_duration) return false;
  const auto cut = static_cast<std::uint32_t>(scenario_.partition_fraction * static_cast<double>(size()));
  return (a < cut) != (b < cut);
}

void simulator::restart_peer(std::uint32_t i) {
  // A churned peer comes back as a fresh process: new state, new random stream, the same
  // address and the same files, joining again through the seeds.
  ++incarnation_[i];
  const std::uint64_t node_seed = rng::stream(scenario_.seed, stream_peers + i).next() ^ (incarnation_[i] * 0x9e3779b97f4a7c15ULL);
  nodes_[i].reset();
  nodes_[i].emplace(node_config_, address_of(i), node_seed, hosts_[i]);
  for (auto f : files_of_[i]) nodes_[i]->files().add(catalogue_file(f, file_sizes_[f]));
  running_[i] = 1;
  nodes_[i]->start(now_);
}

void simulator::on_fault(const fault& f) {
  auto pick_share = [&](double share) {
    std::vector<std::uint32_t> alive;
    for (std::uint32_t i = 0; i < honest_peers(); ++i) {  // (an attack's Sybils stay)
      if (running_[i]) alive.push_back(i);
    }
    fault_rng_.shuffle(std::span(alive));
    alive.resize(static_cast<std::size_t>(std::llround(share * static_cast<double>(alive.size()))));
    std::sort(alive.begin(), alive.end());
    return alive;
  };
  auto session_micros = [&](const duration_dist& d) {
    return micros{std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(d.draw(fault_rng_) * 1e6)))};
  };
  switch (f.what) {
    case fault::kind::crash_share:
      for (auto i : pick_share(scenario_.crash_fraction)) crash(i);
      break;
    case fault::kind::leave_share:
      for (auto i : pick_share(scenario_.leave_fraction)) {
        nodes_[i]->leave(now_);
        stop_peer(i);
      }
      break;
    case fault::kind::session_end:
      if (!running_[f.node]) break;
      if (fault_rng_.chance(scenario_.graceful_share)) {
        nodes_[f.node]->leave(now_);
        stop_peer(f.node);
      } else {
        crash(f.node);
      }
      post_global(now_ + session_micros(scenario_.downtime), fault{fault::kind::session_return, f.node});
      break;
    case fault::kind::session_return:
      restart_peer(f.node);
      post_global(now_ + session_micros(scenario_.session_length), fault{fault::kind::session_end, f.node});
      break;
    case fault::kind::sample: {
      const auto h = measure_health();
      samples_.push_back(
          time_sample{now_ - queries_start_, h.peers_running, h.largest_component, h.active_mean, measure_attack()});
      break;
    }
  }
}

std::uint32_t simulator::late_joiners() const {
  if (scenario_.topology.is_static()) return 0;
  const auto late = static_cast<std::uint32_t>(std::llround(scenario_.join_fraction * size()));
  return std::min(late, honest_peers() - std::min(honest_peers(), scenario_.seed_count));
}

void simulator::plan_faults(micros first) {
  queries_start_ = first;
  for (std::uint32_t i = honest_peers() - late_joiners(); i < honest_peers(); ++i) {
    const auto offset = static_cast<std::int64_t>(
        fault_rng_.below(static_cast<std::uint64_t>(std::max<std::int64_t>(1, scenario_.join_period.count()))));
    worker_of(i).queue.push(first + micros{offset}, next_global_key(), start_peer{i});
  }
  // An attack's Sybils join on their schedule, through the seeds.
  const micros attack_first = first + scenario_.attack.start;
  if (swarm_ != nullptr) swarm_->set_schedule(attack_first, scenario_.attack.join_period);
  for (std::uint32_t k = 0; k < plan_.sybils(); ++k) {
    const micros at = attack_first + micros{scenario_.attack.join_period.count() * static_cast<std::int64_t>(k) /
                                            static_cast<std::int64_t>(plan_.sybils())};
    HEARSAY_ASSERT(swarm_ == nullptr || at == swarm_->start_of(k));
    worker_of(plan_.first_sybil() + k).queue.push(at, next_global_key(), start_peer{plan_.first_sybil() + k});
  }
  if (scenario_.crash_fraction > 0) post_global(first + scenario_.crash_at, fault{fault::kind::crash_share, 0});
  if (scenario_.leave_fraction > 0) post_global(first + scenario_.leave_at, fault{fault::kind::leave_share, 0});
  if (scenario_.sessions) {
    // Seed nodes stay up (operators run them as stable services); every other peer starts a
    // session of random length now.
    for (std::uint32_t i = scenario_.seed_count; i < honest_peers(); ++i) {
      const auto len = micros{std::max<std::int64_t>(
          1, static_cast<std::int64_t>(std::llround(scenario_.session_length.draw(fault_rng_) * 1e6)))};
      post_global(first + len, fault{fault::kind::session_end, i});
    }
  }
}

namespace {
// The peer an event is for, or none.
template <typename Event, typename Deliver, typename Timer, typename Down>
std::uint32_t peer_of(const Event& e, bool& found) {
  found = true;
  if (const auto* d = std::get_if<Deliver>(&e)) return d->to;
  if (const auto* t = std::get_if<Timer>(&e)) return t->node;
  if (const auto* p = std::get_if<Down>(&e)) return p->node;
  found = false;
  return 0;
}
}  // namespace

void simulator::warm_payload(const event& e) {
  // For writing: running an event ends by destroying its payload, and a payload from another
  // worker was last written by that worker's core. (Slab cells of events start on a line.)
  static_assert(sizeof(event) >= 64);
  prefetch_aligned_for_write<sizeof(event)>(&e);
}

void simulator::warm_peer(const event& e) const {
  bool found = false;
  const std::uint32_t i = peer_of<event, deliver, fire_timer, peer_down>(e, found);
  if (!found) return;
  prefetch_line(&running_[i]);
  prefetch_line(&hosts_[i]);
  // Nodes are engaged at all times but inside restart_peer, so this reads no flag. A message
  // reads part of the node; timers (which also check the peer's incarnation) and failures may
  // read any of it.
  const node* n = nodes_[i].operator->();
  if (const auto* d = std::get_if<deliver>(&e)) {
    n->prefetch_for(d->msg);
  } else if (const auto* t = std::get_if<fire_timer>(&e)) {
    prefetch_line(&incarnation_[i]);
    n->prefetch_for(t->id);
  } else {
    n->prefetch();
  }
}

void simulator::warm_pointees(const event& e) const {
  if (const auto* d = std::get_if<deliver>(&e)) {
    if (running_[d->to]) nodes_[d->to]->warm_for(d->msg);
  } else if (const auto* t = std::get_if<fire_timer>(&e)) {
    if (running_[t->node]) nodes_[t->node]->warm_for(t->id);
  }
}

void simulator::run_worker(worker& w, micros end) {
  // Memory latency dominates a large run: each event reads a payload, then the state of the
  // peer it is for, then tables that state points to, all cold and scattered. So before each
  // event the loop looks ahead in three stages `ahead` events apart: it prefetches the payload
  // of the event 3 x ahead; reads the payload of the one 2 x ahead (prefetched `ahead` events
  // ago) and prefetches its peer; reads the peer of the one `ahead` events ahead (prefetched
  // `ahead` events ago) and prefetches what it points to. Only prefetches are issued for lines
  // not yet asked for, so the loop never waits on a miss of its own making, and the misses of
  // `ahead` events are in flight at once; by the time an event runs, its lines are in the
  // cache. (Reading each line as it is first asked for instead waits at each stage: about 6 %
  // slower at 100,000 peers. Looking ahead for 8 events at once, every 8 events, issues
  // the prefetches of 8 peers, a dozen lines each, in one burst that fills the processor's
  // miss buffers and stalls it: about 5 % slower than one event at a time.)
  take_incoming(w);
  constexpr std::size_t ahead = 8;
  auto& queue = w.queue;
  while (!queue.empty() && queue.next_time() <= end) {
    if (const event* e = queue.peek(3 * ahead)) {
      warm_payload(*e);
    } else {
      // Near the end of the current bucket: the next one, sorted now, lets the look-ahead
      // see past it (without this the first 3 x ahead events of each bucket, about 3 % of
      // them at 10^5 peers, ran with their lines warmed late or not at all).
      queue.prepare_next();
    }
    if (const event* e = queue.peek(2 * ahead)) warm_peer(*e);
    if (const event* e = queue.peek(ahead)) warm_pointees(*e);
    const auto e = queue.take();
    HEARSAY_ASSERT(e.at >= w.now);
    w.now = e.at;
    ++w.events;
    dispatch(w, e.payload);
    queue.release(e.slot);
  }
}

namespace {
// Waits until `a` no longer holds `old` and returns what it holds. First spinning with the
// processor's pause hint: windows follow each other within microseconds, and a sleep and a
// wake-up cost more than that on a virtual machine. Then asleep in the kernel until the value
// changes (the writer notifies). The spin is long while waits end within it (up to 65,536
// pauses, 1.6 ms here) and shortens (halving, down to 1,024 pauses) after each wait that had
// to sleep, as when there are more threads than processors free and the other thread is not
// running: 3x10^4 peers on two threads and one processor took 22 s spinning and yielding, 20 s
// with a fixed 1.6 ms spin before sleeping, 7.7 s with a fixed 0.2 ms, against 4.1 s on one
// thread. (A fixed 0.2 ms cost 5 % at 10^5 peers on two free processors, where waits that
// long are common enough.)
struct spin_budget {
  unsigned pauses = max_pauses;
  static constexpr unsigned max_pauses = 1u << 16, min_pauses = 1u << 10;
};

template <typename T>
T wait_for_change(const std::atomic<T>& a, T old, spin_budget& budget) {
  for (unsigned spins = 0; spins < budget.pauses; ++spins) {
    const T v = a.load(std::memory_order_acquire);
    if (v != old) {
      budget.pauses = std::min(spin_budget::max_pauses, 2 * budget.pauses);
      return v;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  budget.pauses = std::max(spin_budget::min_pauses, budget.pauses / 2);
  while (true) {
    a.wait(old, std::memory_order_acquire);
    const T v = a.load(std::memory_order_acquire);
    if (v != old) return v;
  }
}
}  // namespace

void simulator::helper_loop(unsigned index) {
  std::uint32_t seen = 0;
  spin_budget budget;
  while (true) {
    seen = wait_for_change(window_generation_, seen, budget);  // the next window
    if (stopping_.load(std::memory_order_acquire)) return;
    run_worker(*workers_[index], window_end_);
    window_done_.fetch_add(1, std::memory_order_acq_rel);
    window_done_.notify_one();
  }
}

void simulator::run_window(micros end) {
  // This window writes the outbox set the previous-but-one window wrote, which the previous
  // window's workers took in at its start: empty now.
  for (auto& w : workers_) w->outbox_earliest[parity_] = micros{std::numeric_limits<std::int64_t>::max()};
  in_window_ = true;
  if (helpers_.empty()) {
    // One worker, or helpers stopped (after a run): the workers' windows one after another,
    // which gives the same results, as within a window they do not hear from each other.
    for (auto& w : workers_) run_worker(*w, end);
  } else {
    window_end_ = end;
    window_done_.store(0, std::memory_order_relaxed);
    window_generation_.fetch_add(1, std::memory_order_acq_rel);  // publishes window_end_
    window_generation_.notify_all();
    run_worker(*workers_[0], end);
    const auto others = static_cast<unsigned>(workers_.size() - 1);
    static thread_local spin_budget budget;  // the calling thread's
    for (unsigned done = 0; (done = window_done_.load(std::memory_order_acquire)) != others;) {
      wait_for_change(window_done_, done, budget);
    }
  }
  in_window_ = false;
  return_slots();
  // What each worker scheduled for the others' peers stays in its outboxes: each worker takes
  // in its own share at the start of the next window, in parallel with the others.
  parity_ ^= 1;
}

void simulator::take_incoming(worker& w) {
  // The set the previous window wrote, in a fixed order of senders (the keys decide the
  // events' order; this keeps the slab's use, and so memory, reproducible).
  const unsigned set = parity_ ^ 1;
  for (auto& from : workers_) {
    auto& box = from->outbox[set][w.index];
    for (const auto& o : box) w.queue.push_from(o.at, o.key, from->index + 1, o.slot);
    box.clear();
  }
}

void simulator::return_slots() {
  for (auto& w : workers_) {
    for (auto& from : workers_) {
      if (from == w) continue;
      auto& back = w->queue.returned(from->index + 1);
      slab<event>& s = *from->slabs[w->index];
      for (auto slot : back) s.release(slot);
      back.clear();
    }
  }
}

void simulator::take_all_incoming() {
  for (unsigned set : {parity_ ^ 1, parity_}) {
    for (auto& from : workers_) {
      for (std::size_t k = 0; k < from->outbox[set].size(); ++k) {
        for (const auto& o : from->outbox[set][k]) workers_[k]->queue.push_from(o.at, o.key, from->index + 1, o.slot);
        from->outbox[set][k].clear();
      }
      from->outbox_earliest[set] = micros{std::numeric_limits<std::int64_t>::max()};
    }
  }
}

micros simulator::next_time_of(worker& w) {
  // Between windows the set the last window wrote is parity_ ^ 1 (parity_ has flipped).
  micros next = w.queue.empty() ? micros{std::numeric_limits<std::int64_t>::max()} : w.queue.next_time();
  const unsigned set = parity_ ^ 1;
  for (auto& from : workers_) {
    if (!from->outbox[set][w.index].empty()) next = std::min(next, from->outbox_earliest[set]);
  }
  return next;
}

void simulator::run_until(micros t) {
  constexpr micros never{std::numeric_limits<std::int64_t>::max()};
  while (true) {
    micros next = never;
    for (auto& w : workers_) next = std::min(next, next_time_of(*w));
    const micros next_global = global_.empty() ? never : global_.next_time();
    if (std::min(next, next_global) > t) break;
    if (next_global <= next) {
      // Searches and faults: alone, before any peer's event of the same instant (a fixed rule,
      // the same whatever the number of workers), with every worker's clock at that instant.
      // Downloads see only the peers' running state, which only global events change (and
      // start_peer, for a peer nothing was asked of yet): their events before this instant
      // run now, all at once, in their own order.
      now_ = next_global;
      if (downloads_ != nullptr) sync_downloads(now_);
      for (auto& w : workers_) w->now = now_;
      while (!global_.empty() && global_.next_time() == now_) {
        const auto e = global_.take();
        ++events_;
        dispatch_global(e.payload);
        global_.release(e.slot);
      }
      continue;
    }
    // A window: up to the next global event, the end, and (with several workers) the
    // earliest time a message sent in it could arrive.
    micros end = std::min(t, next_global - micros{1});
    if (workers_.size() > 1) end = std::min(end, next + lookahead_ - micros{1});
    run_window(end);
    now_ = std::max(now_, end);
  }
  now_ = std::max(now_, t);
  for (auto& w : workers_) w->now = now_;
  if (downloads_ != nullptr) sync_downloads(t + micros{1});
}

std::uint64_t simulator::events_processed() const {
  std::uint64_t n = events_;
  for (const auto& w : workers_) n += w->events;
  return n;
}

void simulator::stop_peer(std::uint32_t i) {
  running_[i] = 0;
  if (downloads_ != nullptr) downloads_->peer_stopped(i, now_);
}

void simulator::sync_downloads(micros limit) {
  std::vector<download_hit> hits;
  for (auto& w : workers_) {
    hits.insert(hits.end(), w->hits.begin(), w->hits.end());
    w->hits.clear();
  }
  // Which worker saw a hit, and so the order of the vectors, depends on the thread count; the
  // order of (time, record, holder) does not.
  std::sort(hits.begin(), hits.end());
  downloads_->add_hits(hits);
  downloads_->run_before(limit);
}

void simulator::crash(std::uint32_t i) {
  HEARSAY_ASSERT(i < nodes_.size());
  if (!running_[i]) return;
  stop_peer(i);
  for (const auto& p : active_of(i)) {
    std::uint32_t j = 0;
    if (index_of(p, j) && running_[j]) {
      post<peer_down>(worker_of(i), j, now_ + link_latency(i, j), next_key(i), j, i);
    }
  }
}

// ---- the scenario -----------------------------------------------------------------------

void simulator::build_overlay() {
  HEARSAY_ASSERT(!built_);
  HEARSAY_ASSERT(error_.empty());
  built_ = true;
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
  for (std::uint32_t i = 0; i < early; ++i) {
    worker_of(i).queue.push(now_ + scenario_.join_interval * i, next_global_key(), start_peer{i});
  }
  const micros last_join = now_ + scenario_.join_interval * (early == 0 ? 0 : early - 1);
  run_until(last_join + scenario_.stabilize);
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
  holders_.assign(scenario_.files, {});
  std::vector<std::uint8_t> taken;
  for (std::uint32_t f = 0; f < scenario_.files; ++f) {
    auto& holders = holders_[f];
    // Files are on honest peers (with an attack, Sybils hold none: they answer no query).
    const std::uint32_t copies = std::min(replicas_[f], honest_peers());
    // Rejection sampling of distinct peers: a flag array when many copies are needed.
    const bool dense = static_cast<std::uint64_t>(copies) * 4 > honest_peers();
    if (dense) taken.assign(honest_peers(), 0);
    while (holders.size() < copies) {
      const auto peer = static_cast<std::uint32_t>(workload_rng_.below(honest_peers()));
      const bool dup = dense ? taken[peer] != 0 : std::find(holders.begin(), holders.end(), peer) != holders.end();
      if (dup) continue;
      if (dense) taken[peer] = 1;
      holders.push_back(peer);
    }
    std::sort(holders.begin(), holders.end());
    const file_info info = catalogue_file(f, file_sizes_[f]);
    for (auto peer : holders) nodes_[peer]->files().add(info);
  }
  files_of_.assign(size(), {});
  for (std::uint32_t f = 0; f < scenario_.files; ++f) {
    for (auto peer : holders_[f]) files_of_[peer].push_back(f);
  }
}

void simulator::plan_queries(micros first) {
  const zipf popularity(scenario_.files, scenario_.popularity_alpha);
  queries_.assign(scenario_.queries, {});
  for (auto& w : workers_) w->counts.assign(scenario_.queries, {});
  micros at = first;
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
    if (scenario_.poisson_arrivals) {
      at += micros{static_cast<std::int64_t>(
          std::llround(draw_exponential(workload_rng_, static_cast<double>(scenario_.query_interval.count()))))};
    } else {
      at += scenario_.query_interval;
    }
  }
  last_query_at_ = at;
}

run_results simulator::run() {
  build_overlay();
  run_results out;
  out.health = measure_health();
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
  // Fold in the counts each worker kept for its own peers.
  for (auto& w : workers_) {
    for (std::size_t k = 0; k < w->counts.size() && k < queries_.size(); ++k) {
      w->counts[k].add_to(queries_[k]);
      w->counts[k] = query_counts{};
    }
  }
  out.queries = queries_;
  for (const auto& n : nodes_) out.totals += n->stats();
  std::vector<std::uint64_t> load;
  for (std::uint32_t i = 0; i < honest_peers(); ++i) {
    if (running_[i]) load.push_back(nodes_[i]->stats().messages_received);
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
  return out;
}

overlay_health simulator::measure_health() const {
  overlay_health h;
  const std::uint32_t n = size();
  std::vector<std::uint32_t> in_degree(n, 0);
  // Union-find over active links, taken as undirected.
  std::vector<std::uint32_t> parent(n);
  for (std::uint32_t i = 0; i < n; ++i) parent[i] = i;
  auto find = [&](std::uint32_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
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
      const auto a = find(i), b = find(j);
      if (a != b) parent[a] = b;
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
    if (component_size[find(i)]++ == 0) ++h.components;
    h.in_degree_min = std::min(h.in_degree_min, in_degree[i]);
    h.in_degree_max = std::max(h.in_degree_max, in_degree[i]);
    sq += static_cast<double>(in_degree[i]) * in_degree[i];
  }
  h.largest_component = *std::max_element(component_size.begin(), component_size.end());
  h.in_degree_mean = static_cast<double>(active_sum) / running;
  h.in_degree_stddev = std::sqrt(std::max(0.0, sq / running - h.in_degree_mean * h.in_degree_mean));
  return h;
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

// The simulator's event loop (see simulator.hpp): the peers' host calls turned into events,
// the dispatch of each event to its peer, the look-ahead that warms the next events' memory,
// and run_until, which alternates windows of peer events with global events (searches, faults).
// The worker threads and the windows themselves are in workers.cpp.

#include "sim/simulator.hpp"

#include <algorithm>
#include <limits>

#include "overlay/codec.hpp"
#include "overlay/memory_hints.hpp"
#include "sim/adversary.hpp"
#include "sim/compact.hpp"
#include "sim/downloads.hpp"
#include "sim/write_prefetch.hpp"

namespace hearsay::sim {

std::uint64_t simulator::next_global_key() {
  HEARSAY_ASSERT(global_scheduled_ < UINT32_MAX);
  return global_scheduled_++;
}

void simulator::post_global(micros at, event e) { global_.push(at, next_global_key(), std::move(e)); }

micros simulator::link_latency(std::uint32_t a, std::uint32_t b) const {
  return scenario_.latency.link(scenario_.seed ^ stream_network, a, b);
}

std::uint64_t simulator::events_processed() const {
  std::uint64_t n = events_;
  if (compact_ != nullptr) n += compact_events();
  for (const auto& w : workers_) n += w->events;
  return n;
}

// ---- the peers' host calls ---------------------------------------------------------------------

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
  // Loss and partitions (faults.cpp), asked only when the scenario has them.
  if (sim.scenario_.loss > 0 && sim.lost(key)) return;  // lost
  if (sim.scenario_.partition_duration.count() != 0 && sim.partitioned(self_, target, w.now)) return;
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

// ---- dispatch ----------------------------------------------------------------------------------

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
      HEARSAY_ASSERT(decoded->sender == address_of(d->from));
      nodes_[d->to]->on_message(now, decoded->sender, std::move(decoded->msg));
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

void simulator::run_global_events() {
  while (!global_.empty() && global_.next_time() == now_) {
    const auto e = global_.take();
    ++events_;
    dispatch_global(e.payload);
    global_.release(e.slot);
  }
}

void simulator::dispatch_global(event& e) {
  if (auto* q = std::get_if<issue_query>(&e)) {
    query_record& r = queries_[q->index];
    if (!running_[r.origin]) return;
    if (compact_ != nullptr) {
      compact_issue(q->index);
      return;
    }
    r.issued = now_;
    // The id is known only once the search starts, but the origin's own first sends happen
    // inside search(): count them from the counters instead (shared with the origin's block,
    // but nothing else runs during a global event).
    const auto sent_before = nodes_[r.origin]->stats().queries_forwarded;
    r.id = nodes_[r.origin]->search(now_, file_name(r.file));
    r.query_messages += static_cast<std::uint32_t>(nodes_[r.origin]->stats().queries_forwarded - sent_before);
    query_index_.insert(r.id, q->index);
    for (auto& w : workers_) w->counted_id = 0;  // an id looked up before (the first sends) is known now
  } else if (auto* f = std::get_if<fault>(&e)) {
    on_fault(*f);
  }
}

// ---- the look-ahead ----------------------------------------------------------------------------

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
  // Every slot holds a node (but inside restart_peer), whether it runs or not. A message
  // reads part of the node; timers (which also check the peer's incarnation) and failures may
  // read any of it.
  const node* n = nodes_[i];
  if (const auto* d = std::get_if<deliver>(&e)) {
    memory_hints::prefetch_for(*n, d->msg);
  } else if (const auto* t = std::get_if<fire_timer>(&e)) {
    prefetch_line(&incarnation_[i]);
    memory_hints::prefetch_for(*n, t->id);
  } else {
    memory_hints::prefetch(*n);
  }
}

void simulator::warm_pointees(const event& e) const {
  if (const auto* d = std::get_if<deliver>(&e)) {
    if (running_[d->to]) memory_hints::warm_for(*nodes_[d->to], d->msg);
  } else if (const auto* t = std::get_if<fire_timer>(&e)) {
    if (running_[t->node]) memory_hints::warm_for(*nodes_[t->node], t->id);
  }
}

// ---- the loop ----------------------------------------------------------------------------------

void simulator::run_worker(worker& w, micros end) {
  // Memory latency dominates a large run: each event reads a payload, then the state of the
  // peer it is for, then tables that state points to, all cold and scattered. So before each
  // event the loop looks ahead in three stages `ahead` events apart: it prefetches the payload
  // of the event 3 x ahead; reads the payload of the one 2 x ahead (prefetched `ahead` events
  // ago) and prefetches its peer; reads the peer of the one `ahead` events ahead (prefetched
  // `ahead` events ago) and prefetches what it points to. Only prefetches are issued for lines
  // not yet asked for, so the loop never waits on a miss of its own making, and the misses of
  // `ahead` events are in flight at once; by the time an event runs, its lines are in the
  // cache. One event at a time: the prefetches of several peers issued in one burst fill the
  // processor's miss buffers and stall it (bench/HISTORY.md).
  take_incoming(w);
  constexpr std::size_t ahead = 8;
  auto& queue = w.queue;
  while (!queue.empty() && queue.next_time() <= end) {
    if (const event* e = queue.peek(3 * ahead)) {
      warm_payload(*e);
    } else {
      // Near the end of the current bucket: the next one, sorted now, lets the look-ahead
      // see past it, so that the first 3 x ahead events of each bucket are warmed in time too.
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

void simulator::run_until(micros t) {
  if (compact_ != nullptr) {
    compact_run_until(t);
    return;
  }
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
      run_global_events();
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

}  // namespace hearsay::sim

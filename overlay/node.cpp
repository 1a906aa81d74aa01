// One overlay peer: dispatch between HyParView membership and flooded search.

#include "overlay/node.hpp"

#include "overlay/prefetch.hpp"

namespace hearsay {

node::node(const node_config& cfg, const peer_addr& self, std::uint64_t seed, host& h)
    : rng_(seed),
      self_(self),
      membership_(cfg.membership, cfg.seeds, self, rng_, h, stats_),
      search_(cfg.search, self, rng_, h, stats_, library_, membership_) {
  HEARSAY_ASSERT(!self_.is_unspecified());
}

void node::start(micros now) {
  HEARSAY_ASSERT(!running_);
  running_ = true;
  membership_.start(now);
}

void node::start_static(micros now, std::span<const peer_addr> neighbours) {
  static_cast<void>(now);
  HEARSAY_ASSERT(!running_);
  running_ = true;
  membership_.start_static(neighbours);
}

void node::leave(micros now) {
  if (!running_) return;
  membership_.leave(now);
  running_ = false;
}

void node::on_message(micros now, const peer_addr& from, message&& m) {
  if (!running_) return;
  ++stats_.messages_received;
  // Queries, shuffles and forward-joins travel only on overlay links. One arriving from a
  // peer outside the active view means the link is one-sided (crossing messages left it so):
  // DISCONNECT tells the sender, which heals the asymmetry at once. A walk from a peer in the
  // passive view is still served: a neighbour this node has just dropped (it goes there) sent
  // it before it learned so; in a flash crowd a contact drops a neighbour every few
  // milliseconds. A walk from a peer in neither view is not (a shuffle naming peers of its
  // choosing, a join walk for an address of its choosing). A query from outside is dropped,
  // since its reverse path is not a link.
  if (const auto* q = std::get_if<msg_query>(&m)) {
    // The link is looked up once: the searcher charges the copy to its budget.
    membership::link_state* link = membership_.link(from);
    if (link == nullptr) {
      ++stats_.messages_unexpected;
      membership_.refuse(from);
      return;
    }
    search_.on_query(now, from, *q, *link);
    return;
  }
  const bool on_link_only = std::holds_alternative<msg_shuffle>(m) || std::holds_alternative<msg_forward_join>(m);
  const bool stranger = on_link_only && !membership_.is_active(from) && !membership_.is_static();
  if (stranger && !membership_.is_passive(from)) {
    ++stats_.messages_unexpected;
    membership_.refuse(from);
    return;
  }
  if (membership_.on_message(now, from, m)) {
    // Handling the walk may itself have made `from` a neighbour (a join walk ending here).
    if (stranger && !membership_.is_active(from)) membership_.refuse(from);
    return;
  }
  if (search_.on_message(now, from, m)) return;
  ++stats_.messages_unexpected;
}

void node::on_timer(micros now, timer_id id) {
  if (!running_) return;
  if (membership_.on_timer(now, id)) return;
  search_.on_timer(now, id);
}

void node::on_peer_down(micros now, const peer_addr& peer) {
  if (!running_) return;
  membership_.on_peer_down(now, peer);
}

query_id node::search(micros now, std::string criteria_text, search_options opts) {
  HEARSAY_ASSERT(running_);
  return search_.start(now, std::move(criteria_text), opts.ttl, opts.reply_direct);
}

void node::prefetch() const { prefetch_object<sizeof(node)>(this); }

namespace {
// Prefetches the lines of the bytes [begin, end) of one object.
void prefetch_between(const void* begin, const void* end) {
  prefetch_range(begin, static_cast<std::size_t>(static_cast<const char*>(end) - static_cast<const char*>(begin)));
}
}  // namespace

void node::prefetch_head(std::size_t counters) const {
  // The first lines: the flag, the random stream, the library, the first `counters` bytes of
  // counters.
  prefetch_between(this, reinterpret_cast<const char*>(&stats_) + counters);
}

void node::prefetch_membership() const { prefetch_between(&membership_, membership_.protocol_end()); }

void node::prefetch_for(const message& m) const {
  // A query copy bumps five counters (the head then ends inside the second line); the rest
  // of the messages may bump any of the hot ones.
  const bool query = std::holds_alternative<msg_query>(m);
  prefetch_head(query ? node_stats::query_hot_bytes : node_stats::hot_bytes);
  if (query || std::holds_alternative<msg_query_hit>(m) || std::holds_alternative<msg_walk_check>(m) ||
      std::holds_alternative<msg_walk_status>(m)) {
    // The membership's last members (the active view and its links) and the searcher's first
    // ones, which follow them.
    prefetch_between(membership_.hot_begin(), search_.hot_end());
  } else if (const auto* s = std::get_if<msg_shuffle>(&m); s != nullptr && s->ttl > 1) {
    // A shuffle walk with hops to go most likely passes through to a random neighbour (unless
    // this node has one neighbour only), reading 4 of the membership's 8 lines.
    prefetch_between(membership_.walk_begin(), membership_.protocol_end());
  } else {
    prefetch_membership();
  }
}

void node::prefetch_for(const timer_id& t) const {
  if (!membership::owns(t)) {
    prefetch();
    return;
  }
  prefetch_head(node_stats::hot_bytes);
  prefetch_membership();
}

void node::warm_for(const timer_id& t) const {
  if (running_ && membership::owns(t)) membership_.warm_for(t);
}

void node::warm_for(const message& m) const {
  if (!running_) return;
  membership_.warm_for(m);
  search_.warm_for(m);
}

void node::remember_peers(std::span<const peer_addr> peers) {
  for (const auto& p : peers) membership_.add_passive(p);
}

}  // namespace hearsay

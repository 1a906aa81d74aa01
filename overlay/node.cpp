// One overlay peer: dispatch between HyParView membership and flooded search.

#include "overlay/node.hpp"


namespace hearsay {

node::node(const node_config& cfg, const peer_addr& self, std::uint64_t seed, host& h, node_stats* shared)
    : stats_(shared),
      rng_(seed),
      self_(self),
      membership_(cfg.membership, cfg.seeds, self, rng_, h, stats_.get()),
      search_(cfg.search, h, stats_.get(), library_, membership_) {
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
  ++messages_received_;
  ++stats_.get().messages_received;
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
      ++stats_.get().messages_unexpected;
      membership_.refuse(from);
      return;
    }
    search_.on_query(now, from, *q, *link);
    return;
  }
  const bool on_link_only = std::holds_alternative<msg_shuffle>(m) || std::holds_alternative<msg_forward_join>(m);
  const bool stranger = on_link_only && !membership_.is_active(from) && !membership_.is_static();
  if (stranger && !membership_.is_passive(from)) {
    ++stats_.get().messages_unexpected;
    membership_.refuse(from);
    return;
  }
  if (membership_.on_message(now, from, m)) {
    // Handling the walk may itself have made `from` a neighbour (a join walk ending here).
    if (stranger && !membership_.is_active(from)) membership_.refuse(from);
    return;
  }
  if (search_.on_message(now, from, m)) return;
  ++stats_.get().messages_unexpected;
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

void node::remember_peers(std::span<const peer_addr> peers) {
  for (const auto& p : peers) membership_.add_passive(p);
}

}  // namespace hearsay

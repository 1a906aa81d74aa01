#pragma once
// The node's only window on the world: what a driver (the simulator, or the Asio transport)
// must provide. The node is sans-I/O: it is told of messages, timers and failures through
// node's on_* functions and answers exclusively through this interface.
//
// Guarantees every implementation must give:
// - No re-entrancy: no function here calls back into the node before it returns. Delivery,
//   failure reports and timers happen later, from the driver's event loop.
// - Per-destination FIFO: messages to the same peer arrive in the order they were sent, or
//   not at all (then the driver reports node::on_peer_down for that peer).
// - Failure reports: if a message cannot be delivered because the peer is unreachable or its
//   link broke, the driver calls node::on_peer_down(peer) once for that episode.

#include <cstdint>

#include "overlay/messages.hpp"
#include "overlay/types.hpp"

namespace hearsay {

enum class timer_kind : std::uint8_t {
  shuffle,           // periodic HyParView shuffle
  repair,            // periodic top-up of the active view / re-join when isolated
  join_timeout,      // a JOIN went unanswered (arg: generation)
  neighbor_timeout,  // a NEIGHBOR request went unanswered (arg: generation)
  query_timeout,     // the origin closes a query (arg: query id)
  search_step,       // the search strategy's next stage, e.g. a wider ring (arg: query id)
  walk_park_timeout, // parked walkers whose origin did not answer are dropped (arg: query id)
  mix,               // periodic mixing of the active view (membership_config::mix_period)
};

struct timer_id {
  timer_kind kind = timer_kind::shuffle;
  std::uint64_t arg = 0;
  friend bool operator==(const timer_id&, const timer_id&) = default;
};

class host {
 public:
  virtual ~host() = default;

  // Deliver m to peer `to`, opening a link if there is none.
  virtual void send(const peer_addr& to, const message& m) = 0;
  // The same, for a message the node no longer needs: a driver that keeps messages (the
  // simulator, until delivery) may take it over instead of copying it.
  virtual void send_owned(const peer_addr& to, message&& m) { send(to, m); }
  // The node no longer needs its link to `peer` (it left the active view). A driver may
  // close the link once queued messages are out; no on_peer_down follows for it.
  virtual void disconnect(const peer_addr& peer) = 0;
  // Call node::on_timer(now, id) once at virtual/monotonic time `at` (or as soon after).
  // Timers are never cancelled: the node ignores stale ones by their generation.
  virtual void schedule(micros at, timer_id id) = 0;
  // A number other peers cannot guess (it proves that a reply answers this node's own
  // request): from a cryptographic generator in a real node, never the node's random stream,
  // whose draws other peers see (query ids). A simulator may derive it deterministically,
  // as long as it does not disturb the node's random stream.
  virtual std::uint64_t nonce() = 0;

  // ---- observations, for applications and metrics; all optional ----
  // A hit for a query this node originated (latency = now - the query's start).
  virtual void on_search_hit(query_id, const msg_query_hit&, micros latency) {
    static_cast<void>(latency);
  }
  // The origin closed a query after search_config::query_timeout.
  virtual void on_search_done(query_id, std::uint32_t hits) { static_cast<void>(hits); }
  // A query copy arrived here; duplicate = this node had already seen its id.
  virtual void on_query_seen(const msg_query&, bool duplicate) { static_cast<void>(duplicate); }
  // The active view gained (added = true) or lost a neighbour. A transport keeps links to
  // active neighbours open and may close other idle links.
  virtual void on_active_view_changed(const peer_addr& peer, bool added) {
    static_cast<void>(peer);
    static_cast<void>(added);
  }
};

}  // namespace hearsay

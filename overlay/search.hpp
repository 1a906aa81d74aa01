#pragma once
// Search by TTL-limited flooding, as in the Gnutella 0.4 protocol (Clip2, 2001) and analysed
// by Lv, Cao, Cohen, Li and Shenker, "Search and replication in unstructured peer-to-peer
// networks", ICS 2002.
//
// A query carries an id, its origin, a TTL and a hop count. Each node answers from its own
// library, then forwards the query to `fanout` active neighbours (never back to the sender)
// with TTL - 1 while TTL > 1. Copies of an id already seen are dropped, unless they arrive
// with a higher remaining TTL: then they are forwarded again, so the whole TTL ball is
// covered even when a long path delivers first. Hits travel back along the reverse path the
// query took (the duplicate cache remembers each id's upstream), or straight to the origin
// when the query asks for it.
//
// How copies spread (to fanout neighbours, by gossip, in rings or as walkers) is the
// strategy's: see strategy.hpp. The searcher does what every strategy shares.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/dup_cache.hpp"
#include "overlay/host.hpp"
#include "overlay/library.hpp"
#include "overlay/membership.hpp"
#include "overlay/messages.hpp"
#include "overlay/rng.hpp"
#include "overlay/small_vector.hpp"
#include "overlay/stats.hpp"
#include "overlay/token_bucket.hpp"

namespace hearsay {

// A search this node started, while it is open (until query_timeout).
struct open_search {
  micros started{0};
  std::uint32_t hits = 0;
  std::uint8_t strategy = 0;    // its row in the strategy table
  std::uint8_t stage = 0;       // for the strategy's steps (an expanding ring: the current TTL)
  std::uint8_t stage_last = 0;  // ... and the last stage (the widest ring allowed)
  msg_query query;              // what was sent, for later stages
};

class searcher {
 public:
  // The node's address and random stream are its membership's.
  searcher(const search_config& cfg, host& h, node_stats& stats, const library& files, membership& members);

  query_id start(micros now, std::string criteria_text, std::uint8_t ttl, bool reply_direct);

  // Handles a search message other than a query copy; false when m is not one. Query copies
  // come through on_query, with their link (node::on_message finds it).
  bool on_message(micros now, const peer_addr& from, const message& m);
  // A query copy from active neighbour `from`, whose link the caller has found (node::on_message
  // looks it up once, both to check that the copy came over a link and for its query budget).
  void on_query(micros now, const peer_addr& from, const msg_query& q, membership::link_state& link);
  bool on_timer(micros now, timer_id id);

  std::size_t open_queries() const { return own_ == nullptr ? 0 : own_->open.size(); }
  const dup_cache& seen() const { return seen_; }

  // ---- what search strategies (overlay/strategy.hpp) work with ----
  const search_config& config() const { return cfg_; }
  rng& random() { return members_.random(); }
  const peer_addr& self() const { return members_.self(); }
  std::span<const peer_addr> neighbours() const { return members_.active(); }
  bool is_neighbour(const peer_addr& p) const { return members_.is_active(p); }
  // Sends a copy of a query on to `to` (counted as forwarded).
  void pass_to(const peer_addr& to, const message& copy) {
    ++stats_.queries_forwarded;
    send(to, copy);
  }
  // Opens the search for its first copies: this node remembers the id (with the first
  // copies' TTL) and closes the search query_timeout + extra_wait from now. A strategy's
  // start calls it once, before it sends anything.
  void launch(micros now, const open_search& search, micros extra_wait = micros{0});
  // Arms the strategy's timer for search `id` (timer_kind::search_step).
  void schedule_step(micros at, query_id id) { host_.schedule(at, {timer_kind::search_step, id}); }
  // The origin's own copy of `id` now travels `ttl` far: relays' copies of no more TTL are
  // duplicates to it.
  void widen_own(micros now, query_id id, std::uint8_t ttl);

 private:
  void on_hit(micros now, const peer_addr& from, const msg_query_hit& h);
  void on_walk_check(micros now, const peer_addr& from, const msg_walk_check& m);
  void on_walk_status(micros now, const msg_walk_status& m);
  void send(const peer_addr& to, const message& m);
  void send(const peer_addr& to, message&& m);  // a message built for this send
  void answer(micros now, const msg_query& q, const peer_addr& upstream);
  // Takes one token from the budget of a link; false when the neighbour is over its rate.
  bool admit(micros now, membership::link_state& link);

  friend class memory_hints;  // reads the layout below

  // What every query copy reads comes first, right after the membership's hot members in
  // the node (see memory_hints.cpp).
  // (The node's random stream and address are the membership's: members_.random(), .self().)
  const search_config& cfg_;
  host& host_;
  node_stats& stats_;
  const library& library_;
  membership& members_;  // its links keep each neighbour's query budget
  dup_cache seen_;

  // Sends to addresses named by a message rather than to a neighbour (direct hits to a
  // query's origin, walkers' check-backs): rate-limited, so that a forged origin cannot turn
  // the overlay into an amplifier aimed at a third party.
  token_bucket stranger_sends_;

  // The searches this node started, and the walkers it holds: kept out of line and made on
  // first use, since most peers of a simulation never search and none has walkers unless the
  // walk strategy is in use.
  struct own_searches {
    std::unordered_map<query_id, open_search> open;
    // Walkers waiting for their origin's go-ahead, by query id (bounded in total).
    std::unordered_map<query_id, std::vector<std::pair<peer_addr, msg_query>>> parked;
    std::size_t parked_count = 0;
  };
  own_searches& own();
  open_search* find_open(query_id id);  // nullptr: not a search of this node's, or closed
  std::unique_ptr<own_searches> own_;
};

}  // namespace hearsay

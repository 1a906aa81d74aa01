#pragma once
// Memory-latency hints: the one place where the overlay serves speed rather than the protocol.
//
// A driver that knows which events come next (the simulator looks some events ahead in its
// queue) can overlap the cache misses of many peers' state instead of taking them one after
// another. These functions tell it what handling an event will read:
//
//   prefetch(n)          every line of the node object;
//   prefetch_for(n, m)   only the lines of the node object that handling m reads (a query copy
//                        reads about half of a node's lines);
//   warm_for(n, m)       called once those lines have arrived (it reads the node's pointers):
//                        what handling m reads behind them — the passive view, the duplicate-
//                        cache slot of a query id, the peers a shuffle carries.
//
// They only issue prefetches, never load the tables themselves: a driver warming several peers
// in a row never waits in the hints and takes the misses of many peers at once. None changes
// any state, and a hint that guesses wrong only costs time, so the protocol code never needs
// to know about them. The real node does not call them.
//
// What the protocol classes keep for speed, all documented where it lives and gathered here:
// - member order: node, membership, searcher, dup_cache and node_stats put what every event
//   reads first (or last) so that these hints name a few adjacent lines (see each class);
// - the link's `upstream_memo` (membership::link_state): the searcher's note of a neighbour's
//   number in its duplicate cache, which saves a look-up per query copy (dup_cache::insert).
// This file is a friend of those classes: it reads their layout, they do not call it.

#include <cstddef>

#include "overlay/host.hpp"
#include "overlay/messages.hpp"

namespace hearsay {

class node;
class membership;
class searcher;
class dup_cache;

class memory_hints {
 public:
  static void prefetch(const node& n);
  static void prefetch_for(const node& n, const message& m);
  static void warm_for(const node& n, const message& m);
  static void prefetch_for(const node& n, const timer_id& t);
  static void warm_for(const node& n, const timer_id& t);

 private:
  // The node's first lines: the flag, the counters' handle, the random stream, the library.
  static void prefetch_head(const node& n);
  // The first `counters` bytes of the node's counters (behind the handle).
  static void warm_counters(const node& n, std::size_t counters);
  // What membership messages and timers read of the membership.
  static void prefetch_membership(const node& n);
  static void warm_membership(const membership& m, const message& msg);
  static void warm_membership(const membership& m, const timer_id& t);
  // The line where id would be found in the duplicate cache, and its table of upstreams
  // unless the insert will take the upstream's number from a link's memo.
  static void warm_seen(const dup_cache& d, query_id id, bool memo);
};

}  // namespace hearsay

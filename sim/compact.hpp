#pragma once
// The compact engine (see compact.cpp): the state of a run on a fixed graph whose peers are a
// few words each rather than whole overlay nodes. Only simulator.cpp and compact.cpp include
// this header.

#include <cstdint>
#include <future>
#include <vector>

#include "overlay/rng.hpp"
#include "overlay/stats.hpp"
#include "overlay/token_bucket.hpp"
#include "sim/event_queue.hpp"
#include "sim/simulator.hpp"

namespace hearsay::sim {

struct simulator::compact_world {
  using kind = compact_event_kind;
  using event = compact_world_event;

  // What a peer remembers of one query: the duplicate cache's entry (overlay/dup_cache.hpp),
  // kept with the query rather than with the peer, in a table that lives while the query has
  // messages in flight. 12 bytes.
  struct visit {
    std::uint32_t peer = empty;
    std::uint32_t upstream = 0;  // where its first copy came from (the origin: itself)
    std::uint8_t ttl_best = 0;
    std::uint8_t hits_relayed = 0;
    static constexpr std::uint32_t empty = ~std::uint32_t{0};
  };

  // One search: the origin's open search (overlay/search.hpp's open_search) and the peers'
  // visits.
  struct search {
    std::vector<visit> visits;  // open addressing on the peer, at most half full
    // The peers whose libraries match its criteria, a bit each (made at its issue): every
    // peer it reaches asks, and a bit in a table this size is in cache where the peer's own
    // list of files would be a miss.
    std::vector<std::uint64_t> holders;
    std::uint32_t visited = 0;
    std::size_t size_hint = 0;  // the table's first size (a power of two)
    std::uint32_t in_flight = 0;  // copies and hits on their way, and pending steps
    std::uint32_t origin_hits = 0;
    std::uint8_t stage = 0, stage_last = 0;  // an expanding ring's
    bool open = false;
    bool started = false;

    // The visit of `peer`, or nullptr.
    visit* find(std::uint32_t peer);
    // The visit of `peer`, made (with `upstream` and `ttl`) when there is none; `found` says which.
    visit& find_or_insert(std::uint32_t peer, std::uint32_t upstream, std::uint8_t ttl, bool& found);
    // The table is released once nothing can read it again.
    void release() {
      std::vector<visit>().swap(visits);
      std::vector<std::uint64_t>().swap(holders);
      visited = 0;
    }
  };

  event_queue<event> queue{12, 12};
  micros now{0};
  std::uint64_t events = 0;
  // Per peer: what every event for it reads, in one 16-byte record (four to a cache line, one
  // miss an event), and its random stream apart (only fan-outs below the degree and gossip
  // draw from it).
  struct peer {
    std::uint32_t first = 0;      // its neighbours: the graph's targets [first, first + degree)
    std::uint32_t degree = 0;
    std::uint32_t scheduled = 0;  // events it scheduled (the key of the next: see peer_host)
    std::uint32_t received = 0;   // messages it received (its load)
  };
  static_assert(sizeof(peer) == 16);
  std::vector<peer, large_allocator<peer>> peers;
  std::vector<rng, large_allocator<rng>> random;  // each peer's own stream, as its node's
  // Per link end (graph target index), only when the neighbours' query budgets might bind.
  std::vector<token_state> budgets;
  // Per query record.
  std::vector<search> searches;
  // Per file: the catalogue files a search for it matches (the query's criteria), made on
  // first use.
  std::vector<std::vector<file_id>> matches;
  std::vector<std::uint8_t> matches_made;
  std::size_t visits_hint = 0;  // the table size the last search that ended needed
  node_stats stats;  // the peers' counters, summed as they go
  // The graph's structure, measured on a second thread while the searches run (it reads only
  // the graph; the run is one thread).
  std::future<structure_comparison> structure;
};

}  // namespace hearsay::sim

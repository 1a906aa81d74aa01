#pragma once
// The compact engine (see compact.cpp): the state of a run on a fixed graph whose peers are a
// few words each rather than whole overlay nodes. Only simulator.cpp and compact.cpp include
// this header.

#include <atomic>
#include <cstdint>
#include <future>
#include <limits>
#include <memory>
#include <thread>
#include <unordered_map>
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

  // The visits of one search at the peers of one worker: open addressing on the peer, at most
  // half full.
  struct visit_table {
    std::vector<visit> slots;
    std::uint32_t count = 0;
    // The visit of `peer`, or nullptr.
    visit* find(std::uint32_t peer);
    // The visit of `peer`, made (with `upstream` and `ttl`) when there is none; `found` says
    // which. A new table starts at `first_size` slots (a power of two).
    visit& find_or_insert(std::uint32_t peer, std::uint32_t upstream, std::uint8_t ttl, bool& found,
                          std::size_t first_size);
    void release() {
      std::vector<visit>().swap(slots);
      count = 0;
    }
  };

  // One search: what its origin keeps (overlay/search.hpp's open_search), written by the
  // origin's worker only, and the peers holding what it asks for.
  struct search {
    // The peers whose libraries match its criteria, a bit each (made at its issue, read by
    // every worker): every peer it reaches asks, and a bit in a table this size is in cache
    // where the peer's own list of files would be a miss.
    std::vector<std::uint64_t> holders;
    std::uint32_t origin_hits = 0;
    std::uint8_t stage = 0, stage_last = 0;  // an expanding ring's
    bool open = false;
  };

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
  // The workers, the searches whose tables are live, and the window hand-off (as the node
  // engine's, workers.cpp).
  std::vector<std::unique_ptr<compact_worker>> workers;
  std::uint32_t worker_mask = 0;  // workers - 1 when that is a power of two, else ~0
  std::vector<std::uint32_t> live;
  unsigned parity = 0;
  bool in_window = false;
  micros lookahead{0};
  std::vector<std::thread> helpers;
  std::atomic<std::uint32_t> generation{0};
  std::atomic<unsigned> done{0};
  std::atomic<bool> stopping{false};
  micros window_end{0};
  // The graph's structure, measured on a thread of its own meanwhile (simulator::run).
  std::future<structure_comparison> structure;
};

// One thread's share of the peers (blocks of 64, dealt in turn), as the node engine's workers
// (simulator.hpp): its own events, counters and visit tables. Messages to another worker's
// peers wait in its outbox until the window ends.
struct alignas(64) simulator::compact_worker {
  unsigned index = 0;
  event_queue<compact_world_event> queue{12, 12};
  micros now{0};
  std::uint64_t events = 0;
  node_stats stats;                   // its peers' counters
  std::vector<query_counts> counts;   // per query record
  std::vector<compact_world::visit_table> visits;    // per query record: its peers' visits
  // Per query record: messages this worker sent less those it received, and steps armed
  // less those run. Summed over the workers: what the search has in flight.
  std::vector<std::int64_t> in_flight;
  std::size_t visits_hint = 0;  // the size its table of the last search settled needed
  // Walkers waiting at a relay for their origin's go-ahead (overlay/search.hpp's parked
  // walkers), by (relay << 32 | record); how many each relay holds; and each relay's budget of
  // sends to addresses a query named (made on first use).
  struct parked_walker {
    std::uint32_t from;
    std::uint8_t ttl, hops;
  };
  std::unordered_map<std::uint64_t, std::vector<parked_walker>> parked;
  std::unordered_map<std::uint32_t, std::uint32_t> parked_count;
  std::unordered_map<std::uint32_t, token_state> stranger_budget;
  struct outgoing {
    micros at;
    std::uint64_t key;
    compact_world_event e;
  };
  // Per destination worker, in two sets: a window writes one while the receivers take in
  // the other (as the node engine's outboxes), with the earliest time in each set.
  std::vector<std::vector<outgoing>> outbox[2];
  micros outbox_earliest[2] = {micros{std::numeric_limits<std::int64_t>::max()},
                               micros{std::numeric_limits<std::int64_t>::max()}};
};

}  // namespace hearsay::sim

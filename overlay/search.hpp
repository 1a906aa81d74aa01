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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/host.hpp"
#include "overlay/library.hpp"
#include "overlay/membership.hpp"
#include "overlay/messages.hpp"
#include "overlay/rng.hpp"
#include "overlay/small_vector.hpp"
#include "overlay/stats.hpp"
#include "overlay/token_bucket.hpp"

namespace hearsay {

// Bounded memory of recently seen query ids: capacity and lifetime, oldest first out.
//
// Every query copy a node receives touches this table, and a simulation holds one per peer,
// so it is one flat open-addressing table (linear probing, a cache line of four 16-byte slots
// at a time; ids leave only in sweeps, which re-lay it) and nothing else: no allocation per
// query. A lookup for a new id usually reads one line, and the insert that follows writes
// the same line. Times are 32-bit offsets from an epoch the cache moves forward when they would
// overflow (microseconds, or coarser ticks for lifetimes over 17 minutes). An id's upstream (the
// peer its first copy came from) is a 16-bit index into a small table of the distinct upstreams
// the cache holds: queries come from active neighbours only, so a node's ids share a handful of
// upstreams, and an 18-byte address per id would double the slot.
//
// Expired ids are not removed one by one: find() treats them as absent, and they leave in a
// sweep when the table fills (at 3/4 of its slots, or at `capacity` ids). The sweep keeps the
// live ids, and when those alone reach the capacity it also drops the oldest eighth of them
// (by the time each was last inserted); then the table is sized so that the live ids take at
// most 3/8 of it. So a sweep comes at most once per 3/8 of a table's worth of inserts, and
// the table holds at most `capacity` ids, at least 7/8 of them once it has been full. A sweep
// that finds every id live (the ids come faster than they expire) skips a size out of the
// first table: 16 slots to 64, not 32. The upstream table is compacted in the same sweep,
// unless no id left. Should it reach upstreams_max distinct addresses between sweeps (a table
// of more than 65,535 slots, and that many different neighbours within a lifetime), ids
// inserted later still suppress duplicates but remember no upstream: hits for them are
// dropped, never misrouted.
class dup_cache {
 public:
  struct entry {
    std::uint8_t ttl_best = 0;      // highest remaining TTL any copy arrived with
    std::uint8_t hits_relayed = 0;  // (search_config::hits_per_query_max is at most 255)
    std::uint16_t upstream = 0;     // index of the first copy's sender: see upstream_of()
  };
  static constexpr std::uint16_t no_upstream = 0xffff;
  static constexpr std::size_t upstreams_max = no_upstream;

  dup_cache(std::uint32_t capacity, micros lifetime);
  dup_cache(const dup_cache&) = delete;  // slots_ points into storage_
  dup_cache& operator=(const dup_cache&) = delete;

  // The live entry for id, or nullptr (expired entries count as absent). The pointer is
  // valid until the next insert.
  entry* find(query_id id, micros now);
  // Inserts an entry for id (refreshing an expired one in place), making room first when the
  // table is full (see above).
  //
  // memo, if given, is the caller's note of upstream's number in this cache, kept beside its
  // link to that peer (membership::link_state) and 0 at first: while the cache's numbering
  // has not changed since, the insert takes the number from it instead of looking the address
  // up, which reads the table of upstreams (two or three lines more per query copy). A sweep
  // renumbers, and the next insert through each link looks its upstream up once again.
  entry& insert(query_id id, micros now, const peer_addr& upstream, std::uint8_t ttl_best,
                std::uint64_t* memo = nullptr);
  // find() and, when it finds nothing, insert() in one probe: the live entry for id with
  // `found` set, or the entry just inserted with `found` cleared. Every query copy asks this.
  entry& find_or_insert(query_id id, micros now, const peer_addr& upstream, std::uint8_t ttl_best,
                        std::uint64_t* memo, bool& found);
  // Where the first copy of an entry's id came from (self for own queries); nullptr when the
  // cache could not remember it (see above).
  const peer_addr* upstream_of(const entry& e) const {
    return e.upstream < upstreams_.size() ? &upstreams_[e.upstream] : nullptr;
  }
  // Ids held: the live ones and expired ones not yet swept out. At most the capacity.
  std::size_t size() const { return count_; }
  // Slots in the table (a power of two, or 0 before the first insert).
  std::size_t slot_count() const { return slot_count_; }
  // Distinct upstreams held (those of ids swept out leave at the next sweep).
  std::size_t upstream_count() const { return upstreams_.size(); }
  // Prefetches the line where id would be found (see node::warm_for), and the upstream table
  // unless the insert will have a memo.
  void warm(query_id id, bool memo) const;
  // The members a query copy reads (lookup, and an insert with a memo) end here.
  const void* hot_end() const { return &storage_; }

 private:
  static constexpr std::size_t none = ~std::size_t{0};
  static constexpr std::size_t first_slots = 16;
  struct alignas(16) slot {
    query_id id = 0;  // 0: empty (query ids are never 0)
    std::uint32_t seen = 0;  // ticks since epoch_ of the last insert
    entry value;
  };
  static_assert(sizeof(slot) == 16);
  // The table is probed a cache line at a time: an id's probe run starts at its home slot,
  // goes round the rest of that line, then on through whole lines. A plain run of slots would
  // cross into the next line about half the time at the loads the table runs at, and that
  // line is one the lookup's prefetch (warm) did not ask for. So the slots start on a line:
  // the storage has room to move the table up to the next 64-byte boundary.
  static constexpr std::size_t slots_per_line = 64 / sizeof(slot);
  std::span<slot> table() { return {slots_, slot_count_}; }
  std::span<const slot> table() const { return {slots_, slot_count_}; }
  // Makes a table of n slots (a power of two, at least a line), all free.
  void allocate_table(std::size_t n);

  std::size_t home(query_id id) const;
  std::size_t lookup(query_id id) const;  // the slot holding id, or none
  // The slot holding id, or the first free slot of its probe run (the table is not empty).
  std::size_t probe(query_id id) const;
  // Sweeps out expired ids, drops the oldest live eighth when the live ids fill the capacity,
  // re-lays the table at a size where the rest take at most 3/8 of it (at least 64 slots when
  // the first table grows with every id live), and keeps only the upstreams the remaining ids
  // name.
  void make_room(micros now);
  // Whether a new id must make room first: the capacity is reached, or it would fill the
  // table past 3/4.
  bool needs_room() const { return count_ >= capacity_ || (std::size_t{count_} + 1) * 4 > slot_count() * 3; }
  // Puts s in the table (there is a free slot) and returns where.
  slot& place(const slot& s);
  // insert() once the probe for id has given slot i (none for an empty table).
  entry& insert_at(std::size_t i, query_id id, micros now, const peer_addr& upstream, std::uint8_t ttl_best,
                   std::uint64_t* memo);
  // The index of upstream a, added if new; no_upstream when the table is full. Up to
  // upstreams_scanned upstreams are found by a scan, more through a hashed index of them.
  std::uint16_t upstream_index(const peer_addr& a);
  std::size_t upstream_home(const peer_addr& a) const;
  void index_upstreams();  // (re)builds upstream_slots_ for the upstreams held
  static constexpr std::size_t upstreams_scanned = 8;
  // A time as ticks since the epoch (moving the epoch first if needed), and back.
  std::uint32_t ticks(micros now);
  micros time_of(std::uint32_t t) const { return epoch_ + micros{std::int64_t{t} << tick_log2_}; }
  bool expired(std::uint32_t seen, micros now) const { return now - time_of(seen) > lifetime_; }

  // What every query copy reads comes first, 56 bytes (see hot_end); the rest only sweeps,
  // hits and inserts without a memo read.
  micros lifetime_;
  micros epoch_{0};
  std::uint32_t capacity_;
  std::uint32_t count_ = 0;  // occupied slots (at most the capacity)
  std::uint8_t tick_log2_ = 0;  // a tick is 2^tick_log2_ us: the lifetime spans under 2^30 ticks
  bool epoch_set_ = false;
  // Counts the sweeps that renumbered the upstreams (a memo holds it in its high 48 bits, so
  // it never wraps round to an old memo's value; memos start at 0, the numbering at 1).
  std::uint64_t numbering_ = 1;
  slot* slots_ = nullptr;
  std::size_t slot_count_ = 0;
  std::unique_ptr<slot[]> storage_;  // the table, and room to start it on a line
  std::vector<peer_addr> upstreams_;
  std::vector<std::uint16_t> upstream_slots_;  // empty, or indices into upstreams_ (no_upstream: free)
};

class searcher {
 public:
  searcher(const search_config& cfg, const peer_addr& self, rng& random, host& h,
           node_stats& stats, const library& files, membership& members);

  query_id start(micros now, std::string criteria_text, std::uint8_t ttl, bool reply_direct);

  // Handles a search message other than a query copy; false when m is not one. Query copies
  // come through on_query, with their link (node::on_message finds it).
  bool on_message(micros now, const peer_addr& from, const message& m);
  // A query copy from active neighbour `from`, whose link the caller has found (node::on_message
  // looks it up once, both to check that the copy came over a link and for its query budget).
  void on_query(micros now, const peer_addr& from, const msg_query& q, membership::link_state& link);
  bool on_timer(micros now, timer_id id);

  // Prefetches what handling m will read behind pointers (see node::warm_for).
  void warm_for(const message& m) const;
  // The members every query copy reads are the first ones, up to here (see
  // node::prefetch_for).
  const void* hot_end() const { return seen_.hot_end(); }

  std::size_t open_queries() const { return own_ == nullptr ? 0 : own_->open.size(); }
  const dup_cache& seen() const { return seen_; }

 private:
  struct open_query {
    micros started{0};
    std::uint32_t hits = 0;
    std::uint8_t ring_ttl = 0;     // expanding ring: the current ring's TTL
    std::uint8_t ring_target = 0;  // ... and the widest ring allowed
    msg_query query;               // what was sent, for further rings
  };

  void on_hit(micros now, const peer_addr& from, const msg_query_hit& h);
  // Sends q to up to fanout active neighbours other than `except`.
  void forward(const msg_query& q, const peer_addr* except);
  // Gossip: each active neighbour other than `except` gets q with probability percent/100.
  void forward_gossip(const msg_query& q, const peer_addr& except);
  // A walker moves on to one random neighbour, not back to `except` unless it must.
  void forward_walk(const msg_query& q, const peer_addr* except);
  // Relays a query copy onward according to its mode (the copy already has TTL-1, hops+1).
  void relay(const msg_query& next, const peer_addr& from);
  void on_walk_check(micros now, const peer_addr& from, const msg_walk_check& m);
  void on_walk_status(micros now, const msg_walk_status& m);
  void send(const peer_addr& to, const message& m);
  void send(const peer_addr& to, message&& m);  // a message built for this send
  void answer(micros now, const msg_query& q, const peer_addr& upstream);
  // Takes one token from the budget of a link; false when the neighbour is over its rate.
  bool admit(micros now, membership::link_state& link);

  // What every query copy reads comes first, right after the membership's hot members in
  // the node (see node::prefetch_for).
  const search_config& cfg_;
  rng& rng_;
  host& host_;
  node_stats& stats_;
  const library& library_;
  membership& members_;  // its links keep each neighbour's query budget
  dup_cache seen_;

  peer_addr self_;
  // Sends to addresses named by a message rather than to a neighbour (direct hits to a
  // query's origin, walkers' check-backs): rate-limited, so that a forged origin cannot turn
  // the overlay into an amplifier aimed at a third party.
  token_bucket stranger_sends_;

  // The searches this node started, and the walkers it holds: kept out of line and made on
  // first use, since most peers of a simulation never search and none has walkers unless the
  // walk strategy is in use.
  struct own_searches {
    std::unordered_map<query_id, open_query> open;
    // Walkers waiting for their origin's go-ahead, by query id (bounded in total).
    std::unordered_map<query_id, std::vector<std::pair<peer_addr, msg_query>>> parked;
    std::size_t parked_count = 0;
  };
  own_searches& own();
  open_query* find_open(query_id id);  // nullptr: not a search of this node's, or closed
  std::unique_ptr<own_searches> own_;
};

}  // namespace hearsay

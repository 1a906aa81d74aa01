#pragma once
// The duplicate cache of flooding search (overlay/search.hpp): which query ids a node has
// seen lately, the best TTL each came with, and the neighbour its first copy came from, for
// hits going back along the reverse path.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "overlay/peer_view.hpp"
#include "overlay/types.hpp"

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
  // Where the first copy of an entry's id came from (self for own queries); nothing when the
  // cache could not remember it (see above).
  std::optional<peer_addr> upstream_of(const entry& e) const {
    if (e.upstream >= upstreams_.size()) return std::nullopt;
    return upstreams_[e.upstream];
  }
  // Ids held: the live ones and expired ones not yet swept out. At most the capacity.
  std::size_t size() const { return count_; }
  // Slots in the table (a power of two, or 0 before the first insert).
  std::size_t slot_count() const { return slot_count_; }
  // Distinct upstreams held (those of ids swept out leave at the next sweep).
  std::size_t upstream_count() const { return upstreams_.size(); }

 private:
  friend class memory_hints;  // reads the layout below
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

  // What every query copy reads comes first, 56 bytes (see memory_hints.cpp); the rest only sweeps,
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
  // Packed, 8 bytes an IPv4 upstream (a node's cache holds one per neighbour it hears from).
  peer_view upstreams_;
  std::vector<std::uint16_t> upstream_slots_;  // empty, or indices into upstreams_ (no_upstream: free)
};

}  // namespace hearsay

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

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/host.hpp"
#include "overlay/library.hpp"
#include "overlay/membership.hpp"
#include "overlay/messages.hpp"
#include "overlay/rng.hpp"
#include "overlay/stats.hpp"

namespace hearsay {

// Bounded memory of recently seen query ids: capacity and lifetime, FIFO eviction.
class dup_cache {
 public:
  struct entry {
    peer_addr upstream;        // where the first copy came from (self for own queries)
    micros seen_at{0};
    std::uint8_t ttl_best = 0;  // highest remaining TTL any copy arrived with
    std::uint32_t hits_relayed = 0;
  };

  dup_cache(std::uint32_t capacity, micros lifetime);

  // The live entry for id, or nullptr (expired entries count as absent).
  entry* find(query_id id, micros now);
  // Inserts a new entry (id must not be live), evicting the oldest when full.
  entry& insert(query_id id, micros now, const entry& value);
  std::size_t size() const { return map_.size(); }

 private:
  void evict_expired(micros now);

  std::uint32_t capacity_;
  micros lifetime_;
  std::unordered_map<query_id, entry> map_;
  std::vector<query_id> order_;  // ring of ids in insertion order
  std::size_t head_ = 0;         // oldest position in order_
  std::size_t count_ = 0;        // live positions in order_
};

class searcher {
 public:
  searcher(const search_config& cfg, const peer_addr& self, rng& random, host& h,
           node_stats& stats, const library& files, const membership& members);

  query_id start(micros now, std::string criteria_text, std::uint8_t ttl, bool reply_direct);

  // Handles a search message; false when m is not one.
  bool on_message(micros now, const peer_addr& from, const message& m);
  bool on_timer(micros now, timer_id id);

  std::size_t open_queries() const { return open_.size(); }
  const dup_cache& seen() const { return seen_; }

 private:
  struct open_query {
    micros started{0};
    std::uint32_t hits = 0;
  };

  void on_query(micros now, const peer_addr& from, const msg_query& q);
  void on_hit(micros now, const peer_addr& from, const msg_query_hit& h);
  // Sends q to up to fanout active neighbours other than `except`.
  void forward(const msg_query& q, const peer_addr* except);
  void answer(const msg_query& q, const peer_addr& upstream);

  const search_config& cfg_;
  peer_addr self_;
  rng& rng_;
  host& host_;
  node_stats& stats_;
  const library& library_;
  const membership& members_;
  dup_cache seen_;
  std::unordered_map<query_id, open_query> open_;
  std::vector<peer_addr> scratch_;  // reused target list, so forwarding does not allocate
};

}  // namespace hearsay

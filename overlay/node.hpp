#pragma once
// One overlay peer: HyParView membership plus TTL-flooded search, driven from outside.
//
// The node is sans-I/O (overlay/host.hpp states the driver contract): the driver calls
// start/on_message/on_timer/on_peer_down with its own notion of `now`, and the node answers
// only through the host interface. The same object runs inside the simulator and inside the
// real Asio node.

#include <cstdint>
#include <span>
#include <string>

#include "overlay/config.hpp"
#include "overlay/host.hpp"
#include "overlay/library.hpp"
#include "overlay/membership.hpp"
#include "overlay/messages.hpp"
#include "overlay/rng.hpp"
#include "overlay/search.hpp"
#include "overlay/stats.hpp"

namespace hearsay {

struct search_options {
  std::uint8_t ttl = 0;       // 0: the configured default
  bool reply_direct = false;  // or'ed with search_config::reply_direct
};

class alignas(64) node {
 public:
  // cfg and h must outlive the node. seed feeds this node's own random stream. The node
  // counts into its own counters, or into `shared` if given (which must outlive it): the
  // simulator gives each block of peers one set, summed in its report, rather than 208 bytes
  // a peer. A node then still counts the messages it received itself (messages_received()).
  node(const node_config& cfg, const peer_addr& self, std::uint64_t seed, host& h, node_stats* shared = nullptr);
  // Components hold references into the node (its random stream, stats, library): it never
  // moves. Drivers keep nodes in stable storage (std::deque, unique_ptr).
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Joins through a seed (unless this node is the only one it knows) and arms the timers.
  void start(micros now);
  // Starts on a fixed set of neighbours, without the membership protocol (see
  // membership::start_static): the simulator's static topologies.
  void start_static(micros now, std::span<const peer_addr> neighbours);
  // Graceful leave: DISCONNECT to every active neighbour. The node is inert afterwards.
  void leave(micros now);

  // A message from peer `from` (its advertised address). Messages the node does not handle
  // (hello, fetch) are counted as unexpected and dropped. The node may take parts of a
  // message it is given to keep (a shuffle walk's list of peers moves on with the walk);
  // a const message is copied first.
  void on_message(micros now, const peer_addr& from, message&& m);
  void on_message(micros now, const peer_addr& from, const message& m) {
    message copy = m;
    on_message(now, from, std::move(copy));
  }
  void on_timer(micros now, timer_id id);
  // The link to `peer` failed, or `peer` could not be reached.
  void on_peer_down(micros now, const peer_addr& peer);

  // Starts a search from this node; hits arrive through host::on_search_hit.
  query_id search(micros now, std::string criteria_text, search_options opts = {});

  // Adds peers to the passive view (e.g. peers remembered from an earlier run).
  void remember_peers(std::span<const peer_addr> peers);

  const peer_addr& self() const { return self_; }
  library& files() { return library_; }
  const library& files() const { return library_; }
  const membership& members() const { return membership_; }
  // Its counters: its own, or the set it shares (see the constructor).
  const node_stats& stats() const { return stats_.get(); }
  // The messages this node received (its load), whether or not it shares its counters.
  std::uint64_t messages_received() const { return messages_received_; }
  bool running() const { return running_; }

 private:
  friend class memory_hints;  // reads the layout below

  // The node's counters, owned or shared, in one word: the pointer, its lowest bit set when
  // the node owns them (node_stats is 8-byte aligned).
  class stats_handle {
   public:
    explicit stats_handle(node_stats* shared)
        : bits_(shared != nullptr ? reinterpret_cast<std::uintptr_t>(shared)
                                  : reinterpret_cast<std::uintptr_t>(new node_stats) | 1u) {}
    stats_handle(const stats_handle&) = delete;
    stats_handle& operator=(const stats_handle&) = delete;
    ~stats_handle() {
      if (bits_ & 1u) delete &get();
    }
    node_stats& get() const { return *reinterpret_cast<node_stats*>(bits_ & ~std::uintptr_t{1}); }

   private:
    std::uintptr_t bits_;
  };
  static_assert(alignof(node_stats) >= 2);

  // Laid out for the simulator, which reads the state of a random node for each of millions
  // of events: what every event reads is in the first two lines (the flag, the counters'
  // handle and the load, the random stream, the library's emptiness); the membership's hot
  // members are at its end and the searcher's at its start, so that a query copy reads those
  // lines and a run of adjacent ones (see memory_hints.hpp).
  bool running_ = false;
  stats_handle stats_;
  std::uint64_t messages_received_ = 0;
  rng rng_;
  library library_;
  peer_addr self_;
  membership membership_;
  searcher search_;
};

}  // namespace hearsay

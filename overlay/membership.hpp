#pragma once
// HyParView membership: Leitao, Pereira, Rodrigues, "HyParView: a membership protocol for
// reliable gossip-based broadcast", DSN 2007.
//
// Each node keeps a small symmetric active view (its overlay links, the ones queries travel
// on) and a larger passive view (a reserve of known peers). Joins travel as random walks;
// the passive view is refreshed by periodic shuffles; when an active neighbour fails, a
// passive peer is promoted with a NEIGHBOR request (high priority when the active view is
// empty, so an isolated node is always taken in).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/host.hpp"
#include "overlay/messages.hpp"
#include "overlay/peer_view.hpp"
#include "overlay/rng.hpp"
#include "overlay/small_vector.hpp"
#include "overlay/stats.hpp"
#include "overlay/token_bucket.hpp"

namespace hearsay {

class membership {
 public:
  membership(const membership_config& cfg, const std::vector<peer_addr>& seeds,
             const peer_addr& self, rng& random, host& h, node_stats& stats);

  void start(micros now);
  // Starts with a fixed set of neighbours and no membership protocol at all (no joins,
  // shuffles or repairs): for studying search on a given graph. The set is not bounded by
  // view_size_active, so any degree distribution can be studied.
  void start_static(std::span<const peer_addr> neighbours);
  void leave(micros now);

  // Handles a membership message; false when m is not one. A shuffle forwarded on its walk
  // takes its list of peers out of m.
  bool on_message(micros now, const peer_addr& from, message& m);
  // Handles a membership timer; false when id is not one.
  bool on_timer(micros now, timer_id id);
  void on_peer_down(micros now, const peer_addr& peer);

  void add_passive(const peer_addr& peer);
  // A peer used a link this node does not have in its active view (it sent a query, which
  // only travels on overlay links): tell it so with DISCONNECT, so that a link left one-sided
  // by crossing messages heals at once instead of silently dropping traffic.
  void refuse(const peer_addr& peer);

  // Whether t is one of the membership's timers (on_timer handles it).
  static bool owns(const timer_id& t) {
    return t.kind == timer_kind::shuffle || t.kind == timer_kind::repair || t.kind == timer_kind::join_timeout ||
           t.kind == timer_kind::neighbor_timeout || t.kind == timer_kind::mix;
  }
  // What the node keeps per link, beside each active neighbour: the budget of queries the
  // neighbour may send over it (search_config::queries_per_neighbor_per_s), and the
  // neighbour's number in the searcher's duplicate cache (see dup_cache::insert; a speed note,
  // see memory_hints.hpp). A link's state is made with the link and goes with it.
  struct link_state {
    token_state queries;
    std::uint64_t upstream_memo = 0;
  };
  // The state of the link to peer, or nullptr when peer is not an active neighbour.
  link_state* link(const peer_addr& peer);

  std::span<const peer_addr> active() const { return active_; }
  const peer_view& passive() const { return passive_; }
  bool is_active(const peer_addr& peer) const;
  bool is_passive(const peer_addr& peer) const;
  bool is_static() const { return static_; }
  const peer_addr& self() const { return self_; }
  // The node's random stream, which the searcher shares.
  rng& random() { return rng_; }
  // Whether peer is an active neighbour this node chose itself (membership_config::
  // active_outbound_min), and how many of those it has.
  bool is_outbound(const peer_addr& peer) const;
  std::uint32_t outbound_count() const;


 private:
  void on_join(micros now, const peer_addr& from);
  void on_forward_join(micros now, const peer_addr& from, const msg_forward_join& m);
  void on_join_reply(micros now, const peer_addr& from);
  // host_.disconnect(peer) unless peer is (again) an active neighbour: a rejection or a
  // timeout must not close a link that has become an overlay link meanwhile.
  void disconnect_unless_active(const peer_addr& peer);
  void on_neighbor(micros now, const peer_addr& from, const msg_neighbor& m);
  void on_neighbor_reply(micros now, const peer_addr& from, const msg_neighbor_reply& m);
  void on_disconnect(micros now, const peer_addr& from, const msg_disconnect& m);
  void on_shuffle(micros now, const peer_addr& from, msg_shuffle& m);
  void on_shuffle_reply(micros now, const peer_addr& from, const msg_shuffle_reply& m);

  // JOIN to the next seed in turn, other than this node (and of a lower address than this
  // node's while needs_lower_seed()).
  void send_join(micros now);
  // Whether this node is a seed that must join a seed of lower address: it is a seed, its
  // list has seeds below it, and none of them is an active neighbour.
  //
  // A seed node (one whose seed list holds its own address) that starts while the other seeds
  // are not up yet, or that is joined before its own join succeeds, would otherwise stay with
  // the peers joining through it, and so might a seed whose links to the others are all
  // evicted while peers pour in through it: an overlay of its own, never to meet the others (a
  // thousand seeds of 10,000 peers made 66 components). So seeds are ordered by address, and a
  // seed keeps an active link to one below it, joining one of them again, at each repair
  // tick, whenever it has none; every seed is then linked, through seeds below it, to the
  // lowest one that runs, and so is every peer that joined through a seed.
  bool needs_lower_seed() const;
  void do_shuffle(micros now);

  // Mixing (membership_config::mix_period; the exchange is described at msg_mix_offer). This
  // node as the initiator I, the candidate C, C's neighbour D, and the old neighbour O.
  void do_mix(micros now);
  void on_mix_offer(micros now, const peer_addr& from, const msg_mix_offer& m);
  void on_mix_replace(micros now, const peer_addr& from, const msg_mix_replace& m);
  void on_mix_switch(micros now, const peer_addr& from, const msg_mix_switch& m);
  void on_mix_answer(micros now, const peer_addr& from, const msg_mix_answer& m);
  // Whether the active member at position i may be given up: drop_random_active's rules (not
  // an outbound member while the node has outbound_min() or fewer, nor one of the
  // protected_min() oldest inbound ones).
  bool evictable_at(std::size_t i) const;
  bool evictable(const peer_addr& peer) const;
  // Whether `in` may take the place of the active member `out` under active_per_group_max.
  bool group_allows_swap(const peer_addr& in, const peer_addr& out) const;
  // The swap's change of this node's view: `out` leaves the active view for the passive one
  // (no DISCONNECT: the other end leaves too, as part of the same swap), `in` comes in. Of the
  // two ends of a link the swap removes, the first to let it go (O for I-O, D for C-D) keeps
  // the connection open, and the second (`close`) closes it: a link closed while the other
  // end still counts it is a failure there.
  void swap_member(micros now, const peer_addr& out, const peer_addr& in, bool outbound, bool close);
  // What a node remembers of the swaps in flight that it takes part in, each until its
  // deadline; made at the first swap, so that a node that never mixes pays one pointer.
  struct mix_state {
    struct step {
      peer_addr a, b;  // initiator: O and C; candidate: I and D; C's neighbour: C and O
      std::uint64_t nonce = 0;
      micros until{0};
      bool open(micros now) const { return nonce != 0 && now <= until; }
    };
    step own, as_candidate, as_neighbour;
  };
  mix_state& mixing();

  void repair(micros now);
  void request_neighbor(micros now);
  // The repair timer runs only while a tick has work to do (a seed still to join the seeds
  // below it; repair on, an active view short of full): any other tick would do nothing but start a new round of neighbor_tried_. So a
  // tick that finds the view full is the last until the view loses a member, and then the
  // timer is armed again for the next tick of the same grid (repair_phase_ + k x
  // repair_period), just as if it had run all along; rounds of neighbor_tried_ follow the grid
  // whether or not its ticks ran (see ticks_before). Most of a settled overlay's nodes have a
  // full view: in the 10^5-peer scale run two of every three repair ticks are left out.
  bool repair_wanted() const;
  void arm_repair(micros now);
  // How many ticks of the repair grid come before now (0 before the first one).
  std::uint64_t ticks_before(micros now) const;

  // Adds peer to the active view, evicting a random member if it is full (see
  // drop_random_active), if admits(peer, outbound, now). No-op for self or a peer already
  // there. `outbound`: this node chose the peer (its join contact, a NEIGHBOR request of its
  // own). Returns true if the view changed.
  bool add_active(micros now, const peer_addr& peer, bool outbound);
  // Puts peer (not in the active view) into it, evicting a random member if it is full: what
  // add_active does once the peer is admitted, and what a swap does (swap_member).
  void insert_active(const peer_addr& peer, bool outbound);
  // Whether peer may enter the active view now: its network group has fewer than
  // active_per_group_max members there, and, for a newcomer (not outbound) into a full view,
  // the admission interval has passed (active_admit_interval, taken when it returns true).
  bool admits(micros now, const peer_addr& peer, bool outbound);
  // Evicts a random member; while the node has no more than outbound_min() outbound members,
  // a random inbound one (active_outbound_min); never one of the protected_min() oldest
  // inbound members (active_protected).
  void drop_random_active();
  // active_outbound_min, at most view_size_active - 1.
  std::uint32_t outbound_min() const;
  // active_protected, at most view_size_active - 1 - outbound_min().
  std::uint32_t protected_min() const;
  // Whether peer's network group already has active_per_group_max members in the active view
  // (never for private addresses).
  bool active_group_full(const peer_addr& peer) const;
  // Removes the active member at position i, with its link and its outbound bit.
  void erase_active_at(std::size_t i);
  bool remove_active(const peer_addr& peer);
  bool remove_passive(const peer_addr& peer);
  // Integrates shuffle results into the passive view, evicting first the ids this node
  // sent in its own last shuffle (they now live on at the other end).
  void merge_passive(std::span<const peer_addr> peers, std::span<const peer_addr> evict_first);
  // A random member of the active view other than `except` and `also_except` (which may be
  // the same address), if any: where a walk goes next, never back to the peer it came from nor
  // to the peer it is about (a join walk's joiner, a shuffle's origin), who would drop it.
  const peer_addr* random_active_except(const peer_addr& except, const peer_addr& also_except);
  void send(const peer_addr& to, const message& m);
  void send(const peer_addr& to, message&& m);  // a message built for this send
  void reserve_passive();  // before adding to the passive view
  // Whether peer's network group already has passive_per_group_max entries in the passive
  // view (never for private addresses).
  bool passive_group_full(const peer_addr& peer) const;

  friend class memory_hints;  // reads the layout below

  // The members are laid out by how often they are read, the rarest first, so that the
  // node's hot state is a few adjacent lines (see memory_hints.cpp): what joins, repairs
  // and timeouts read; then what every membership message reads; then what every message
  // the node gets reads; last the links, which query copies read, and which the searcher's
  // hot members follow.
  const std::vector<peer_addr>& seeds_;
  std::unique_ptr<mix_state> mix_;  // (see mixing)
  // A JOIN in flight (to join_target_) and a NEIGHBOR request in flight (to neighbor_target_),
  // each with a generation so that stale timeouts are ignored.
  bool join_pending_ = false;
  bool repair_armed_ = false;  // (see arm_repair; here, in what was padding)
  peer_addr join_target_;
  // Whether this node is a seed with seeds of lower address in its list (here, in what was
  // padding); see needs_lower_seed.
  bool seed_above_ = false;
  std::uint64_t join_generation_ = 0;
  // JOIN-REPLYs are accepted only until then: from the contact, and from the far ends of the
  // join's walks, which answer a joiner that never contacted them. At any other time a
  // JOIN-REPLY would let anyone put itself into this node's active view.
  micros join_open_until_{0};
  // The nonce of this node's last shuffle: its reply must carry it, once.
  std::uint64_t shuffle_nonce_ = 0;

  bool neighbor_pending_ = false;
  peer_addr neighbor_target_;
  std::uint32_t seed_cursor_ = 0;  // (here, and the mask below, in what was padding)
  std::uint64_t neighbor_generation_ = 0;
  // Bit i set: active_[i] is outbound, a peer this node chose (active_outbound_min).
  std::uint64_t outbound_ = 0;
  // Passive peers already asked during the current repair round, so that a rejection moves
  // on to another candidate instead of asking the same peer again; the round began with the
  // tick before tried_ticks_ (that many ticks of the grid had come when it was cleared).
  std::vector<peer_addr> neighbor_tried_;
  std::uint64_t tried_ticks_ = 0;
  micros repair_phase_{0};  // the first tick of the repair timer
  // The next time a newcomer may evict an active member (active_admit_interval).
  micros admit_at_{0};
  token_bucket stranger_replies_;

  std::vector<peer_addr> last_shuffle_sent_;
  peer_view passive_;  // packed: merges test each arriving peer against it

  // From here on, what a walk passing through reads.
  const membership_config& cfg_;
  rng& rng_;
  host& host_;
  node_stats& stats_;
  peer_addr self_;
  bool running_ = false;
  bool static_ = false;  // fixed neighbours: membership messages and timers are ignored
  // Read on every message; inline up to 6 (the default view is 5), on the heap beyond.
  small_vector<peer_addr, 6> active_;
  small_vector<link_state, 6> links_;  // links_[i] is the link to active_[i]; read by every query
};

}  // namespace hearsay

#pragma once
// The eclipse attacker of a scenario's [attack] section: many identities (Sybils) of one
// attacker, living in a few network groups, that use the membership protocol only to get
// into honest peers' views and then swallow the searches that reach them (Singh, Castro,
// Druschel, Rowstron, "Defending against eclipse attacks on overlay networks", 2004;
// Heilman, Kendler, Zohar, Goldberg, "Eclipse attacks on Bitcoin's peer-to-peer network",
// USENIX Security 2015).
//
// A Sybil is not a hearsay::node: it is this small state machine, which the simulator runs
// in place of the node for the peers it marks as Sybils. It does what the protocol lets any
// peer do (behaviour "eclipse"):
// - it joins through an honest seed, and while it holds fewer links than an active view's
//   worth asks honest peers it knows for more, as a peer repairing its view does (NEIGHBOR
//   requests, high priority while it has almost none), and joins again when it has none;
// - it accepts every JOIN and NEIGHBOR, and answers a joiner that reaches it with fellow
//   Sybils' JOIN-REPLYs too;
// - a join walk that reaches it ends there (it takes the joiner in), and goes on as a forged
//   walk for a Sybil; a fellow Sybil's walk is passed on to an honest peer;
// - a shuffle that reaches it ends there and is answered with Sybils only; its own shuffles
//   carry Sybils only;
// - it drops every query and hit (neither forwards nor answers).
// Behaviour "flood" pushes beyond what the protocol asks of a peer: every repair period a
// JOIN to an honest peer it knows (the contact takes it in and starts walks that end in other
// peers' active views) and NEIGHBOR requests of high priority, which an honest peer may not
// refuse, to view_size_active - 1 more it is not linked with.
// It knows who its fellows are and when each joins (the schedule), and learns honest
// addresses from what honest peers send it. Each Sybil's state is its own (its worker
// thread's), so a run with Sybils is as deterministic as any.

#include <cstdint>
#include <span>
#include <vector>

#include "overlay/config.hpp"
#include "overlay/host.hpp"
#include "overlay/messages.hpp"
#include "overlay/rng.hpp"
#include "sim/addresses.hpp"

namespace hearsay::sim {

class sybil_swarm {
 public:
  // plan: the run's addresses (the Sybils are its last peers); cfg: the honest peers'
  // parameters, whose periods and list lengths the Sybils use; seed_count: the first peers,
  // the honest seed nodes the Sybils first join through; seed: the run's.
  // flood: push in beyond what the protocol asks of a peer (see above).
  sybil_swarm(const address_plan& plan, const membership_config& cfg, std::uint32_t seed_count, std::uint64_t seed,
              bool flood);

  // Sybil k (counted from the first) starts at first + period x k / count: the simulator
  // starts them so, and each Sybil names only fellows that have started.
  void set_schedule(micros first, micros period);
  micros start_of(std::uint32_t k) const;

  // The simulator's calls for peer i (a Sybil), with its host.
  void start(std::uint32_t i, micros now, host& h);
  void on_message(std::uint32_t i, micros now, const peer_addr& from, message&& m, host& h);
  void on_timer(std::uint32_t i, micros now, const timer_id& t, host& h);
  // The link to `peer` failed (closed: the peer closed it).
  void on_peer_down(std::uint32_t i, const peer_addr& peer, bool closed);

  // The honest peers Sybil i believes hold it in their active views.
  std::span<const peer_addr> links(std::uint32_t i) const { return at(i).links; }
  // Over all Sybils (read between windows): messages sent, queries and hits swallowed.
  std::uint64_t messages_sent() const;
  std::uint64_t queries_dropped() const;

 private:
  struct sybil {
    rng random{0};
    std::vector<peer_addr> links;
    std::vector<peer_addr> known;  // honest peers heard of, at most known_max
    std::uint64_t sent = 0, dropped = 0;
  };
  static constexpr std::size_t known_max = 64;
  static constexpr std::size_t links_max = 64;

  sybil& at(std::uint32_t i) { return sybils_[i - plan_.first_sybil()]; }
  const sybil& at(std::uint32_t i) const { return sybils_[i - plan_.first_sybil()]; }
  bool honest(const peer_addr& a) const { return !address_plan::is_sybil_address(a); }
  // Sybils started by now, and a random one of them other than i (i itself if none).
  std::uint32_t started(micros now) const;
  peer_addr random_fellow(sybil& s, std::uint32_t i, micros now) const;
  void learn(sybil& s, const peer_addr& a) const;
  void link(sybil& s, const peer_addr& a) const;
  void unlink(sybil& s, const peer_addr& a) const;
  static bool contains(const std::vector<peer_addr>& v, const peer_addr& a);
  void send(sybil& s, host& h, const peer_addr& to, message&& m) const;
  // A random honest link other than `except`, or nullptr.
  const peer_addr* random_link_except(sybil& s, const peer_addr& except) const;
  void on_repair_tick(std::uint32_t i, micros now, host& h);
  void on_shuffle_tick(std::uint32_t i, micros now, host& h);

  const address_plan& plan_;
  const membership_config& cfg_;
  bool flood_;
  std::uint32_t seed_count_;
  micros first_{0}, period_{0};
  std::vector<sybil> sybils_;
};

}  // namespace hearsay::sim

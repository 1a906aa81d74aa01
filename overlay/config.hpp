#pragma once
// Parameters of one overlay node, with defaults. Every bound the node keeps is named here
// with a one-line reason. The drivers fill this struct from TOML (apps/) or a scenario.

#include <cstdint>
#include <string>
#include <vector>

#include "overlay/types.hpp"

namespace hearsay {

struct membership_config {
  // HyParView view sizes; the paper's settings for fan-out 4: active = fan-out + 1.
  std::uint32_t view_size_active = 5;
  std::uint32_t view_size_passive = 30;
  // Random-walk lengths: ARWL bounds how far a join travels, PRWL is the hop at which the
  // joiner is also put into passive views (paper: ARWL 6, PRWL 3).
  std::uint8_t walk_length_active = 6;
  std::uint8_t walk_length_passive = 3;
  // Shuffle: each period a node sends itself, ka active and kp passive ids on a walk of
  // length walk_length_shuffle; the far end answers with as many passive ids.
  micros shuffle_period{10'000'000};
  std::uint32_t shuffle_active = 3;
  std::uint32_t shuffle_passive = 4;
  std::uint8_t walk_length_shuffle = 6;
  // How long a JOIN or NEIGHBOR request may stay unanswered before the node tries another
  // seed or passive peer; a peer that is merely slow is not worth waiting on longer.
  micros request_timeout{2'000'000};
  // How often an under-full active view is topped up from the passive view (and an isolated
  // node re-joins through a seed). Repair also runs at once on every failure.
  micros repair_period{5'000'000};
  // NEIGHBOR requests per repair round while the node still has some neighbour. A node one
  // short of a full view asking every passive peer in turn (most of them full) would spend
  // more messages on repair than the overlay spends on search; an isolated node, though,
  // keeps asking until someone takes it in.
  std::uint32_t repair_requests_per_round = 2;
  // A NEIGHBOR request is sent with high priority (it cannot be refused) while the active
  // view has fewer members than this. The paper uses 1 (only an empty view); 2 also rescues
  // pairs of peers that hold only each other, an island no low-priority request may ever
  // break into while every other view is full.
  std::uint32_t high_priority_below = 2;
  // Replies this node sends to addresses a membership message named (the origin of a
  // shuffle, the joiner at the end of a join walk), per second: no amplification through
  // forged walks. Over the budget the walk ends without a reply.
  std::uint32_t stranger_replies_per_s = 50;
  std::uint32_t stranger_replies_burst = 100;
  // Whether a node replaces failed neighbours from its passive view at all. Off only to
  // study an overlay without repair; a real node always repairs.
  bool repair = true;
  // Passive-view entries from one network group (an IPv4 /24, an IPv6 /48): one provider's
  // block of addresses cannot fill the reserve a node repairs its links from (after the
  // buckets of Bitcoin Core's address manager). Private and loopback addresses are exempt, so
  // that a test network in one /24 works. 0: no limit.
  std::uint32_t passive_per_group_max = 4;
  // Active-view entries this node chose itself ("outbound": the reply of its own join
  // contact, the peers that accepted its NEIGHBOR requests, drawn from the passive view) are
  // protected while the node has this many or fewer: an incoming peer (a JOIN, the end of a
  // join walk, another peer's NEIGHBOR request) that needs a place then evicts an entry that
  // came in unrequested (after Bitcoin Core's outbound connection slots). So while a node
  // holds o outbound entries, peers that push themselves in hold at most
  // view_size_active - o places. Every link is outbound at one end and inbound at the other,
  // so a node has view_size_active / 2 of them on average: 2 of the default 5 is about what
  // every node holds at once, and protecting more would leave joins and repairs few places to
  // take. At most view_size_active - 1 count (one place always stays open to newcomers).
  // 0: off (a random member is evicted, as in the paper).
  std::uint32_t active_outbound_min = 2;
  // Active-view entries from one network group (an IPv4 /24, an IPv6 /48; private and
  // loopback addresses exempt, as for passive_per_group_max): a peer of a group that already
  // holds this many is not taken into the active view, whatever it sends (a JOIN leaves it in
  // the passive view and its walks still go on; a NEIGHBOR request, of high priority too, is
  // refused: the asker has peers of other groups to ask), and repairs ask only passive peers
  // of other groups. An attacker in G groups then holds at most G x this many places, however
  // many addresses it has (after Bitcoin Core's one outbound connection per network group).
  // 1: with view_size_active 5 an attacker needs 5 groups to fill a view at all. 0: no limit.
  std::uint32_t active_per_group_max = 1;
  // The inbound entries (not chosen by this node) that have been neighbours longest, this
  // many, are protected as the outbound ones are: a newcomer that needs a place evicts a
  // younger one (after Bitcoin Core's inbound eviction, which keeps the longest-connected
  // peers: an attacker cannot buy them out with fresh connections, however many it makes).
  // The view is kept in the order its entries came, so this costs no memory. At most
  // view_size_active - 1 - active_outbound_min count (one place always stays open to
  // newcomers, so joins and repairs still find one). 0: off.
  std::uint32_t active_protected = 2;
  // A newcomer that evicts an entry (a JOIN, the end of a join walk, another peer's NEIGHBOR
  // request arriving at a full active view) is taken in at most once per this interval: over
  // it a JOIN is kept in the passive view and its walks go on, a walk ends without taking the
  // joiner in, a NEIGHBOR request is refused, whatever its priority. So a flood of newcomers
  // changes a node's view no faster than this, however many addresses it comes from, while a
  // view with room takes newcomers as before. 0: no limit, the default: the measured gain
  // against a flood was small (3.8 % of honest peers eclipsed with it, 3.3 % without, in the
  // eclipse scenario) and in a flash crowd of joins it refuses so many that the joiners' retries
  // nearly tripled the membership traffic and cut search success (scale scenario, 3x10^5 peers:
  // 41.7 % with 5 s, 65.8 % without).
  micros active_admit_interval{0};
  // Mixing (msg_mix_offer): every this often a node with a full active view swaps one of its
  // links with a passive peer's, every view keeping its size. Active views otherwise change
  // only on failure, so an overlay keeps the shape its joins gave it: a flash crowd of joins
  // leaves a clustered graph a flood covers badly (README, "Overlay structure"), and mixing
  // makes it forget that. The link given up is one the eviction rules above would let go
  // (never a protected outbound or long-held member), and each swap's newcomers pass the
  // same admission checks as any. 0: off, the default (HyParView as the paper has it).
  // Each step of a swap waits request_timeout for its answer.
  micros mix_period{0};
};

struct search_config {
  // How this node's own searches travel: a row of the strategy table (overlay/strategy.hpp;
  // find it by name with strategy_index), 0 for flood. Relays follow the mode a query carries.
  std::uint8_t strategy = 0;
  std::uint8_t gossip_percent = 60;
  std::uint32_t walkers = 16;
  std::uint8_t walk_ttl = 128;      // hops a walker may take (capped by walk_ttl_max on relays)
  std::uint8_t walk_ttl_max = 255;
  std::uint8_t walk_check_hops = 4;
  // Walkers a relay holds while it waits for the origin's go-ahead, and for how long.
  std::uint32_t parked_walkers_max = 256;
  micros walk_check_timeout{2'000'000};
  // Expanding ring: how long to wait per hop of the current ring before widening it.
  micros ring_wait_per_hop{250'000};
  // Hits after which a search is satisfied: rings stop widening and walkers stop.
  std::uint32_t hits_wanted = 1;

  // How many active neighbours a query is sent to (at the origin and at every hop, the
  // sender excluded). fanout >= view_size_active - 1 floods to all neighbours.
  std::uint32_t fanout = 4;
  // Default TTL of a new query, and the cap applied to every query received, so that no
  // peer can make the overlay carry a query farther than its operators allow.
  std::uint8_t ttl = 5;
  std::uint8_t ttl_max = 10;
  // Query ids remembered for duplicate suppression and reverse-path routing. Both bounds
  // apply (at capacity the oldest eighth leaves at once); an id evicted early only costs a
  // duplicate forward, never correctness.
  std::uint32_t dup_cache_capacity = 8192;
  micros dup_cache_lifetime{120'000'000};
  // Hits the origin accepts for one query, and hits a relay forwards for one query: a
  // popular file must not flood the origin. At most 255.
  std::uint32_t hits_per_query_max = 64;
  // Files listed in one hit message.
  std::uint32_t files_per_hit_max = 16;
  // How long the origin keeps a query open for hits.
  micros query_timeout{10'000'000};
  // Send hits straight to the origin instead of along the reverse path. The reverse path is
  // the default: it needs no new connection and so survives NAT and cannot be used to make a
  // node connect to an address of an attacker's choice.
  bool reply_direct = false;
  // Bounded length of a query's criteria string.
  std::uint32_t criteria_bytes_max = 256;
  // Query copies accepted from one neighbour per second, with a burst allowance (a token
  // bucket per active link, full when the link is made); copies beyond it are dropped. One
  // misbehaving peer cannot make the overlay carry an unbounded query load. 0 disables the
  // limit.
  std::uint32_t queries_per_neighbor_per_s = 500;
  std::uint32_t queries_per_neighbor_burst = 1000;
  // Messages this node sends to addresses that a query named rather than to a neighbour
  // (direct hits, walkers' check-backs), per second: a forged origin must not make the
  // overlay flood a third party. Over the budget, hits take the reverse path instead.
  std::uint32_t stranger_sends_per_s = 50;
  std::uint32_t stranger_sends_burst = 100;
};

// Downloads (overlay/download.hpp): how a file is fetched from the holders a search found.
struct fetch_config {
  // The largest file a node fetches. A hit may announce any size; it is checked against this
  // (and against the free space of the download folder) before the first byte is asked for.
  std::uint64_t file_bytes_max = std::uint64_t{1} << 40;
  // The unit of a request: large enough that a request's round trip is small beside its
  // transfer, small enough that a holder that fails or lies costs little.
  std::uint32_t piece_bytes = 1u << 20;
  // Holders asked at once, and pieces in flight per holder (its requests are pipelined).
  std::uint32_t holders_at_once = 4;
  std::uint32_t pieces_per_holder = 4;
  // A holder slower than this while it has requests outstanding, over the window, is dropped
  // for the job and its pieces go to the next holder.
  std::uint32_t rate_min_bytes_per_s = 16u << 10;
  micros rate_window{20'000'000};
  // Failures (unreachable, broken off, busy) after which a holder is given up for a job, and
  // the first pause before a failed holder is asked again (it doubles with each failure).
  std::uint32_t holder_failures_max = 3;
  micros retry_delay{2'000'000};
  // Downloads at once, and holders remembered per download.
  std::uint32_t jobs_max = 32;
  std::uint32_t holders_max = 64;
};

struct node_config {
  membership_config membership;
  search_config search;
  fetch_config fetch;
  // Where a node joins: any member of the overlay (the first peer is just a seed).
  std::vector<peer_addr> seeds;
};

}  // namespace hearsay

#pragma once
// Counters a node keeps about itself. Plain integers: the simulator sums them over all
// nodes, the real node exports them as metrics.

#include <cstddef>
#include <cstdint>

namespace hearsay {

// The counters nearly every message bumps come first, in one cache line: a simulation reads
// a node's state for each of millions of messages, and the rest are seldom touched.
struct node_stats {
  // every message the node handed to host::send / received through on_message
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t queries_received = 0;
  std::uint64_t queries_duplicate = 0;
  std::uint64_t queries_forwarded = 0;    // copies sent onward (not counting the origin's)
  std::uint64_t shuffles_sent = 0;
  std::uint64_t shuffles_received = 0;
  std::uint64_t forward_joins_received = 0;
  // (The counters above are the hot ones, the first five all a query copy bumps: see
  // memory_hints.cpp.)

  std::uint64_t messages_unexpected = 0;  // a kind the node does not handle, or from a stranger
  std::uint64_t messages_invalid = 0;     // failed a semantic check (bad TTL, empty criteria...)

  // membership
  std::uint64_t joins_sent = 0;
  std::uint64_t joins_accepted = 0;       // JOINs this node answered as contact
  std::uint64_t neighbor_requests_sent = 0;
  std::uint64_t neighbor_requests_rejected = 0;  // rejections this node received
  std::uint64_t peers_failed = 0;  // on_peer_down for a peer in a view
  std::uint64_t stranger_sends_refused = 0;  // replies to named addresses over the budget
  std::uint64_t mixes_started = 0;  // swaps this node offered (membership_config::mix_period)
  std::uint64_t mixes_done = 0;     // of those, the ones that swapped a link

  // search
  std::uint64_t queries_originated = 0;
  std::uint64_t queries_reforwarded = 0;  // duplicates that came with a higher TTL
  std::uint64_t queries_ttl_capped = 0;   // received with ttl above ttl_max
  std::uint64_t queries_rate_limited = 0; // dropped: the neighbour exceeded its query rate
  std::uint64_t hits_sent = 0;            // hits this node answered as a holder
  std::uint64_t hits_relayed = 0;
  std::uint64_t hits_received = 0;        // at the origin
  std::uint64_t hits_dropped = 0;         // unknown query, over the limit, or no way back

  // Adds every counter of o (a simulator sums its peers'): one place that lists them all.
  node_stats& operator+=(const node_stats& o) {
    messages_sent += o.messages_sent;
    messages_received += o.messages_received;
    queries_received += o.queries_received;
    queries_duplicate += o.queries_duplicate;
    queries_forwarded += o.queries_forwarded;
    shuffles_sent += o.shuffles_sent;
    shuffles_received += o.shuffles_received;
    forward_joins_received += o.forward_joins_received;
    messages_unexpected += o.messages_unexpected;
    messages_invalid += o.messages_invalid;
    joins_sent += o.joins_sent;
    joins_accepted += o.joins_accepted;
    neighbor_requests_sent += o.neighbor_requests_sent;
    neighbor_requests_rejected += o.neighbor_requests_rejected;
    peers_failed += o.peers_failed;
    stranger_sends_refused += o.stranger_sends_refused;
    mixes_started += o.mixes_started;
    mixes_done += o.mixes_done;
    queries_originated += o.queries_originated;
    queries_reforwarded += o.queries_reforwarded;
    queries_ttl_capped += o.queries_ttl_capped;
    queries_rate_limited += o.queries_rate_limited;
    hits_sent += o.hits_sent;
    hits_relayed += o.hits_relayed;
    hits_received += o.hits_received;
    hits_dropped += o.hits_dropped;
    return *this;
  }
};
// Every counter is a std::uint64_t and operator+= names each of them: a counter added to the
// struct but not to operator+= changes its size and stops the build here.
static_assert(sizeof(node_stats) == 26 * sizeof(std::uint64_t), "node_stats::operator+= must add every counter");

}  // namespace hearsay

// Memory-latency hints (see memory_hints.hpp). Each function mirrors what a handler reads;
// the conditions follow the handlers' own, and a hint that guesses wrong only costs time.

#include "overlay/memory_hints.hpp"

#include <cstddef>

#include "overlay/node.hpp"
#include "overlay/prefetch.hpp"

namespace hearsay {

namespace {

// The counters nearly every message bumps (node_stats starts with them), and the first five,
// which are all a query copy bumps.
constexpr std::size_t stats_hot_bytes = offsetof(node_stats, messages_unexpected);
constexpr std::size_t stats_query_hot_bytes = offsetof(node_stats, shuffles_sent);
static_assert(stats_hot_bytes == 8 * sizeof(std::uint64_t));
static_assert(stats_query_hot_bytes == 5 * sizeof(std::uint64_t));

// Prefetches the lines of the bytes [begin, end) of one object.
void prefetch_between(const void* begin, const void* end) {
  prefetch_range(begin, static_cast<std::size_t>(static_cast<const char*>(end) - static_cast<const char*>(begin)));
}

}  // namespace

// ---- the node ---------------------------------------------------------------------------

void memory_hints::prefetch(const node& n) { prefetch_object<sizeof(node)>(&n); }

void memory_hints::prefetch_head(const node& n) { prefetch_between(&n, &n.self_); }

void memory_hints::warm_counters(const node& n, std::size_t counters) { prefetch_range(&n.stats_.get(), counters); }

// The membership's members are in the order of how often they are read: membership messages
// and timers read them up to the links' state (links_), which query copies read.
void memory_hints::prefetch_membership(const node& n) { prefetch_between(&n.membership_, &n.membership_.links_); }

void memory_hints::prefetch_for(const node& n, const message& m) {
  const bool query = std::holds_alternative<msg_query>(m);
  prefetch_head(n);
  const membership& members = n.membership_;
  if (query || std::holds_alternative<msg_query_hit>(m) || std::holds_alternative<msg_walk_check>(m) ||
      std::holds_alternative<msg_walk_status>(m)) {
    // The membership's last members (from self_: the active view and its links) and the
    // searcher's first ones, which follow them and end with the duplicate cache's lookup
    // members (its table's storage comes after them).
    prefetch_between(&members.self_, &n.search_.seen_.storage_);
  } else if (const auto* s = std::get_if<msg_shuffle>(&m); s != nullptr && s->ttl > 1) {
    // A shuffle walk with hops to go most likely passes through to a random neighbour (unless
    // this node has one neighbour only), reading 4 of the membership's 8 lines: from just after
    // the passive view up to the links.
    prefetch_between(reinterpret_cast<const char*>(&members.passive_) + sizeof(members.passive_), &members.links_);
  } else {
    prefetch_membership(n);
  }
}

void memory_hints::prefetch_for(const node& n, const timer_id& t) {
  if (!membership::owns(t)) {
    prefetch(n);
    return;
  }
  prefetch_head(n);
  prefetch_membership(n);
}

void memory_hints::warm_for(const node& n, const timer_id& t) {
  if (!n.running_ || !membership::owns(t)) return;
  warm_counters(n, stats_hot_bytes);
  warm_membership(n.membership_, t);
}

void memory_hints::warm_for(const node& n, const message& m) {
  if (!n.running_) return;
  // A query copy bumps five counters; the rest of the messages may bump any of the hot ones.
  // (Shared by a block of peers in the simulator, they are seldom far.)
  warm_counters(n, std::holds_alternative<msg_query>(m) ? stats_query_hot_bytes : stats_hot_bytes);
  warm_membership(n.membership_, m);
  if (const auto* q = std::get_if<msg_query>(&m)) {
    warm_seen(n.search_.seen_, q->id, true);  // the link to the sender has a memo (unless a sweep renumbered)
  } else if (const auto* h = std::get_if<msg_query_hit>(&m)) {
    warm_seen(n.search_.seen_, h->id, false);  // a hit goes back to the address its id names
  }
}

// ---- the membership -----------------------------------------------------------------------

void memory_hints::warm_membership(const membership& ms, const message& m) {
  // Every membership message but a JOIN_REPLY may scan or change the passive view, except a
  // walk passing through (most shuffle and FORWARD_JOIN messages): it reads neither the view
  // nor, for a shuffle, the list of peers it carries. The conditions mirror on_shuffle's and
  // on_forward_join's.
  auto warm = [](std::span<const peer_addr> v) { prefetch_range(v.data(), v.size_bytes()); };
  const peer_view& passive = ms.passive();
  auto warm_passive = [&] { prefetch_range(passive.key_data(), passive.key_bytes()); };
  if (const auto* s = std::get_if<msg_shuffle>(&m)) {
    if (s->ttl > 1 && ms.active().size() > 1) return;
    warm_passive();
    warm(s->nodes);
  } else if (const auto* r = std::get_if<msg_shuffle_reply>(&m)) {
    warm_passive();
    warm(r->nodes);
  } else if (const auto* f = std::get_if<msg_forward_join>(&m)) {
    const bool walk_ends = f->ttl == 0 || ms.active().size() <= 1;
    if (walk_ends || f->ttl == ms.cfg_.walk_length_passive) warm_passive();
  } else if (std::holds_alternative<msg_disconnect>(m) || std::holds_alternative<msg_neighbor>(m) ||
             std::holds_alternative<msg_neighbor_reply>(m) || std::holds_alternative<msg_join>(m)) {
    warm_passive();
  }
}

void memory_hints::warm_membership(const membership& ms, const timer_id& t) {
  // A shuffle samples the passive view; a repair that finds the active view short, and a
  // NEIGHBOR request that timed out, look for a candidate in it. Join timeouts and repairs
  // of a full view read nothing behind pointers.
  const bool reads_passive = t.kind == timer_kind::shuffle || t.kind == timer_kind::neighbor_timeout ||
                             (t.kind == timer_kind::repair && ms.active().size() < ms.cfg_.view_size_active);
  if (reads_passive) prefetch_range(ms.passive().key_data(), ms.passive().key_bytes());
}

// ---- the duplicate cache ------------------------------------------------------------------

void memory_hints::warm_seen(const dup_cache& d, query_id id, bool memo) {
  if (d.slot_count() == 0) return;
  if (d.needs_room()) {
    // A new id makes room first (insert), and make_room reads the whole table, whose lines
    // (4 to 16 of them while a node's table grows to 64 slots) would otherwise be read cold one
    // after another. Rare: a node growing from its first table does it at its 13th and 49th
    // ids, then at each doubling.
    prefetch_range(d.slots_, d.slot_count() * sizeof(dup_cache::slot));
    return;
  }
  prefetch_line(&d.slots_[d.home(id)]);
  // Without a memo, a new id's insert scans the few upstreams (two or three lines); a hub's
  // hashed table is left to the insert.
  if (!memo && d.upstream_slots_.empty()) prefetch_range(d.upstreams_.key_data(), d.upstreams_.key_bytes());
}

}  // namespace hearsay

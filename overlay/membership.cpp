// HyParView membership (Leitao, Pereira, Rodrigues, DSN 2007): join walks, symmetric active
// view, passive view kept fresh by shuffles, repair by promoting passive peers.

#include "overlay/membership.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>


namespace hearsay {

namespace {
// Where p is in v: its index, or v.size() when absent.
template <typename View>
std::size_t position(const View& v, const peer_addr& p) {
  return static_cast<std::size_t>(find_addr(v.data(), v.data() + v.size(), p) - v.data());
}
std::size_t position(const peer_view& v, const peer_addr& p) {
  const std::size_t i = v.find(p);
  return i == peer_view::npos ? v.size() : i;
}
template <typename View>
bool contains(const View& v, const peer_addr& p) {
  return position(v, p) != v.size();
}
// A random choice among the positions 0 .. n - 1 that `ok` accepts, without a list of them:
// count_where counts them, the caller draws a rank below the count, nth_where finds it.
template <typename Pred>
std::size_t count_where(std::size_t n, Pred ok) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) count += ok(i) ? 1u : 0u;
  return count;
}
template <typename Pred>
std::size_t nth_where(std::uint64_t rank, Pred ok) {
  for (std::size_t i = 0;; ++i) {
    if (ok(i) && rank-- == 0) return i;
  }
}
// Appends up to k distinct random members of `from` (other than `except`) to `out`.
//
// A partial Fisher-Yates shuffle of `from` without `except` (views hold it once), done in
// place of a copy: the pool is `from` with that one entry left out, and the few entries the
// shuffle has swapped are kept aside (k of them at most), so no memory is taken per call.
template <typename View>
void sample_into(rng& random, const View& from, std::size_t k, const peer_addr* except, std::vector<peer_addr>& out) {
  const std::size_t skip = except == nullptr ? from.size() : position(from, *except);
  const std::size_t size = from.size() - (skip < from.size() ? 1 : 0);
  struct swapped {
    std::size_t index;
    peer_addr value;
  };
  small_vector<swapped, 16> moved;
  auto at = [&](std::size_t i) -> peer_addr {
    for (const auto& m : moved) {
      if (m.index == i) return m.value;
    }
    return from[i < skip ? i : i + 1];
  };
  const std::size_t n = std::min(k, size);
  out.reserve(out.size() + n);  // one allocation, not one per doubling
  for (std::size_t i = 0; i < n; ++i) {
    const auto j = i + static_cast<std::size_t>(random.below(size - i));
    const peer_addr picked = at(j);
    const peer_addr displaced = at(i);  // goes where the pick was (position i is not read again)
    bool found = false;
    for (auto& m : moved) {
      if (m.index == j) {
        m.value = displaced;
        found = true;
      }
    }
    if (!found) moved.push_back({j, displaced});
    out.push_back(picked);
  }
}
}  // namespace

membership::membership(const membership_config& cfg, const std::vector<peer_addr>& seeds,
                       const peer_addr& self, rng& random, host& h, node_stats& stats)
    : seeds_(seeds),
      stranger_replies_(cfg.stranger_replies_per_s, cfg.stranger_replies_burst),
      cfg_(cfg),
      rng_(random),
      host_(h),
      stats_(stats),
      self_(self) {
  HEARSAY_ASSERT(cfg_.view_size_active >= 1);
  HEARSAY_ASSERT(cfg_.shuffle_period.count() > 0 && cfg_.repair_period.count() > 0);
}

void membership::reserve_passive() {
  // The passive view fills within a shuffle or two, so it is given its full size (up to 64)
  // at once rather than grown by doubling, which left five smaller blocks behind per peer.
  if (passive_.empty()) passive_.reserve(std::min<std::size_t>(cfg_.view_size_passive, 64));
}

bool membership::is_active(const peer_addr& peer) const { return contains(active_, peer); }

bool membership::is_passive(const peer_addr& peer) const { return passive_.contains(peer); }

bool membership::is_outbound(const peer_addr& peer) const {
  const std::size_t i = position(active_, peer);
  return i != active_.size() && ((outbound_ >> i) & 1u) != 0;
}

std::uint32_t membership::outbound_count() const { return static_cast<std::uint32_t>(std::popcount(outbound_)); }

std::uint32_t membership::outbound_min() const {
  return std::min(cfg_.active_outbound_min, cfg_.view_size_active - 1);
}

std::uint32_t membership::protected_min() const {
  return std::min(cfg_.active_protected, cfg_.view_size_active - 1 - outbound_min());
}

membership::link_state* membership::link(const peer_addr& peer) {
  HEARSAY_ASSERT(links_.size() == active_.size());
  const std::size_t i = position(active_, peer);
  return i == active_.size() ? nullptr : &links_[i];
}

void membership::send(const peer_addr& to, const message& m) {
  ++stats_.messages_sent;
  host_.send(to, m);
}

void membership::send(const peer_addr& to, message&& m) {
  ++stats_.messages_sent;
  host_.send_owned(to, std::move(m));
}

void membership::start(micros now) {
  HEARSAY_ASSERT(!running_);
  running_ = true;
  // Start from a random seed, so that many nodes started from one seed list spread their
  // joins over all seeds.
  if (!seeds_.empty()) seed_cursor_ = static_cast<std::uint32_t>(rng_.below(seeds_.size()));
  seed_above_ = contains(seeds_, self_) && std::any_of(seeds_.begin(), seeds_.end(), [&](const peer_addr& p) {
                  return p < self_ && !p.is_unspecified();
                });
  send_join(now);
  // Random phases keep the nodes' periodic work from synchronising.
  const auto shuffle_at = now + micros(static_cast<std::int64_t>(
                                    rng_.below(static_cast<std::uint64_t>(cfg_.shuffle_period.count())) + 1));
  const auto repair_at = now + micros(static_cast<std::int64_t>(
                                   rng_.below(static_cast<std::uint64_t>(cfg_.repair_period.count())) + 1));
  host_.schedule(shuffle_at, {timer_kind::shuffle, 0});
  repair_phase_ = repair_at;
  repair_armed_ = true;
  host_.schedule(repair_at, {timer_kind::repair, 0});
  if (cfg_.mix_period.count() > 0) {
    // Drawn after the others: a run without mixing makes the draws it always made.
    const auto mix_at = now + micros(static_cast<std::int64_t>(
                                  rng_.below(static_cast<std::uint64_t>(cfg_.mix_period.count())) + 1));
    host_.schedule(mix_at, {timer_kind::mix, 0});
  }
}

void membership::start_static(std::span<const peer_addr> neighbours) {
  HEARSAY_ASSERT(!running_);
  running_ = true;
  static_ = true;
  for (const auto& p : neighbours) {
    if (p != self_ && !is_active(p)) {
      active_.push_back(p);
      links_.push_back(link_state{});
    }
  }
}

void membership::leave(micros now) {
  static_cast<void>(now);
  for (const auto& peer : active_) {
    send(peer, msg_disconnect{true});
    host_.disconnect(peer);
    host_.on_active_view_changed(peer, false);
  }
  active_.clear();
  links_.clear();
  outbound_ = 0;
  running_ = false;
}

namespace {
// Whether `view` holds at least `max` members of peer's network group (never for a private
// peer, nor with max 0).
template <typename View>
bool group_full(const View& view, const peer_addr& peer, std::uint32_t max) {
  if (max == 0 || is_private(peer)) return false;
  // The members in peer's network group (as network_group tells groups apart: an IPv4 /24 is
  // the first 15 bytes of the IPv4-mapped address, an IPv6 /48 the first 6), compared as two
  // masked words each: every shuffle asks this for each peer it brings, over the whole view.
  static constexpr std::array<std::uint8_t, 8> all = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static constexpr std::array<std::uint8_t, 8> six = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0};
  static constexpr std::array<std::uint8_t, 8> seven = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
  const bool v4 = peer.is_ipv4();
  std::uint64_t head_mask = 0, tail_mask = 0, head = 0, tail = 0;
  std::memcpy(&head_mask, v4 ? all.data() : six.data(), 8);
  if (v4) std::memcpy(&tail_mask, seven.data(), 8);
  std::memcpy(&head, peer.ip.data(), 8);
  std::memcpy(&tail, peer.ip.data() + 8, 8);
  head &= head_mask;
  tail &= tail_mask;
  std::uint32_t n = 0;
  for (const auto& p : view) {
    // The last eight bytes first: for IPv4 they tell the groups apart.
    std::uint64_t t = 0;
    std::memcpy(&t, p.ip.data() + 8, 8);
    if ((t & tail_mask) != tail) continue;
    std::uint64_t h = 0;
    std::memcpy(&h, p.ip.data(), 8);
    if ((h & head_mask) == head && ++n >= max) return true;
  }
  return false;
}
// The same over the passive view's packed keys: an IPv4 peer's /24 is its key's top bits
// from bit 24 up (IPv6 members have keys far below).
bool group_full(const peer_view& view, const peer_addr& peer, std::uint32_t max) {
  if (max == 0 || is_private(peer)) return false;
  if (peer.is_ipv4()) return view.count_ipv4_prefix(peer, 24, max) >= max;
  return group_full<peer_view>(view, peer, max);
}
}  // namespace

bool membership::passive_group_full(const peer_addr& peer) const {
  return group_full(passive_, peer, cfg_.passive_per_group_max);
}

bool membership::active_group_full(const peer_addr& peer) const {
  return group_full(active_, peer, cfg_.active_per_group_max);
}

void membership::add_passive(const peer_addr& peer) {
  if (peer == self_ || peer.is_unspecified() || is_active(peer) || is_passive(peer)) return;
  if (cfg_.view_size_passive == 0 || passive_group_full(peer)) return;
  if (passive_.size() >= cfg_.view_size_passive) {
    passive_.erase_at(static_cast<std::size_t>(rng_.below(passive_.size())));
  }
  reserve_passive();
  passive_.push_back(peer);
}

void membership::refuse(const peer_addr& peer) {
  if (!running_ || peer == self_ || is_active(peer)) return;
  send(peer, msg_disconnect{});
  host_.disconnect(peer);
}

bool membership::admits(micros now, const peer_addr& peer, bool outbound) {
  if (active_group_full(peer)) return false;
  if (outbound || active_.size() < cfg_.view_size_active || cfg_.active_admit_interval.count() == 0) return true;
  if (now < admit_at_) return false;
  admit_at_ = now + cfg_.active_admit_interval;
  return true;
}

bool membership::add_active(micros now, const peer_addr& peer, bool outbound) {
  if (peer == self_ || peer.is_unspecified() || is_active(peer)) return false;
  if (!admits(now, peer, outbound)) return false;
  insert_active(peer, outbound);
  if (seed_above_) arm_repair(now);  // the member evicted may have been its link to a lower seed
  return true;
}

void membership::insert_active(const peer_addr& peer, bool outbound) {
  passive_.erase(peer);
  if (active_.size() >= cfg_.view_size_active) drop_random_active();
  if (outbound && active_.size() < 64) outbound_ |= std::uint64_t{1} << active_.size();
  active_.push_back(peer);
  links_.push_back(link_state{});
  host_.on_active_view_changed(peer, true);
}

void membership::erase_active_at(std::size_t i) {
  active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
  links_.erase(links_.begin() + static_cast<std::ptrdiff_t>(i));
  // The bits above i move down one place, as the members do. (Only a fixed graph's view,
  // which has no outbound members, can be longer than the mask.)
  if (i >= 64) return;
  const std::uint64_t below = outbound_ & ((std::uint64_t{1} << i) - 1);
  const std::uint64_t above = i == 63 ? 0 : (outbound_ >> (i + 1)) << i;
  outbound_ = below | above;
}

void membership::drop_random_active() {
  HEARSAY_ASSERT(!active_.empty());
  const std::uint32_t outbound = outbound_count();
  const bool keep_outbound = outbound != 0 && outbound <= outbound_min();
  // The oldest inbound members are the first ones: the view keeps its members in the order
  // they came.
  const std::size_t keep_oldest = std::min<std::size_t>(protected_min(), active_.size() - outbound);
  std::size_t i = 0;
  if (!keep_outbound && keep_oldest == 0) {
    // Any member (with both rules off, or nothing they protect, the paper's rule).
    i = static_cast<std::size_t>(rng_.below(active_.size()));
  } else {
    // A random unprotected member, found by rank. There is one: the view is full, and
    // outbound_min() + protected_min() < view_size_active.
    const std::size_t candidates = active_.size() - (keep_outbound ? outbound : 0) - keep_oldest;
    HEARSAY_ASSERT(candidates > 0);
    auto rank = rng_.below(candidates);
    std::size_t inbound_seen = 0;
    for (i = 0;; ++i) {
      if (i < 64 && ((outbound_ >> i) & 1u) != 0) {
        if (keep_outbound) continue;
      } else if (inbound_seen++ < keep_oldest) {
        continue;
      }
      if (rank-- == 0) break;
    }
  }
  const peer_addr victim = active_[i];
  erase_active_at(i);
  send(victim, msg_disconnect{});
  host_.disconnect(victim);
  host_.on_active_view_changed(victim, false);
  add_passive(victim);
}

bool membership::remove_active(const peer_addr& peer) {
  const std::size_t i = position(active_, peer);
  if (i == active_.size()) return false;
  erase_active_at(i);
  host_.on_active_view_changed(peer, false);
  return true;
}

bool membership::remove_passive(const peer_addr& peer) { return passive_.erase(peer); }


const peer_addr* membership::random_active_except(const peer_addr& except, const peer_addr& also_except) {
  // Counted, then found by rank: no list of the candidates is made.
  const bool two = also_except != except;
  const std::size_t others =
      active_.size() - (is_active(except) ? 1 : 0) - (two && is_active(also_except) ? 1 : 0);
  if (others == 0) return nullptr;
  auto k = rng_.below(others);
  for (const auto& p : active_) {
    if (p == except || p == also_except) continue;
    if (k-- == 0) return &p;
  }
  return nullptr;
}

// ---- joining -------------------------------------------------------------------------

void membership::send_join(micros now) {
  if (!running_) return;
  // The next seed in turn that is not this node, nor, for a seed to join one below it, above.
  const bool lower_only = needs_lower_seed();
  for (std::size_t tried = 0; tried < seeds_.size(); ++tried) {
    const peer_addr& seed = seeds_[seed_cursor_ % seeds_.size()];
    seed_cursor_ = static_cast<std::uint32_t>((seed_cursor_ + 1) % seeds_.size());
    if (seed == self_ || seed.is_unspecified() || (lower_only && !(seed < self_))) continue;
    join_pending_ = true;
    join_target_ = seed;
    ++join_generation_;
    join_open_until_ = now + 2 * cfg_.request_timeout;
    ++stats_.joins_sent;
    send(seed, msg_join{});
    host_.schedule(now + cfg_.request_timeout, {timer_kind::join_timeout, join_generation_});
    return;
  }
  // No seed but this node: it is the first peer of the overlay and waits to be joined.
}

void membership::on_join(micros now, const peer_addr& from) {
  ++stats_.joins_accepted;
  if (is_active(from) || add_active(now, from, false)) {
    send(from, msg_join_reply{});
  } else {
    // Not taken in (its group is present, or newcomers came too fast): kept in reserve, and
    // the join's walks still go out, so that it ends in other peers' views.
    add_passive(from);
  }
  for (const auto& peer : active_) {
    if (peer != from) send(peer, msg_forward_join{from, cfg_.walk_length_active});
  }
}

void membership::on_forward_join(micros now, const peer_addr& from, const msg_forward_join& m) {
  ++stats_.forward_joins_received;
  if (m.joiner == self_) return;
  // No walk is longer than this node's own walks: a peer cannot make the overlay carry one
  // farther (a walk of 255 hops) than its operators allow.
  const std::uint8_t walk_ttl = std::min(m.ttl, cfg_.walk_length_active);
  // The walk ends here when its TTL is spent or this node has no one else to pass it to.
  const bool walk_ends = walk_ttl == 0 || active_.size() <= 1;
  if (!walk_ends) {
    if (walk_ttl == cfg_.walk_length_passive) add_passive(m.joiner);
    // Never to the joiner, which drops a walk about itself: the link the walk was to make
    // would be lost.
    if (const peer_addr* next = random_active_except(from, m.joiner)) {
      const std::uint8_t ttl = static_cast<std::uint8_t>(walk_ttl - 1);
      send(*next, msg_forward_join{m.joiner, ttl});
      return;
    }
  }
  if (is_active(m.joiner)) return;
  if (!stranger_replies_.take(now)) {
    ++stats_.stranger_sends_refused;  // a flood of walks naming one address ends here
    return;
  }
  if (add_active(now, m.joiner, false)) send(m.joiner, msg_join_reply{});
}

void membership::on_join_reply(micros now, const peer_addr& from) {
  if (now > join_open_until_) {
    // Not answering a join of this node's: refused, or anyone could enter its active view.
    // The sender has put this node into its own active view: DISCONNECT undoes that, so
    // that no link stays one-sided (a walk's end answering a join that gave up, say).
    ++stats_.messages_unexpected;
    refuse(from);
    return;
  }
  if (join_pending_) join_pending_ = false;
  // The contact this node chose is outbound; the ends of its walks chose this node. One
  // this node does not take in (see admits) is told so, as it has taken this node in.
  if (!add_active(now, from, from == join_target_) && !is_active(from)) refuse(from);
}

bool membership::needs_lower_seed() const {
  if (!seed_above_) return false;
  for (const auto& p : active_) {
    if (p < self_ && contains(seeds_, p)) return false;
  }
  return true;
}

void membership::disconnect_unless_active(const peer_addr& peer) {
  if (!is_active(peer)) host_.disconnect(peer);
}

// ---- repair --------------------------------------------------------------------------

void membership::repair(micros now) {
  if (!running_) return;
  // Repair or not: this is how the overlays that seeds started apart become one.
  if (!join_pending_ && needs_lower_seed()) send_join(now);
  if (!cfg_.repair) return;
  if (active_.empty() && passive_.empty()) {
    if (!join_pending_) send_join(now);
    return;
  }
  if (active_.size() < cfg_.view_size_active && !neighbor_pending_) request_neighbor(now);
}

bool membership::repair_wanted() const {
  return needs_lower_seed() ||
         (cfg_.repair && (active_.size() < cfg_.view_size_active || (active_.empty() && passive_.empty())));
}

std::uint64_t membership::ticks_before(micros now) const {
  if (now <= repair_phase_) return 0;
  return static_cast<std::uint64_t>((now - repair_phase_ - micros{1}) / cfg_.repair_period) + 1;
}

void membership::arm_repair(micros now) {
  if (repair_armed_ || !running_ || static_ || !repair_wanted()) return;
  repair_armed_ = true;
  // The next tick of the grid after now.
  const auto next = ticks_before(now + micros{1});
  host_.schedule(repair_phase_ + cfg_.repair_period * static_cast<std::int64_t>(next), {timer_kind::repair, 0});
}

void membership::request_neighbor(micros now) {
  // A new round when a tick of the grid has come since the last one began (a tick the timer
  // skipped with a full view, see arm_repair).
  if (const auto ticks = ticks_before(now); ticks > tried_ticks_) {
    neighbor_tried_.clear();
    tried_ticks_ = ticks;
  }
  if (!active_.empty() && neighbor_tried_.size() >= cfg_.repair_requests_per_round) return;
  // A random passive peer not tried yet this round (counted, then found by rank: no list).
  // Peers of a network group the active view already holds enough of are not asked: they
  // would not be taken in (active_per_group_max).
  const auto eligible = [&](std::size_t i) {
    const peer_addr p = passive_[i];
    return !contains(neighbor_tried_, p) && !active_group_full(p);
  };
  const std::size_t candidates = count_where(passive_.size(), eligible);
  if (candidates == 0) {
    // Every known peer said no or is gone: an isolated node starts over through a seed.
    if (active_.empty() && !join_pending_) send_join(now);
    return;
  }
  const peer_addr target = passive_[nth_where(rng_.below(candidates), eligible)];
  neighbor_tried_.push_back(target);
  neighbor_pending_ = true;
  neighbor_target_ = target;
  ++neighbor_generation_;
  ++stats_.neighbor_requests_sent;
  // High priority when this node has (almost) no neighbour: the paper's rule that an
  // isolated node is always taken in, extended to near-isolated ones (config).
  send(target, msg_neighbor{active_.size() < cfg_.high_priority_below});
  host_.schedule(now + cfg_.request_timeout, {timer_kind::neighbor_timeout, neighbor_generation_});
}

void membership::on_neighbor(micros now, const peer_addr& from, const msg_neighbor& m) {
  const bool accept = is_active(from) || ((m.high_priority || active_.size() < cfg_.view_size_active) &&
                                          add_active(now, from, false));
  send(from, msg_neighbor_reply{accept});
  if (!accept) host_.disconnect(from);
}

void membership::on_neighbor_reply(micros now, const peer_addr& from, const msg_neighbor_reply& m) {
  const bool awaited = neighbor_pending_ && from == neighbor_target_;
  if (awaited) neighbor_pending_ = false;
  if (m.accepted) {
    if (awaited || active_.size() < cfg_.view_size_active) {
      // Outbound when it answers this node's own request (a late acceptance of an earlier one
      // is taken as a newcomer, like any peer that asks).
      if (!add_active(now, from, awaited) && !is_active(from)) {
        send(from, msg_disconnect{});  // not admitted (see admits): undone on the other side
        host_.disconnect(from);
        add_passive(from);
      }
    } else {
      // A late acceptance this node no longer wants: undo it on the other side, so that the
      // active views stay symmetric.
      send(from, msg_disconnect{});
      host_.disconnect(from);
      add_passive(from);
    }
    if (awaited && active_.size() < cfg_.view_size_active) request_neighbor(now);
    return;
  }
  ++stats_.neighbor_requests_rejected;
  disconnect_unless_active(from);
  if (awaited) request_neighbor(now);
}

void membership::on_disconnect(micros now, const peer_addr& from, const msg_disconnect& m) {
  if (m.leaving) remove_passive(from);  // it leaves the overlay: not a peer to keep in reserve
  if (!remove_active(from)) return;
  host_.disconnect(from);
  if (!m.leaving) add_passive(from);
  if (active_.empty()) repair(now);
  arm_repair(now);
}

void membership::on_peer_down(micros now, const peer_addr& peer) {
  if (static_) {
    // A fixed graph loses the link and does not repair it.
    remove_active(peer);
    return;
  }
  const bool was_active = remove_active(peer);
  const bool was_passive = remove_passive(peer);
  if (was_active || was_passive) ++stats_.peers_failed;
  if (join_pending_ && peer == join_target_) {
    join_pending_ = false;
    if (active_.empty()) send_join(now);
  }
  if (neighbor_pending_ && peer == neighbor_target_) {
    neighbor_pending_ = false;
    request_neighbor(now);
  } else if (was_active) {
    repair(now);
  }
  if (was_active) arm_repair(now);
}

// ---- shuffling -----------------------------------------------------------------------

void membership::do_shuffle(micros now) {
  static_cast<void>(now);
  if (active_.empty()) return;
  const peer_addr target = active_[static_cast<std::size_t>(rng_.below(active_.size()))];
  msg_shuffle m;
  m.origin = self_;
  m.ttl = cfg_.walk_length_shuffle;
  m.nonce = host_.nonce();
  shuffle_nonce_ = m.nonce;
  m.nodes.reserve(1 + std::size_t{cfg_.shuffle_active} + cfg_.shuffle_passive);  // one allocation per shuffle
  m.nodes.push_back(self_);
  sample_into(rng_, active_, cfg_.shuffle_active, &target, m.nodes);
  sample_into(rng_, passive_, cfg_.shuffle_passive, nullptr, m.nodes);
  last_shuffle_sent_.assign(m.nodes.begin() + 1, m.nodes.end());
  ++stats_.shuffles_sent;
  send(target, std::move(m));
}

void membership::on_shuffle(micros now, const peer_addr& from, msg_shuffle& m) {
  ++stats_.shuffles_received;
  if (m.origin == self_) return;
  // As for join walks: no longer than this node's own shuffle walks, and no more peers than
  // its own shuffles carry (the origin, active and passive samples).
  m.ttl = std::min(m.ttl, cfg_.walk_length_shuffle);
  const std::size_t carried_max = 1 + std::size_t{cfg_.shuffle_active} + cfg_.shuffle_passive;
  if (m.nodes.size() > carried_max) m.nodes.resize(carried_max);
  if (m.ttl > 1 && active_.size() > 1) {
    // Never back to the origin, which drops its own shuffle: the exchange would be lost.
    if (const peer_addr* next = random_active_except(from, m.origin)) {
      // The walk goes on with the list it brought: moved, not copied.
      m.ttl = static_cast<std::uint8_t>(m.ttl - 1);
      send(*next, std::move(m));
      return;
    }
  }
  // The walk ends here: answer the origin directly with as many passive ids as it sent,
  // then take its ids in, evicting first the ones just sent away.
  msg_shuffle_reply reply;
  if (is_active(m.origin) || stranger_replies_.take(now)) {
    reply.nonce = m.nonce;
    sample_into(rng_, passive_, m.nodes.size(), &m.origin, reply.nodes);
    // Merged before the reply leaves with its list; what it sends is evicted first.
    merge_passive(m.nodes, reply.nodes);
    send(m.origin, std::move(reply));
    if (!is_active(m.origin)) host_.disconnect(m.origin);
  } else {
    ++stats_.stranger_sends_refused;
    merge_passive(m.nodes, {});
  }
}

void membership::on_shuffle_reply(micros now, const peer_addr& from, const msg_shuffle_reply& m) {
  static_cast<void>(now);
  disconnect_unless_active(from);
  if (shuffle_nonce_ == 0 || m.nonce != shuffle_nonce_) {
    // Not the answer to this node's last shuffle (a forgery, or one overtaken by the next
    // shuffle): it would replace the passive view with peers of the sender's choosing.
    ++stats_.messages_unexpected;
    return;
  }
  shuffle_nonce_ = 0;  // one reply per shuffle
  // At most as many peers as the shuffle carried (the walk end answers with that many).
  const std::size_t take = std::min(m.nodes.size(), last_shuffle_sent_.size() + 1);
  merge_passive(std::span(m.nodes).first(take), last_shuffle_sent_);
  // Freed, not cleared: a shuffle is answered within a round trip and made once a period, so
  // most nodes hold none (an allocation per shuffle, against 126 bytes a peer for good). (Not
  // `= {}`, which assigns an empty list and keeps the storage.)
  std::vector<peer_addr>().swap(last_shuffle_sent_);
}

void membership::merge_passive(std::span<const peer_addr> peers, std::span<const peer_addr> evict_first) {
  std::size_t evictable = evict_first.size();  // taken from the back
  for (const auto& p : peers) {
    if (p == self_ || p.is_unspecified() || is_active(p) || is_passive(p) || passive_group_full(p)) continue;
    if (cfg_.view_size_passive == 0) return;
    if (passive_.size() >= cfg_.view_size_passive) {
      bool evicted = false;
      while (evictable > 0 && !evicted) evicted = passive_.erase(evict_first[--evictable]);
      if (!evicted) {
        passive_.erase_at(static_cast<std::size_t>(rng_.below(passive_.size())));
      }
    }
    reserve_passive();
    passive_.push_back(p);
  }
}

// ---- mixing ---------------------------------------------------------------------------

membership::mix_state& membership::mixing() {
  if (!mix_) mix_ = std::make_unique<mix_state>();
  return *mix_;
}

bool membership::evictable_at(std::size_t i) const {
  const bool outbound = i < 64 && ((outbound_ >> i) & 1u) != 0;
  if (outbound) return outbound_count() > outbound_min();
  // The oldest inbound members come first.
  std::size_t older_inbound = 0;
  for (std::size_t j = 0; j < i; ++j) {
    if (!(j < 64 && ((outbound_ >> j) & 1u) != 0)) ++older_inbound;
  }
  return older_inbound >= protected_min();
}

bool membership::evictable(const peer_addr& peer) const {
  const std::size_t i = position(active_, peer);
  return i != active_.size() && evictable_at(i);
}

bool membership::group_allows_swap(const peer_addr& in, const peer_addr& out) const {
  if (!active_group_full(in)) return true;
  // Full: the swap keeps the count when the member leaving is of the same group.
  return !is_private(in) && network_group(in) == network_group(out);
}

void membership::swap_member(micros now, const peer_addr& out, const peer_addr& in, bool outbound, bool close) {
  if (remove_active(out)) {
    if (close) host_.disconnect(out);
    add_passive(out);
  }
  if (!is_active(in) && in != self_) insert_active(in, outbound);
  arm_repair(now);  // a link to a lower seed, or a member, may have gone
}

void membership::do_mix(micros now) {
  // Only a full view mixes: one with room takes newcomers anyway, and repair fills it.
  if (active_.size() < cfg_.view_size_active || passive_.empty()) return;
  auto& own = mixing().own;
  if (own.open(now)) return;
  // O: a random member the eviction rules let go.
  const auto givable = [&](std::size_t i) { return evictable_at(i); };
  const std::size_t givables = count_where(active_.size(), givable);
  if (givables == 0) return;
  const peer_addr old = active_[nth_where(rng_.below(givables), givable)];
  // C: a random passive peer the view may take in place of O.
  const auto takes_place = [&](std::size_t i) { return group_allows_swap(passive_[i], old); };
  const std::size_t candidates = count_where(passive_.size(), takes_place);
  if (candidates == 0) return;
  const peer_addr candidate = passive_[nth_where(rng_.below(candidates), takes_place)];
  own = {old, candidate, host_.nonce(), now + cfg_.request_timeout};
  ++stats_.mixes_started;
  send(candidate, msg_mix_offer{old, own.nonce});
}

void membership::on_mix_offer(micros now, const peer_addr& from, const msg_mix_offer& m) {
  msg_mix_answer no{mix_step::offer, false, false, m.nonce};
  // A node takes part in swaps only with mixing on: off, the protocol is the paper's.
  if (cfg_.mix_period.count() == 0 || m.nonce == 0 || m.old == self_ || m.old == from || is_active(from)) {
    send(from, no);
    disconnect_unless_active(from);
    return;
  }
  // Room in the view: I comes in at once (as a NEIGHBOR request would), O is not involved.
  if (active_.size() < cfg_.view_size_active) {
    const bool in = add_active(now, from, false);
    send(from, msg_mix_answer{mix_step::offer, in, true, m.nonce});
    if (!in) host_.disconnect(from);
    return;
  }
  auto& mine = mixing().as_candidate;
  // D: a random member other than O that the rules let go, and whose place I may take.
  const auto fits = [&](std::size_t i) {
    return active_[i] != m.old && evictable_at(i) && group_allows_swap(from, active_[i]);
  };
  const std::size_t eligible = count_where(active_.size(), fits);
  if (mine.open(now) || eligible == 0 || !stranger_replies_.take(now)) {
    send(from, no);
    host_.disconnect(from);
    return;
  }
  const peer_addr neighbour = active_[nth_where(rng_.below(eligible), fits)];
  mine = {from, neighbour, m.nonce, now + cfg_.request_timeout};
  send(neighbour, msg_mix_replace{from, m.old, m.nonce});
}

void membership::on_mix_replace(micros now, const peer_addr& from, const msg_mix_replace& m) {
  msg_mix_answer no{mix_step::replace, false, false, m.nonce};
  // Only from an active neighbour (C gives up its link to this node), about two others, and
  // to a peer this node may take in place of C.
  // (Mixing off: refused before any state is made for it.)
  if (cfg_.mix_period.count() == 0 || m.nonce == 0 || !evictable(from) || m.old == self_ || m.old == from ||
      m.initiator == self_ || is_active(m.old) || !group_allows_swap(m.old, from) ||
      mixing().as_neighbour.open(now) || !stranger_replies_.take(now)) {
    send(from, no);
    return;
  }
  mix_->as_neighbour = {from, m.old, m.nonce, now + cfg_.request_timeout};
  send(m.old, msg_mix_switch{m.initiator, m.nonce});
}

void membership::on_mix_switch(micros now, const peer_addr& from, const msg_mix_switch& m) {
  // O: gives up its link to I for one to D (the sender), if the rules let I go and take D.
  const bool ok = cfg_.mix_period.count() > 0 && m.nonce != 0 && m.initiator != from && evictable(m.initiator) && !is_active(from) &&
                  group_allows_swap(from, m.initiator) && admits(now, from, false);
  send(from, msg_mix_answer{mix_step::swap, ok, false, m.nonce});
  if (!ok) {
    host_.disconnect(from);
    return;
  }
  swap_member(now, m.initiator, from, false, false);
}

void membership::on_mix_answer(micros now, const peer_addr& from, const msg_mix_answer& m) {
  mix_state::step* pending = nullptr;
  if (mix_) {
    switch (m.step) {
      case mix_step::offer: pending = &mix_->own; break;
      case mix_step::replace: pending = &mix_->as_candidate; break;
      case mix_step::swap: pending = &mix_->as_neighbour; break;
    }
  }
  // From whom it is awaited: C (offer), D (replace), O (switch): `b` of each step.
  if (pending == nullptr || m.nonce == 0 || m.nonce != pending->nonce || from != pending->b) {
    ++stats_.messages_unexpected;
    return;
  }
  const mix_state::step done = *pending;
  *pending = {};
  switch (m.step) {
    case mix_step::offer:  // I: C took it in; O leaves (told so when C had room)
      if (!m.accepted) {
        disconnect_unless_active(from);
        return;
      }
      ++stats_.mixes_done;
      if (m.direct && is_active(done.a)) {
        send(done.a, msg_disconnect{});
      }
      swap_member(now, done.a, from, true, true);
      return;
    case mix_step::replace:  // C: D took O in place of this node; I takes D's place
      if (m.accepted) swap_member(now, from, done.a, false, true);
      send(done.a, msg_mix_answer{mix_step::offer, m.accepted, false, m.nonce});
      if (!m.accepted) disconnect_unless_active(done.a);
      return;
    case mix_step::swap:  // D: O took this node in place of I; O takes C's place
      if (m.accepted) swap_member(now, done.a, from, false, false);
      else disconnect_unless_active(from);
      send(done.a, msg_mix_answer{mix_step::replace, m.accepted, false, m.nonce});
      return;
  }
}

// ---- dispatch ------------------------------------------------------------------------

bool membership::on_message(micros now, const peer_addr& from, message& m) {
  if (!running_) return false;
  if (static_) {
    // A fixed graph: membership traffic is not expected, and is consumed without effect.
    return std::holds_alternative<msg_join>(m) || std::holds_alternative<msg_forward_join>(m) ||
           std::holds_alternative<msg_join_reply>(m) || std::holds_alternative<msg_neighbor>(m) ||
           std::holds_alternative<msg_neighbor_reply>(m) || std::holds_alternative<msg_disconnect>(m) ||
           std::holds_alternative<msg_shuffle>(m) || std::holds_alternative<msg_shuffle_reply>(m) ||
           std::holds_alternative<msg_mix_offer>(m) || std::holds_alternative<msg_mix_replace>(m) ||
           std::holds_alternative<msg_mix_switch>(m) || std::holds_alternative<msg_mix_answer>(m);
  }
  if (from == self_) return false;
  if (std::holds_alternative<msg_join>(m)) {
    on_join(now, from);
  } else if (auto* fj = std::get_if<msg_forward_join>(&m)) {
    on_forward_join(now, from, *fj);
  } else if (std::holds_alternative<msg_join_reply>(m)) {
    on_join_reply(now, from);
  } else if (auto* nb = std::get_if<msg_neighbor>(&m)) {
    on_neighbor(now, from, *nb);
  } else if (auto* nr = std::get_if<msg_neighbor_reply>(&m)) {
    on_neighbor_reply(now, from, *nr);
  } else if (auto* d = std::get_if<msg_disconnect>(&m)) {
    on_disconnect(now, from, *d);
  } else if (auto* sh = std::get_if<msg_shuffle>(&m)) {
    on_shuffle(now, from, *sh);
  } else if (auto* sr = std::get_if<msg_shuffle_reply>(&m)) {
    on_shuffle_reply(now, from, *sr);
  } else if (auto* mo = std::get_if<msg_mix_offer>(&m)) {
    on_mix_offer(now, from, *mo);
  } else if (auto* mr = std::get_if<msg_mix_replace>(&m)) {
    on_mix_replace(now, from, *mr);
  } else if (auto* ms = std::get_if<msg_mix_switch>(&m)) {
    on_mix_switch(now, from, *ms);
  } else if (auto* ma = std::get_if<msg_mix_answer>(&m)) {
    on_mix_answer(now, from, *ma);
  } else {
    return false;
  }
  return true;
}

bool membership::on_timer(micros now, timer_id id) {
  switch (id.kind) {
    case timer_kind::shuffle:
      if (!running_) return true;
      do_shuffle(now);
      host_.schedule(now + cfg_.shuffle_period, {timer_kind::shuffle, 0});
      return true;
    case timer_kind::repair:
      if (!running_) {
        repair_armed_ = false;
        return true;
      }
      neighbor_tried_.clear();
      tried_ticks_ = ticks_before(now) + 1;
      repair(now);
      if (repair_wanted()) {
        host_.schedule(now + cfg_.repair_period, {timer_kind::repair, 0});
      } else {
        repair_armed_ = false;
        // A full view: the list of this round's requests is freed when it holds none (most
        // nodes, most of the time), as the last shuffle's list is.
        if (neighbor_tried_.empty()) std::vector<peer_addr>().swap(neighbor_tried_);
      }
      return true;
    case timer_kind::join_timeout:
      if (join_pending_ && id.arg == join_generation_) {
        join_pending_ = false;
        disconnect_unless_active(join_target_);
        if (active_.empty()) send_join(now);
      }
      return true;
    case timer_kind::neighbor_timeout:
      if (neighbor_pending_ && id.arg == neighbor_generation_) {
        // A peer that does not answer in time is treated as gone from the reserve.
        neighbor_pending_ = false;
        remove_passive(neighbor_target_);
        disconnect_unless_active(neighbor_target_);
        request_neighbor(now);
      }
      return true;
    case timer_kind::mix:
      if (!running_ || static_ || cfg_.mix_period.count() == 0) return true;
      do_mix(now);
      host_.schedule(now + cfg_.mix_period, {timer_kind::mix, 0});
      return true;
    case timer_kind::query_timeout:
    case timer_kind::search_step:
    case timer_kind::walk_park_timeout:
      return false;
  }
  return false;
}

}  // namespace hearsay

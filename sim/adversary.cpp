// The eclipse attacker's Sybils (see adversary.hpp).

#include "sim/adversary.hpp"

#include <algorithm>

namespace hearsay::sim {

namespace {
constexpr std::uint64_t stream_sybils = 2'000'000'000;  // beyond the peers' streams (simulator.hpp)
}  // namespace

sybil_swarm::sybil_swarm(const address_plan& plan, const membership_config& cfg, std::uint32_t seed_count,
                         std::uint64_t seed, bool flood)
    : plan_(plan), cfg_(cfg), flood_(flood), seed_count_(std::max<std::uint32_t>(1, std::min(seed_count, plan.first_sybil()))) {
  sybils_.resize(plan.sybils());
  for (std::uint32_t k = 0; k < sybils_.size(); ++k) sybils_[k].random = rng::stream(seed, stream_sybils + k);
}

void sybil_swarm::set_schedule(micros first, micros period) {
  first_ = first;
  period_ = period;
}

micros sybil_swarm::start_of(std::uint32_t k) const {
  const auto n = static_cast<std::int64_t>(std::max<std::size_t>(1, sybils_.size()));
  return first_ + micros{period_.count() * static_cast<std::int64_t>(k) / n};
}

std::uint32_t sybil_swarm::started(micros now) const {
  const auto n = static_cast<std::uint32_t>(sybils_.size());
  if (now < first_) return 0;
  if (period_.count() <= 0) return n;
  // Sybil k has started when period x k / n <= now - first; all k up to (now - first) x n /
  // period have (a few more may have, within rounding).
  const auto k = static_cast<unsigned __int128>((now - first_).count()) * n / static_cast<std::uint64_t>(period_.count());
  return static_cast<std::uint32_t>(std::min<unsigned __int128>(n, k + 1));
}

peer_addr sybil_swarm::random_fellow(sybil& s, std::uint32_t i, micros now) const {
  const std::uint32_t n = started(now);
  if (n <= 1) return plan_.address_of(i);
  auto k = static_cast<std::uint32_t>(s.random.below(n - 1));
  if (plan_.first_sybil() + k >= i) ++k;  // every started Sybil but i
  return plan_.address_of(plan_.first_sybil() + k);
}

bool sybil_swarm::contains(const std::vector<peer_addr>& v, const peer_addr& a) {
  return find_addr(v.data(), v.data() + v.size(), a) != v.data() + v.size();
}

void sybil_swarm::learn(sybil& s, const peer_addr& a) const {
  if (!honest(a) || a.is_unspecified() || contains(s.known, a)) return;
  if (s.known.size() < known_max) {
    s.known.push_back(a);
  } else {
    s.known[static_cast<std::size_t>(s.random.below(s.known.size()))] = a;
  }
}

void sybil_swarm::link(sybil& s, const peer_addr& a) const {
  if (!honest(a) || contains(s.links, a)) return;
  s.links.push_back(a);
  learn(s, a);
}

void sybil_swarm::unlink(sybil& s, const peer_addr& a) const {
  const auto it = std::find(s.links.begin(), s.links.end(), a);
  if (it != s.links.end()) s.links.erase(it);
}

void sybil_swarm::send(sybil& s, host& h, const peer_addr& to, message&& m) const {
  ++s.sent;
  h.send_owned(to, std::move(m));
}

const peer_addr* sybil_swarm::random_link_except(sybil& s, const peer_addr& except) const {
  const std::size_t others = s.links.size() - (contains(s.links, except) ? 1 : 0);
  if (others == 0) return nullptr;
  auto k = s.random.below(others);
  for (const auto& p : s.links) {
    if (p == except) continue;
    if (k-- == 0) return &p;
  }
  return nullptr;
}

void sybil_swarm::start(std::uint32_t i, micros now, host& h) {
  sybil& s = at(i);
  // In through an honest seed, as anyone joins; then the two periodic activities, at random
  // phases as an honest peer's.
  const peer_addr seed = plan_.address_of(static_cast<std::uint32_t>(s.random.below(seed_count_)));
  learn(s, seed);
  send(s, h, seed, msg_join{});
  h.schedule(now + micros{static_cast<std::int64_t>(s.random.below(static_cast<std::uint64_t>(cfg_.repair_period.count())) + 1)},
             {timer_kind::repair, 0});
  h.schedule(now + micros{static_cast<std::int64_t>(s.random.below(static_cast<std::uint64_t>(cfg_.shuffle_period.count())) + 1)},
             {timer_kind::shuffle, 0});
}

void sybil_swarm::on_timer(std::uint32_t i, micros now, const timer_id& t, host& h) {
  if (t.kind == timer_kind::repair) {
    on_repair_tick(i, now, h);
    h.schedule(now + cfg_.repair_period, {timer_kind::repair, 0});
  } else if (t.kind == timer_kind::shuffle) {
    on_shuffle_tick(i, now, h);
    h.schedule(now + cfg_.shuffle_period, {timer_kind::shuffle, 0});
  }
}

void sybil_swarm::on_repair_tick(std::uint32_t i, micros now, host& h) {
  static_cast<void>(now);
  sybil& s = at(i);
  if (s.known.empty() || (s.links.empty() && !flood_)) {
    // Nobody to ask, or (as an isolated honest peer does) in again through a seed.
    const peer_addr seed = plan_.address_of(static_cast<std::uint32_t>(s.random.below(seed_count_)));
    learn(s, seed);
    send(s, h, seed, msg_join{});
    return;
  }
  std::size_t asks = 0;
  bool high_priority = true;
  if (flood_) {
    // A JOIN to any honest peer it knows (linked or not: the contact's walks carry it
    // further), and NEIGHBOR requests that may not be refused to view_size_active - 1 more.
    send(s, h, s.known[static_cast<std::size_t>(s.random.below(s.known.size()))], msg_join{});
    if (s.links.size() < links_max) asks = cfg_.view_size_active - 1;
  } else if (s.links.size() < cfg_.view_size_active) {
    // As an honest peer repairs a short view: so many requests a round, high priority only
    // while it has almost no link.
    asks = cfg_.repair_requests_per_round;
    high_priority = s.links.size() < cfg_.high_priority_below;
  }
  // To honest peers it is not linked with, in random order.
  thread_local std::vector<peer_addr> pool;  // scratch of the worker's thread
  pool.clear();
  for (const auto& p : s.known) {
    if (!contains(s.links, p)) pool.push_back(p);
  }
  asks = std::min(asks, pool.size());
  for (std::size_t k = 0; k < asks; ++k) {
    const auto j = k + static_cast<std::size_t>(s.random.below(pool.size() - k));
    std::swap(pool[k], pool[j]);
    send(s, h, pool[k], msg_neighbor{high_priority});
  }
}

void sybil_swarm::on_shuffle_tick(std::uint32_t i, micros now, host& h) {
  sybil& s = at(i);
  if (s.links.empty()) return;
  const peer_addr target = s.links[static_cast<std::size_t>(s.random.below(s.links.size()))];
  msg_shuffle m;
  m.origin = plan_.address_of(i);
  m.ttl = cfg_.walk_length_shuffle;
  m.nonce = s.random.next();
  m.nodes.push_back(m.origin);
  for (std::uint32_t k = 0; k < cfg_.shuffle_active + cfg_.shuffle_passive; ++k) m.nodes.push_back(random_fellow(s, i, now));
  send(s, h, target, std::move(m));
}

void sybil_swarm::on_message(std::uint32_t i, micros now, const peer_addr& from, message&& m, host& h) {
  sybil& s = at(i);
  const bool from_honest = honest(from);
  if (from_honest) learn(s, from);
  if (std::holds_alternative<msg_join>(m)) {
    if (!from_honest) return;
    // Taken in, and answered by fellows too, as if the join's walks had all ended at Sybils.
    link(s, from);
    send(s, h, from, msg_join_reply{});
    for (std::uint32_t k = 0; k + 1 < cfg_.view_size_active; ++k) {
      const peer_addr fellow = random_fellow(s, i, now);
      if (fellow != plan_.address_of(i)) send(s, h, fellow, msg_forward_join{from, 0});
    }
  } else if (const auto* fj = std::get_if<msg_forward_join>(&m)) {
    const std::uint8_t ttl = fj->ttl == 0 ? 0 : static_cast<std::uint8_t>(std::min(fj->ttl, cfg_.walk_length_active) - 1);
    if (honest(fj->joiner)) {
      // An honest joiner's walk ends here: the joiner is taken in (it accepts JOIN-REPLYs
      // while its join is open).
      link(s, fj->joiner);
      send(s, h, fj->joiner, msg_join_reply{});
      if (from_honest) {
        // ...and goes on as a walk for a Sybil, which its far end takes in.
        if (const peer_addr* next = random_link_except(s, from)) {
          send(s, h, *next, msg_forward_join{random_fellow(s, i, now), ttl});
        }
      }
    } else if (const peer_addr* next = random_link_except(s, from)) {
      // A fellow's walk: on to an honest peer, to end in an honest view.
      send(s, h, *next, msg_forward_join{fj->joiner, ttl});
    }
  } else if (std::holds_alternative<msg_join_reply>(m)) {
    link(s, from);
  } else if (std::holds_alternative<msg_neighbor>(m)) {
    send(s, h, from, msg_neighbor_reply{true});
    link(s, from);
  } else if (const auto* nr = std::get_if<msg_neighbor_reply>(&m)) {
    if (nr->accepted) link(s, from);
  } else if (const auto* d = std::get_if<msg_disconnect>(&m)) {
    unlink(s, from);
    if (d->leaving) {
      const auto it = std::find(s.known.begin(), s.known.end(), from);
      if (it != s.known.end()) s.known.erase(it);
    }
  } else if (auto* sh = std::get_if<msg_shuffle>(&m)) {
    for (const auto& p : sh->nodes) learn(s, p);
    if (!honest(sh->origin)) return;
    // The walk ends here, answered with Sybils only.
    msg_shuffle_reply reply;
    reply.nonce = sh->nonce;
    reply.nodes.reserve(sh->nodes.size());
    for (std::size_t k = 0; k < std::max<std::size_t>(1, sh->nodes.size()); ++k) reply.nodes.push_back(random_fellow(s, i, now));
    send(s, h, sh->origin, std::move(reply));
  } else if (const auto* sr = std::get_if<msg_shuffle_reply>(&m)) {
    for (const auto& p : sr->nodes) learn(s, p);
  } else {
    // Queries, hits, walkers' check-backs: swallowed.
    ++s.dropped;
  }
}

void sybil_swarm::on_peer_down(std::uint32_t i, const peer_addr& peer, bool closed) {
  sybil& s = at(i);
  unlink(s, peer);
  if (!closed) {
    const auto it = std::find(s.known.begin(), s.known.end(), peer);
    if (it != s.known.end()) s.known.erase(it);
  }
}

std::uint64_t sybil_swarm::messages_sent() const {
  std::uint64_t n = 0;
  for (const auto& s : sybils_) n += s.sent;
  return n;
}

std::uint64_t sybil_swarm::queries_dropped() const {
  std::uint64_t n = 0;
  for (const auto& s : sybils_) n += s.dropped;
  return n;
}

}  // namespace hearsay::sim

// TTL-limited flooding with duplicate suppression and reverse-path hits (see search.hpp).

#include "overlay/search.hpp"

#include <algorithm>
#include <cstring>

#include "overlay/prefetch.hpp"

namespace hearsay {

// ---- searcher ------------------------------------------------------------------------

searcher::searcher(const search_config& cfg, const peer_addr& self, rng& random, host& h,
                   node_stats& stats, const library& files, membership& members)
    : cfg_(cfg),
      rng_(random),
      host_(h),
      stats_(stats),
      library_(files),
      members_(members),
      seen_(cfg.dup_cache_capacity, cfg.dup_cache_lifetime),
      self_(self),
      stranger_sends_(cfg.stranger_sends_per_s, cfg.stranger_sends_burst) {
  HEARSAY_ASSERT(cfg.hits_per_query_max <= 255);  // a relay counts them in a byte (dup_cache)
}

query_id searcher::start(micros now, std::string criteria_text, std::uint8_t ttl, bool reply_direct) {
  query_id id = 0;
  while (id == 0 || seen_.find(id, now) != nullptr || find_open(id) != nullptr) id = rng_.next();
  const bool walk = cfg_.strategy == search_strategy::random_walk;
  if (ttl == 0) ttl = walk ? cfg_.walk_ttl : cfg_.ttl;
  ttl = std::min(ttl, walk ? cfg_.walk_ttl_max : cfg_.ttl_max);
  if (criteria_text.size() > cfg_.criteria_bytes_max) criteria_text.resize(cfg_.criteria_bytes_max);

  msg_query q;
  q.id = id;
  q.origin = self_;
  q.ttl = ttl;
  q.hops = 1;
  q.reply_direct = reply_direct || cfg_.reply_direct;
  q.criteria = std::move(criteria_text);
  if (cfg_.strategy == search_strategy::gossip) {
    q.mode = static_cast<std::uint8_t>(query_mode::gossip);
    q.gossip_percent = cfg_.gossip_percent;
  } else if (walk) {
    q.mode = static_cast<std::uint8_t>(query_mode::walk);
  }

  open_query open;
  open.started = now;
  micros close_at = now + cfg_.query_timeout;
  if (cfg_.strategy == search_strategy::expanding_ring && ttl > 1) {
    // Start with the nearest ring; on_timer widens it while the search is unsatisfied.
    open.ring_target = ttl;
    open.ring_ttl = 1;
    q.ttl = 1;
    host_.schedule(now + cfg_.ring_wait_per_hop, {timer_kind::ring_step, id});
    // Each ring gets its own wait on top of the query timeout of the widest one.
    close_at += cfg_.ring_wait_per_hop * (ttl * (ttl - 1) / 2);
  }
  open.query = q;

  seen_.insert(id, now, self_, q.ttl);
  own().open.emplace(id, std::move(open));
  host_.schedule(close_at, {timer_kind::query_timeout, id});
  ++stats_.queries_originated;

  if (q.ttl == 0) return id;
  if (walk) {
    // k walkers, each to a random neighbour (Lv et al.: 16 to 64 walkers).
    for (std::uint32_t k = 0; k < cfg_.walkers; ++k) forward_walk(q, nullptr);
  } else {
    forward(q, nullptr);
  }
  return id;
}

void searcher::send(const peer_addr& to, const message& m) {
  ++stats_.messages_sent;
  host_.send(to, m);
}

void searcher::send(const peer_addr& to, message&& m) {
  ++stats_.messages_sent;
  host_.send_owned(to, std::move(m));
}

void searcher::forward_gossip(const msg_query& q, const peer_addr& except) {
  for (const auto& p : members_.active()) {
    if (p == except) continue;
    if (rng_.below(100) < q.gossip_percent) {
      ++stats_.queries_forwarded;
      send(p, q);
    }
  }
}

void searcher::forward_walk(const msg_query& q, const peer_addr* except) {
  const auto active = members_.active();
  if (active.empty()) return;
  const std::size_t others = active.size() - ((except != nullptr && members_.is_active(*except)) ? 1 : 0);
  const peer_addr* target = nullptr;
  if (others == 0) {
    target = except;  // a dead end: the walker goes back
  } else {
    auto k = rng_.below(others);
    for (const auto& p : active) {
      if (except != nullptr && p == *except) continue;
      if (k-- == 0) {
        target = &p;
        break;
      }
    }
  }
  if (target == nullptr) return;
  ++stats_.queries_forwarded;
  send(*target, q);
}

void searcher::relay(const msg_query& next, const peer_addr& from) {
  switch (static_cast<query_mode>(next.mode)) {
    case query_mode::gossip:
      forward_gossip(next, from);
      break;
    case query_mode::walk:
      forward_walk(next, &from);
      break;
    case query_mode::flood:
      forward(next, &from);
      break;
  }
}

void searcher::forward(const msg_query& q, const peer_addr* except) {
  // The targets, on the stack: a per-node buffer would be one more cold line per query.
  small_vector<peer_addr, 8> targets;
  for (const auto& p : members_.active()) {
    if (except == nullptr || p != *except) targets.push_back(p);
  }
  std::size_t n = targets.size();
  if (n > cfg_.fanout) {
    // A uniform random subset of size fanout: partial Fisher-Yates.
    for (std::size_t i = 0; i < cfg_.fanout; ++i) {
      const auto j = i + static_cast<std::size_t>(rng_.below(n - i));
      std::swap(targets[i], targets[j]);
    }
    n = cfg_.fanout;
  }
  if (n == 0) return;
  const message copy{q};  // built once; the host copies it into each target's event
  for (std::size_t i = 0; i < n; ++i) {
    ++stats_.queries_forwarded;
    send(targets[i], copy);
  }
}

void searcher::answer(micros now, const msg_query& q, const peer_addr& upstream) {
  if (!library_.may_match(q.criteria)) return;
  auto files = library_.match(criteria::parse(q.criteria), cfg_.files_per_hit_max);
  if (files.empty()) return;
  msg_query_hit hit;
  hit.id = q.id;
  hit.holder = self_;
  hit.hops = q.hops;
  hit.files = std::move(files);
  ++stats_.hits_sent;
  // A direct reply opens a connection to an address the query named: within the budget
  // only; beyond it the hit takes the reverse path, which is always safe.
  const bool direct = q.reply_direct && (members_.is_active(q.origin) || stranger_sends_.take(now));
  send(direct ? q.origin : upstream, std::move(hit));
}

void searcher::on_query(micros now, const peer_addr& from, const msg_query& q, membership::link_state& link) {
  ++stats_.queries_received;
  if (q.ttl == 0 || q.hops == 0 || q.id == 0 || q.criteria.empty() ||
      q.criteria.size() > cfg_.criteria_bytes_max || q.origin.is_unspecified() ||
      q.mode > static_cast<std::uint8_t>(query_mode::walk) || q.gossip_percent > 100) {
    ++stats_.messages_invalid;
    return;
  }
  if (!admit(now, link)) {
    ++stats_.queries_rate_limited;
    return;
  }
  const bool walk = q.mode == static_cast<std::uint8_t>(query_mode::walk);
  const std::uint8_t cap = walk ? cfg_.walk_ttl_max : cfg_.ttl_max;
  std::uint8_t ttl = q.ttl;
  if (ttl > cap) {
    ttl = cap;
    ++stats_.queries_ttl_capped;
  }
  // The copy this node passes on (built only when it does: most duplicates stop here).
  auto next_copy = [&] {
    msg_query next = q;
    next.ttl = static_cast<std::uint8_t>(ttl - 1);
    next.hops = static_cast<std::uint8_t>(q.hops == 255 ? 255 : q.hops + 1);
    return next;
  };

  bool duplicate = false;
  dup_cache::entry& entry = seen_.find_or_insert(q.id, now, from, ttl, &link.upstream_memo, duplicate);
  dup_cache::entry* const seen = duplicate ? &entry : nullptr;  // an earlier copy's entry
  if (duplicate) {
    ++stats_.queries_duplicate;
    host_.on_query_seen(q, true);
  } else {
    host_.on_query_seen(q, false);
    answer(now, q, from);
  }
  if (walk) {
    // A walker goes on whether or not this node saw the query before; every few hops it
    // asks the origin whether the search is still unsatisfied, and waits here for the answer.
    if (ttl <= 1) return;
    if (cfg_.walk_check_hops > 0 && q.hops % cfg_.walk_check_hops == 0) {
      own_searches& own = this->own();
      if (own.parked_count >= cfg_.parked_walkers_max) return;  // no room: the walker ends here
      auto& parked = own.parked[q.id];
      const bool first = parked.empty();
      parked.emplace_back(from, next_copy());
      ++own.parked_count;
      if (first) {
        if (!members_.is_active(q.origin) && !stranger_sends_.take(now)) {
          // Over the budget for contacting named addresses: the walker ends here.
          parked.pop_back();
          --own.parked_count;
          own.parked.erase(q.id);
          ++stats_.stranger_sends_refused;
          return;
        }
        send(q.origin, msg_walk_check{q.id});
        host_.schedule(now + cfg_.walk_check_timeout, {timer_kind::walk_park_timeout, q.id});
      }
      return;
    }
    forward_walk(next_copy(), &from);
    return;
  }
  if (seen != nullptr) {
    if (ttl > seen->ttl_best) {
      // This copy can still travel farther than any earlier one did: forward it again so
      // the whole TTL ball is covered (this is also how an expanding ring widens). The
      // hit, if any, was already sent.
      seen->ttl_best = ttl;
      ++stats_.queries_reforwarded;
      if (ttl > 1) relay(next_copy(), from);
    }
    return;
  }
  if (ttl > 1) relay(next_copy(), from);
}

void searcher::on_walk_check(micros now, const peer_addr& from, const msg_walk_check& m) {
  static_cast<void>(now);
  const open_query* open = find_open(m.id);
  const bool go_on = open != nullptr && open->hits < cfg_.hits_wanted;
  send(from, msg_walk_status{m.id, go_on});
}

void searcher::on_walk_status(micros now, const msg_walk_status& m) {
  static_cast<void>(now);
  if (own_ == nullptr) return;
  auto it = own_->parked.find(m.id);
  if (it == own_->parked.end()) return;
  auto walkers = std::move(it->second);
  own_->parked.erase(it);
  own_->parked_count -= walkers.size();
  if (!m.go_on) return;
  for (const auto& [from, q] : walkers) forward_walk(q, &from);
}

searcher::own_searches& searcher::own() {
  if (own_ == nullptr) own_ = std::make_unique<own_searches>();
  return *own_;
}

searcher::open_query* searcher::find_open(query_id id) {
  if (own_ == nullptr) return nullptr;
  auto it = own_->open.find(id);
  return it == own_->open.end() ? nullptr : &it->second;
}

bool searcher::admit(micros now, membership::link_state& link) {
  return link.queries.take(now, cfg_.queries_per_neighbor_per_s, cfg_.queries_per_neighbor_burst);
}

void searcher::on_hit(micros now, const peer_addr& from, const msg_query_hit& h) {
  static_cast<void>(from);
  if (h.files.empty() || h.holder.is_unspecified()) {
    ++stats_.messages_invalid;
    return;
  }
  if (open_query* open = find_open(h.id)) {
    if (open->hits >= cfg_.hits_per_query_max) {
      ++stats_.hits_dropped;
      return;
    }
    ++open->hits;
    ++stats_.hits_received;
    host_.on_search_hit(h.id, h, now - open->started);
    return;
  }
  dup_cache::entry* seen = seen_.find(h.id, now);
  const peer_addr* upstream = seen == nullptr ? nullptr : seen_.upstream_of(*seen);
  if (upstream == nullptr || *upstream == self_ || seen->hits_relayed >= cfg_.hits_per_query_max) {
    // Unknown or expired query (or one whose upstream the cache could not keep), a closed
    // query of our own, or one that had its share.
    ++stats_.hits_dropped;
    return;
  }
  ++seen->hits_relayed;
  ++stats_.hits_relayed;
  ++stats_.messages_sent;
  host_.send(*upstream, h);
}

void searcher::warm_for(const message& m) const {
  if (const auto* q = std::get_if<msg_query>(&m)) {
    seen_.warm(q->id, true);  // the link to the sender has a memo (unless a sweep renumbered)
  } else if (const auto* h = std::get_if<msg_query_hit>(&m)) {
    seen_.warm(h->id, false);  // a hit goes back to the address its id names
  }
}

bool searcher::on_message(micros now, const peer_addr& from, const message& m) {
  if (auto* h = std::get_if<msg_query_hit>(&m)) {
    on_hit(now, from, *h);
    return true;
  }
  if (auto* c = std::get_if<msg_walk_check>(&m)) {
    on_walk_check(now, from, *c);
    return true;
  }
  if (auto* st = std::get_if<msg_walk_status>(&m)) {
    on_walk_status(now, *st);
    return true;
  }
  return false;
}

bool searcher::on_timer(micros now, timer_id id) {
  if (id.kind == timer_kind::ring_step) {
    open_query* open = find_open(id.arg);
    if (open == nullptr) return true;
    open_query& o = *open;
    if (o.hits >= cfg_.hits_wanted || o.ring_ttl >= o.ring_target) return true;
    // Widen the ring: the same query id with one more hop. Peers reached before forward it
    // again (it carries more TTL than they saw) but do not answer again.
    ++o.ring_ttl;
    o.query.ttl = o.ring_ttl;
    if (dup_cache::entry* own = seen_.find(id.arg, now)) own->ttl_best = o.ring_ttl;
    forward(o.query, nullptr);
    host_.schedule(now + cfg_.ring_wait_per_hop * o.ring_ttl, {timer_kind::ring_step, id.arg});
    return true;
  }
  if (id.kind == timer_kind::walk_park_timeout) {
    // The origin did not answer: its walkers stop here.
    if (own_ == nullptr) return true;
    if (auto it = own_->parked.find(id.arg); it != own_->parked.end()) {
      own_->parked_count -= it->second.size();
      own_->parked.erase(it);
    }
    return true;
  }
  if (id.kind != timer_kind::query_timeout) return false;
  if (own_ == nullptr) return true;
  if (auto it = own_->open.find(id.arg); it != own_->open.end()) {
    const auto hits = it->second.hits;
    own_->open.erase(it);
    host_.on_search_done(id.arg, hits);
  }
  return true;
}

}  // namespace hearsay

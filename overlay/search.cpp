// Searches: their origin, relays, duplicate suppression and reverse-path hits (see search.hpp);
// how copies spread is the strategy's (strategy.hpp).

#include "overlay/search.hpp"

#include <algorithm>
#include <cstring>

#include "overlay/strategy.hpp"

namespace hearsay {

// ---- searcher ------------------------------------------------------------------------

searcher::searcher(const search_config& cfg, host& h, node_stats& stats, const library& files,
                   membership& members)
    : cfg_(cfg),
      host_(h),
      stats_(stats),
      library_(files),
      members_(members),
      seen_(cfg.dup_cache_capacity, cfg.dup_cache_lifetime),
      stranger_sends_(cfg.stranger_sends_per_s, cfg.stranger_sends_burst) {
  HEARSAY_ASSERT(cfg.hits_per_query_max <= 255);  // a relay counts them in a byte (dup_cache)
}

query_id searcher::start(micros now, std::string criteria_text, std::uint8_t ttl, bool reply_direct) {
  query_id id = 0;
  while (id == 0 || seen_.find(id, now) != nullptr || find_open(id) != nullptr) id = random().next();
  const search_strategy& strategy = strategy_of(cfg_);
  if (ttl == 0) ttl = cfg_.*strategy.ttl;
  ttl = std::min(ttl, cfg_.*strategy.ttl_max);
  if (criteria_text.size() > cfg_.criteria_bytes_max) criteria_text.resize(cfg_.criteria_bytes_max);

  open_search open;
  open.started = now;
  open.strategy = cfg_.strategy;
  msg_query& q = open.query;
  q.id = id;
  q.origin = self();
  q.ttl = ttl;
  q.hops = 1;
  q.reply_direct = reply_direct || cfg_.reply_direct;
  q.criteria = std::move(criteria_text);
  q.mode = static_cast<std::uint8_t>(strategy.mode);

  open_search& search = own().open.emplace(id, std::move(open)).first->second;
  ++stats_.queries_originated;
  // The strategy may lower the first copies' TTL (an expanding ring starts with the nearest
  // ring) and arm its step timer; the search is closed query_timeout after its last stage.
  strategy.start(*this, now, search);
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

void searcher::launch(micros now, const open_search& search, micros extra_wait) {
  seen_.insert(search.query.id, now, self(), search.query.ttl);
  host_.schedule(now + cfg_.query_timeout + extra_wait, {timer_kind::query_timeout, search.query.id});
}

void searcher::widen_own(micros now, query_id id, std::uint8_t ttl) {
  if (dup_cache::entry* own = seen_.find(id, now)) own->ttl_best = ttl;
}

void searcher::answer(micros now, const msg_query& q, const peer_addr& upstream) {
  if (!library_.may_match(q.criteria)) return;
  auto files = library_.match(criteria::parse(q.criteria), cfg_.files_per_hit_max);
  if (files.empty()) return;
  msg_query_hit hit;
  hit.id = q.id;
  hit.holder = self();
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
  const search_strategy* mode = strategy_for_mode(q.mode);
  if (q.ttl == 0 || q.hops == 0 || q.id == 0 || q.criteria.empty() ||
      q.criteria.size() > cfg_.criteria_bytes_max || q.origin.is_unspecified() || mode == nullptr ||
      mode->invalid(q) != nullptr) {
    ++stats_.messages_invalid;
    return;
  }
  if (!admit(now, link)) {
    ++stats_.queries_rate_limited;
    return;
  }
  const std::uint8_t cap = cfg_.*mode->ttl_max;
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
  if (mode->walker) {
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
    mode->pass_on(*this, next_copy(), &from);
    return;
  }
  if (seen != nullptr) {
    if (ttl > seen->ttl_best) {
      // This copy can still travel farther than any earlier one did: forward it again so
      // the whole TTL ball is covered (this is also how an expanding ring widens). The
      // hit, if any, was already sent.
      seen->ttl_best = ttl;
      ++stats_.queries_reforwarded;
      if (ttl > 1) mode->pass_on(*this, next_copy(), &from);
    }
    return;
  }
  if (ttl > 1) mode->pass_on(*this, next_copy(), &from);
}

void searcher::on_walk_check(micros now, const peer_addr& from, const msg_walk_check& m) {
  static_cast<void>(now);
  const open_search* open = find_open(m.id);
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
  for (const auto& [from, q] : walkers) {
    if (const search_strategy* mode = strategy_for_mode(q.mode)) mode->pass_on(*this, q, &from);
  }
}

searcher::own_searches& searcher::own() {
  if (own_ == nullptr) own_ = std::make_unique<own_searches>();
  return *own_;
}

open_search* searcher::find_open(query_id id) {
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
  if (open_search* open = find_open(h.id)) {
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
  const std::optional<peer_addr> upstream = seen == nullptr ? std::nullopt : seen_.upstream_of(*seen);
  if (!upstream || *upstream == self() || seen->hits_relayed >= cfg_.hits_per_query_max) {
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
  if (id.kind == timer_kind::search_step) {
    if (open_search* open = find_open(id.arg)) {
      const search_strategy& strategy = *search_strategies()[open->strategy];
      if (strategy.step != nullptr) strategy.step(*this, now, *open);
    }
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

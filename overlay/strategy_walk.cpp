// Random walks (Lv, Cao, Cohen, Li and Shenker, ICS 2002): the origin sends `walkers` copies,
// each to a random neighbour; every relay passes a walker on to one random neighbour (not back
// where it came from unless it must), seen or not, for up to walk_ttl hops. Every
// walk_check_hops hops a walker waits while its relay asks the origin whether the search still
// wants hits (the searcher's check-back: msg_walk_check / msg_walk_status).

#include "overlay/search.hpp"
#include "overlay/strategy.hpp"

namespace hearsay {
namespace {

void pass_on(searcher& s, const msg_query& q, const peer_addr* except) {
  const auto active = s.neighbours();
  if (active.empty()) return;
  const std::size_t others = active.size() - ((except != nullptr && s.is_neighbour(*except)) ? 1 : 0);
  const peer_addr* target = nullptr;
  if (others == 0) {
    target = except;  // a dead end: the walker goes back
  } else {
    auto k = s.random().below(others);
    for (const auto& p : active) {
      if (except != nullptr && p == *except) continue;
      if (k-- == 0) {
        target = &p;
        break;
      }
    }
  }
  if (target != nullptr) s.pass_to(*target, q);
}

void start(searcher& s, micros now, open_search& search) {
  s.launch(now, search);
  // k walkers, each to a random neighbour (Lv et al.: 16 to 64 walkers).
  for (std::uint32_t k = 0; k < s.config().walkers; ++k) pass_on(s, search.query, nullptr);
}

void describe(const search_config& c, std::string& out) {
  strategy_parts::append(out, "%u random walkers, up to %u hops, check every %u", c.walkers, c.walk_ttl,
                         c.walk_check_hops);
}

}  // namespace

const search_strategy random_walk_strategy = {
    .name = "random_walk",
    .summary = "walkers random walkers of up to walk_ttl hops that check back with the origin every walk_check_hops hops",
    .mode = query_mode::walk,
    .ttl = &search_config::walk_ttl,
    .ttl_max = &search_config::walk_ttl_max,
    .walker = true,
    .start = start,
    .pass_on = pass_on,
    .step = nullptr,
    .invalid = strategy_parts::nothing_invalid,
    .describe = describe,
};

}  // namespace hearsay

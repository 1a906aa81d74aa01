// Gossip, GOSSIP1(p) of Haas, Halpern and Li (INFOCOM 2002): the origin sends to `fanout`
// neighbours; each relay passes a copy to each of its neighbours (the sender excluded) with
// probability gossip_percent, which the query carries so that relays need no configuration.

#include "overlay/search.hpp"
#include "overlay/strategy.hpp"

namespace hearsay {
namespace {

void start(searcher& s, micros now, open_search& search) {
  search.query.gossip_percent = s.config().gossip_percent;
  s.launch(now, search);
  strategy_parts::to_fanout(s, search.query, nullptr);
}

void pass_on(searcher& s, const msg_query& q, const peer_addr* except) {
  for (const auto& p : s.neighbours()) {
    if (except != nullptr && p == *except) continue;
    if (s.random().below(100) < q.gossip_percent) s.pass_to(p, q);
  }
}

const char* invalid(const msg_query& q) { return q.gossip_percent > 100 ? "query.gossip_percent" : nullptr; }

void describe(const search_config& c, std::string& out) {
  strategy_parts::append(out, "gossip, fan-out %u at the origin, %u%% per neighbour, TTL %u", c.fanout,
                         c.gossip_percent, c.ttl);
}

}  // namespace

const search_strategy gossip_strategy = {
    .name = "gossip",
    .summary = "the origin sends to fanout neighbours; relays pass a copy to each neighbour with probability gossip_percent",
    .mode = query_mode::gossip,
    .ttl = &search_config::ttl,
    .ttl_max = &search_config::ttl_max,
    .walker = false,
    .start = start,
    .pass_on = pass_on,
    .step = nullptr,
    .invalid = invalid,
    .describe = describe,
};

}  // namespace hearsay

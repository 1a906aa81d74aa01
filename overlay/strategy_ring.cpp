// Expanding ring (Lv, Cao, Cohen, Li and Shenker, ICS 2002): floods of TTL 1, 2, 3 ... up to
// the search's TTL, one more hop each ring_wait_per_hop x (current TTL), until hits_wanted hits
// have arrived. Every ring reuses the query id: peers reached by an earlier ring pass the wider
// one on (it carries more TTL than they saw) but do not answer again.

#include "overlay/search.hpp"
#include "overlay/strategy.hpp"

namespace hearsay {
namespace {

void start(searcher& s, micros now, open_search& search) {
  msg_query& q = search.query;
  const search_config& c = s.config();
  micros extra_wait{0};
  if (q.ttl > 1) {
    // Start with the nearest ring; step() widens it while the search is unsatisfied.
    search.stage_last = q.ttl;
    search.stage = 1;
    s.schedule_step(now + c.ring_wait_per_hop, q.id);
    // Each ring gets its own wait on top of the query timeout of the widest one.
    extra_wait = c.ring_wait_per_hop * (q.ttl * (q.ttl - 1) / 2);
    q.ttl = 1;
  }
  s.launch(now, search, extra_wait);
  strategy_parts::to_fanout(s, q, nullptr);
}

void step(searcher& s, micros now, open_search& search) {
  const search_config& c = s.config();
  if (search.hits >= c.hits_wanted || search.stage >= search.stage_last) return;
  ++search.stage;
  search.query.ttl = search.stage;
  s.widen_own(now, search.query.id, search.stage);
  strategy_parts::to_fanout(s, search.query, nullptr);
  s.schedule_step(now + c.ring_wait_per_hop * search.stage, search.query.id);
}

void describe(const search_config& c, std::string& out) {
  strategy_parts::append(out, "expanding ring, TTL 1..%u, fan-out %u, %.0f ms per hop", c.ttl, c.fanout,
                         static_cast<double>(c.ring_wait_per_hop.count()) / 1000.0);
}

}  // namespace

const search_strategy expanding_ring_strategy = {
    .name = "expanding_ring",
    .summary = "floods of TTL 1, 2, 3 ... up to ttl, until hits_wanted hits arrived",
    .mode = query_mode::flood,
    .ttl = &search_config::ttl,
    .ttl_max = &search_config::ttl_max,
    .walker = false,
    .start = start,
    .pass_on = strategy_parts::to_fanout,
    .step = step,
    .invalid = strategy_parts::nothing_invalid,
    .describe = describe,
};

}  // namespace hearsay

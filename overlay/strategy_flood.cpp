// Flooding (Gnutella 0.4; Lv, Cao, Cohen, Li and Shenker, ICS 2002): the origin and every
// relay send the query on to `fanout` random neighbours, the sender excluded, while it has
// TTL. fanout >= view_size_active - 1 floods to all neighbours.

#include "overlay/search.hpp"
#include "overlay/strategy.hpp"

namespace hearsay {
namespace {

void describe(const search_config& c, std::string& out) {
  strategy_parts::append(out, "flood, fan-out %u, TTL %u (max %u)", c.fanout, c.ttl, c.ttl_max);
}

}  // namespace

const search_strategy flood_strategy = {
    .name = "flood",
    .summary = "TTL-limited flooding to fanout neighbours per hop",
    .mode = query_mode::flood,
    .ttl = &search_config::ttl,
    .ttl_max = &search_config::ttl_max,
    .walker = false,
    .start = strategy_parts::start_plain,
    .pass_on = strategy_parts::to_fanout,
    .step = nullptr,
    .invalid = strategy_parts::nothing_invalid,
    .describe = describe,
};

}  // namespace hearsay

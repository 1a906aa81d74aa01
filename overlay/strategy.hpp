#pragma once
// Search strategies: how a search leaves its origin and how relays pass its copies on.
//
// Every strategy is a file of its own (strategy_flood.cpp, strategy_gossip.cpp,
// strategy_ring.cpp, strategy_walk.cpp) that defines its row, and one line of the table in
// strategy.cpp. The row says everything the rest of the code needs to know:
//
//   name      the value of the `strategy` key ([overlay] in a scenario or a node's config);
//   mode      what its copies carry on the wire (query_mode). Relays act on the mode alone, so
//             a relay needs no configuration to pass on a search of any strategy, and several
//             strategies may share one mode (an expanding ring travels as floods);
//   ttl       the search_config fields that give a new search its TTL and cap what relays
//             accept in this mode;
//   walker    relay policy. false: a copy goes on while it has TTL, and a duplicate only when
//             it carries more TTL than any earlier copy (so the whole TTL ball is covered).
//             true: every copy goes on, seen or not, and checks back with its origin every
//             walk_check_hops hops (random walks, Lv et al. ICS 2002);
//   start     the origin: sets the mode's fields of the query and sends the first copies;
//   pass_on   how a copy leaves a node: to whom it is sent;
//   step      what the strategy's timer does (timer_kind::search_step), or nullptr;
//   invalid   checks of the mode's own fields, by the codec and by relays;
//   describe  its line in the simulator's report.
//
// Adding a strategy: a file with its row and functions, and its line in the table. Parameters of
// its own, if it has any, are fields of search_config with their keys in config_keys.cpp.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "overlay/config.hpp"
#include "overlay/messages.hpp"
#include "overlay/types.hpp"

namespace hearsay {

class searcher;
struct open_search;
struct search_strategy;

// The rows, each defined in its strategy's file.
extern const search_strategy flood_strategy;
extern const search_strategy gossip_strategy;
extern const search_strategy expanding_ring_strategy;
extern const search_strategy random_walk_strategy;

struct search_strategy {
  std::string_view name;
  std::string_view summary;  // one line, for documentation
  query_mode mode;
  std::uint8_t search_config::*ttl;
  std::uint8_t search_config::*ttl_max;
  bool walker;
  void (*start)(searcher& s, micros now, open_search& search);
  void (*pass_on)(searcher& s, const msg_query& q, const peer_addr* except);
  void (*step)(searcher& s, micros now, open_search& search);
  // The name of the first field out of range ("query.gossip_percent"), or nullptr.
  const char* (*invalid)(const msg_query& q);
  void (*describe)(const search_config& c, std::string& out);
};

// The table, in the order of search_config::strategy values.
std::span<const search_strategy* const> search_strategies();
// The row of a configuration's strategy.
const search_strategy& strategy_of(const search_config& c);
// The row named `name`, or nullptr. Its index for search_config::strategy: strategy_index.
const search_strategy* find_strategy(std::string_view name);
std::uint8_t strategy_index(std::string_view name);  // asserts that the name exists
// The row whose copies relays handle for a wire mode (the first row with that mode), or
// nullptr for a mode this build does not know.
const search_strategy* strategy_for_mode(std::uint8_t mode);
// "flood, gossip, expanding_ring or random_walk": for documentation and errors.
std::string strategy_names(std::string_view separator = ", ", std::string_view last_separator = " or ");

// The functions rows share.
namespace strategy_parts {
// The origin sends its query as the strategy passes copies on.
void start_plain(searcher& s, micros now, open_search& search);
// To up to fanout random neighbours other than `except`.
void to_fanout(searcher& s, const msg_query& q, const peer_addr* except);
const char* nothing_invalid(const msg_query& q);
// printf-style text appended to out (for describe).
void append(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));
}  // namespace strategy_parts

}  // namespace hearsay

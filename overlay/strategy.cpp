// The table of search strategies (see strategy.hpp): one row each.

#include "overlay/strategy.hpp"

#include <array>
#include <cstdarg>
#include <cstdio>

#include "overlay/assert.hpp"
#include "overlay/search.hpp"
#include "overlay/small_vector.hpp"

namespace hearsay {

namespace {

// The order is that of search_config::strategy values: 0 is the default (flood). Addresses
// only, so the table is ready before any code runs.
constexpr std::array<const search_strategy*, 4> table = {
    &flood_strategy,
    &gossip_strategy,
    &expanding_ring_strategy,
    &random_walk_strategy,
};

}  // namespace

std::span<const search_strategy* const> search_strategies() { return table; }

const search_strategy& strategy_of(const search_config& c) {
  HEARSAY_ASSERT(c.strategy < table.size());
  return *table[c.strategy];
}

const search_strategy* find_strategy(std::string_view name) {
  for (const search_strategy* row : table) {
    if (row->name == name) return row;
  }
  return nullptr;
}

std::uint8_t strategy_index(std::string_view name) {
  std::size_t i = 0;
  while (i < table.size() && table[i]->name != name) ++i;
  HEARSAY_ASSERT(i < table.size());  // a name the table has
  return static_cast<std::uint8_t>(i);
}

const search_strategy* strategy_for_mode(std::uint8_t mode) {
  for (const search_strategy* row : table) {
    if (static_cast<std::uint8_t>(row->mode) == mode) return row;
  }
  return nullptr;
}

std::string strategy_names(std::string_view separator, std::string_view last_separator) {
  std::string out;
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (i > 0) out += i + 1 == table.size() ? last_separator : separator;
    out += table[i]->name;
  }
  return out;
}

namespace strategy_parts {

void start_plain(searcher& s, micros now, open_search& search) {
  s.launch(now, search);
  search_strategies()[search.strategy]->pass_on(s, search.query, nullptr);
}

void to_fanout(searcher& s, const msg_query& q, const peer_addr* except) {
  // The targets, on the stack: a per-node buffer would be one more cold line per query.
  small_vector<peer_addr, 8> targets;
  for (const auto& p : s.neighbours()) {
    if (except == nullptr || p != *except) targets.push_back(p);
  }
  std::size_t n = targets.size();
  const std::uint32_t fanout = s.config().fanout;
  if (n > fanout) {
    // A uniform random subset of size fanout: partial Fisher-Yates.
    for (std::size_t i = 0; i < fanout; ++i) {
      const auto j = i + static_cast<std::size_t>(s.random().below(n - i));
      std::swap(targets[i], targets[j]);
    }
    n = fanout;
  }
  if (n == 0) return;
  const message copy{q};  // built once; the host copies it into each target's event
  for (std::size_t i = 0; i < n; ++i) s.pass_to(targets[i], copy);
}

const char* nothing_invalid(const msg_query&) { return nullptr; }

void append(std::string& out, const char* format, ...) {
  char line[256];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n > 0) out.append(line, std::min(static_cast<std::size_t>(n), sizeof line - 1));
}

}  // namespace strategy_parts

}  // namespace hearsay

// The overlay's parameter table (see config_keys.hpp).

#include "overlay/config_keys.hpp"

#include <algorithm>
#include <charconv>

#include "overlay/strategy.hpp"

namespace hearsay {

result<std::uint64_t> parse_integer(std::string_view text, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return failure("'" + std::string(text) + "' is not a whole number");
  }
  if (v < lo || v > hi) return failure("must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

result<bool> parse_boolean(std::string_view text) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  return failure("'" + std::string(text) + "' is not true or false");
}

namespace {

template <typename T>
config_key integer(std::string name, std::string description, std::uint64_t lo, std::uint64_t hi,
                   T& (*field)(node_config&)) {
  return {std::move(name), "integer", std::move(description),
          [lo, hi, field](node_config& c, std::string_view text) -> result<> {
            auto v = parse_integer(text, lo, hi);
            if (!v) return v.error();
            field(c) = static_cast<T>(*v);
            return {};
          }};
}

config_key duration_ms(std::string name, std::string description, std::uint64_t lo, std::uint64_t hi,
                       micros& (*field)(node_config&)) {
  return {std::move(name), "integer", std::move(description),
          [lo, hi, field](node_config& c, std::string_view text) -> result<> {
            auto v = parse_integer(text, lo, hi);
            if (!v) return v.error();
            field(c) = micros{static_cast<std::int64_t>(*v * 1000)};
            return {};
          }};
}

std::vector<config_key> make_keys() {
  using u8 = std::uint8_t;
  using u32 = std::uint32_t;
  std::vector<config_key> k;
  k.push_back(integer<u32>("view_size_active", "HyParView active view size (overlay links)", 1, 64,
                           [](node_config& c) -> u32& { return c.membership.view_size_active; }));
  k.push_back(integer<u32>("view_size_passive", "HyParView passive view size (known peers in reserve)", 0, 1024,
                           [](node_config& c) -> u32& { return c.membership.view_size_passive; }));
  k.push_back(integer<u8>("walk_length_active", "join random walk length (ARWL)", 0, 32,
                          [](node_config& c) -> u8& { return c.membership.walk_length_active; }));
  k.push_back(integer<u8>("walk_length_passive", "hop at which joiners enter passive views (PRWL)", 0, 32,
                          [](node_config& c) -> u8& { return c.membership.walk_length_passive; }));
  k.push_back(duration_ms("shuffle_period_ms", "time between a peer's shuffles", 1, 3'600'000,
                          [](node_config& c) -> micros& { return c.membership.shuffle_period; }));
  k.push_back(integer<u32>("shuffle_active", "active ids sent in a shuffle", 0, 64,
                           [](node_config& c) -> u32& { return c.membership.shuffle_active; }));
  k.push_back(integer<u32>("shuffle_passive", "passive ids sent in a shuffle", 0, 256,
                           [](node_config& c) -> u32& { return c.membership.shuffle_passive; }));
  k.push_back(integer<u8>("walk_length_shuffle", "shuffle random walk length", 1, 32,
                          [](node_config& c) -> u8& { return c.membership.walk_length_shuffle; }));
  k.push_back(duration_ms("repair_period_ms", "time between active-view top-ups", 1, 3'600'000,
                          [](node_config& c) -> micros& { return c.membership.repair_period; }));
  k.push_back(integer<u32>("repair_requests_per_round", "NEIGHBOR requests per repair round while not isolated", 1,
                           1024, [](node_config& c) -> u32& { return c.membership.repair_requests_per_round; }));
  k.push_back(integer<u32>("high_priority_below", "NEIGHBOR requests are high priority below this view size", 1, 64,
                           [](node_config& c) -> u32& { return c.membership.high_priority_below; }));
  k.push_back(integer<u32>("passive_per_group_max", "passive-view entries from one network group (/24, /48; private ranges exempt; 0: no limit)", 0, 1024,
                           [](node_config& c) -> u32& { return c.membership.passive_per_group_max; }));
  k.push_back(integer<u32>("active_outbound_min", "active-view entries this node chose itself that incoming peers may not evict (at most view_size_active - 1; 0: off)", 0, 64,
                           [](node_config& c) -> u32& { return c.membership.active_outbound_min; }));
  k.push_back(integer<u32>("active_per_group_max", "active-view entries from one network group (/24, /48; private ranges exempt; 0: no limit)", 0, 64,
                           [](node_config& c) -> u32& { return c.membership.active_per_group_max; }));
  k.push_back(integer<u32>("active_protected", "oldest inbound active-view entries newcomers may not evict (at most view_size_active - 1 - active_outbound_min; 0: off)", 0, 64,
                           [](node_config& c) -> u32& { return c.membership.active_protected; }));
  k.push_back(duration_ms("active_admit_interval_ms", "newcomers that evict an active-view entry: at most one per this interval (0: no limit)", 0, 3'600'000,
                          [](node_config& c) -> micros& { return c.membership.active_admit_interval; }));
  k.push_back(duration_ms("mix_period_ms", "time between a peer's swaps of one of its links with a passive peer's, keeping every view's size (0: off)", 0, 3'600'000,
                          [](node_config& c) -> micros& { return c.membership.mix_period; }));
  k.push_back(duration_ms("request_timeout_ms", "JOIN / NEIGHBOR answer timeout", 1, 600'000,
                          [](node_config& c) -> micros& { return c.membership.request_timeout; }));
  k.push_back({"strategy", "string", "how searches travel: " + strategy_names(" | ", " | "),
               [](node_config& c, std::string_view text) -> result<> {
                 if (find_strategy(text) == nullptr) {
                   return failure("expected " + strategy_names() + ", got '" + std::string(text) + "'");
                 }
                 c.search.strategy = strategy_index(text);
                 return {};
               }});
  k.push_back(integer<u8>("gossip_percent", "gossip: chance (%) that a relay passes a copy to each neighbour", 0, 100,
                          [](node_config& c) -> u8& { return c.search.gossip_percent; }));
  k.push_back(integer<u32>("walkers", "random walk: walkers per search", 1, 1024,
                           [](node_config& c) -> u32& { return c.search.walkers; }));
  k.push_back(integer<u8>("walk_ttl", "random walk: hops a walker may take", 1, 255,
                          [](node_config& c) -> u8& { return c.search.walk_ttl; }));
  k.push_back(integer<u8>("walk_ttl_max", "random walk: cap applied to walkers received", 1, 255,
                          [](node_config& c) -> u8& { return c.search.walk_ttl_max; }));
  k.push_back(integer<u8>("walk_check_hops", "random walk: hops between check-backs with the origin (0: never)", 0,
                          255, [](node_config& c) -> u8& { return c.search.walk_check_hops; }));
  k.push_back(duration_ms("ring_wait_per_hop_ms", "expanding ring: wait per hop of a ring before widening it", 1,
                          600'000, [](node_config& c) -> micros& { return c.search.ring_wait_per_hop; }));
  k.push_back(integer<u32>("fanout", "neighbours a query is sent to at each hop", 1, 64,
                           [](node_config& c) -> u32& { return c.search.fanout; }));
  k.push_back(integer<u8>("ttl", "TTL of new queries", 1, 64, [](node_config& c) -> u8& { return c.search.ttl; }));
  k.push_back(integer<u8>("ttl_max", "TTL cap applied to every query", 1, 64,
                          [](node_config& c) -> u8& { return c.search.ttl_max; }));
  k.push_back({"reply_direct", "boolean", "hits go straight to the origin, not along the reverse path",
               [](node_config& c, std::string_view text) -> result<> {
                 auto v = parse_boolean(text);
                 if (!v) return v.error();
                 c.search.reply_direct = *v;
                 return {};
               }});
  k.push_back(duration_ms("query_timeout_ms", "how long an origin keeps a query open", 1, 3'600'000,
                          [](node_config& c) -> micros& { return c.search.query_timeout; }));
  k.push_back(integer<u32>("dup_cache_capacity", "query ids remembered for duplicate suppression", 1, 10'000'000,
                           [](node_config& c) -> u32& { return c.search.dup_cache_capacity; }));
  k.push_back(duration_ms("dup_cache_lifetime_ms", "how long a query id is remembered", 1, 86'400'000,
                          [](node_config& c) -> micros& { return c.search.dup_cache_lifetime; }));
  k.push_back(integer<u32>("hits_per_query_max", "hits an origin accepts and a relay forwards per query", 1,
                           255, [](node_config& c) -> u32& { return c.search.hits_per_query_max; }));
  k.push_back(integer<u32>("files_per_hit_max", "files listed in one hit", 1, 1024,
                           [](node_config& c) -> u32& { return c.search.files_per_hit_max; }));
  k.push_back(integer<u32>("criteria_bytes_max", "longest query criteria accepted", 1, 4096,
                           [](node_config& c) -> u32& { return c.search.criteria_bytes_max; }));
  k.push_back(integer<u32>("queries_per_neighbor_per_s", "query copies accepted per neighbour per second (0: no limit)",
                           0, 1'000'000, [](node_config& c) -> u32& { return c.search.queries_per_neighbor_per_s; }));
  k.push_back(integer<u32>("stranger_sends_per_s", "direct hits and check-backs to named addresses per second (0: no limit)",
                           0, 1'000'000, [](node_config& c) -> u32& { return c.search.stranger_sends_per_s; }));
  k.push_back(integer<u32>("stranger_sends_burst", "burst allowance of that limit", 1, 1'000'000,
                           [](node_config& c) -> u32& { return c.search.stranger_sends_burst; }));
  k.push_back(integer<u32>("stranger_replies_per_s", "shuffle and join replies to named addresses per second (0: no limit)",
                           0, 1'000'000, [](node_config& c) -> u32& { return c.membership.stranger_replies_per_s; }));
  k.push_back(integer<u32>("stranger_replies_burst", "burst allowance of that limit", 1, 1'000'000,
                           [](node_config& c) -> u32& { return c.membership.stranger_replies_burst; }));
  k.push_back(integer<u32>("queries_per_neighbor_burst", "burst allowance of the per-neighbour query limit", 1,
                           1'000'000, [](node_config& c) -> u32& { return c.search.queries_per_neighbor_burst; }));
  return k;
}

std::vector<config_key> make_fetch_keys() {
  using u32 = std::uint32_t;
  using u64 = std::uint64_t;
  std::vector<config_key> k;
  k.push_back(integer<u64>("file_bytes_max", "largest file fetched (bytes); checked before the first byte",
                           0, std::uint64_t{1} << 56, [](node_config& c) -> u64& { return c.fetch.file_bytes_max; }));
  k.push_back(integer<u32>("piece_bytes", "bytes per request to a holder", 4096, 64u << 20,
                           [](node_config& c) -> u32& { return c.fetch.piece_bytes; }));
  k.push_back(integer<u32>("holders_at_once", "holders a download takes bytes from at once", 1, 64,
                           [](node_config& c) -> u32& { return c.fetch.holders_at_once; }));
  k.push_back(integer<u32>("pieces_per_holder", "requests in flight per holder", 1, 64,
                           [](node_config& c) -> u32& { return c.fetch.pieces_per_holder; }));
  k.push_back(integer<u32>("rate_min_bytes_per_s", "a busy holder slower than this over the window is dropped", 0,
                           1u << 30, [](node_config& c) -> u32& { return c.fetch.rate_min_bytes_per_s; }));
  k.push_back(duration_ms("rate_window_ms", "the window of that rate", 1'000, 60'000,
                          [](node_config& c) -> micros& { return c.fetch.rate_window; }));
  k.push_back(integer<u32>("holder_failures_max", "failures after which a holder is given up for a download", 1, 100,
                           [](node_config& c) -> u32& { return c.fetch.holder_failures_max; }));
  k.push_back(duration_ms("retry_delay_ms", "first pause before a failed holder is asked again (doubles)", 0,
                          600'000, [](node_config& c) -> micros& { return c.fetch.retry_delay; }));
  k.push_back(integer<u32>("jobs_max", "downloads at once", 1, 4096, [](node_config& c) -> u32& { return c.fetch.jobs_max; }));
  k.push_back(integer<u32>("holders_max", "holders remembered per download", 1, 255,
                           [](node_config& c) -> u32& { return c.fetch.holders_max; }));
  return k;
}

}  // namespace

const std::vector<config_key>& fetch_config_keys() {
  static const std::vector<config_key> keys = make_fetch_keys();
  return keys;
}

const std::vector<config_key>& overlay_config_keys() {
  static const std::vector<config_key> keys = make_keys();
  return keys;
}

const config_key* find_overlay_key(std::string_view name) {
  const auto& keys = overlay_config_keys();
  auto it = std::find_if(keys.begin(), keys.end(), [&](const config_key& k) { return k.name == name; });
  return it == keys.end() ? nullptr : &*it;
}

result<> validate(const node_config& cfg) {
  if (cfg.search.walk_ttl > cfg.search.walk_ttl_max) return failure("overlay.walk_ttl must not exceed overlay.walk_ttl_max");
  if (cfg.search.ttl > cfg.search.ttl_max) return failure("overlay.ttl must not exceed overlay.ttl_max");
  if (cfg.membership.walk_length_passive > cfg.membership.walk_length_active) {
    return failure("overlay.walk_length_passive must not exceed overlay.walk_length_active");
  }
  return {};
}

std::string syntax_error_text(std::string_view text, const std::string& source, std::uint32_t line,
                              std::uint32_t column, std::string_view what) {
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": " + std::string(what);
  if (line == 0) return out;
  std::size_t start = 0;
  for (std::uint32_t n = 1; n < line && start != std::string_view::npos; ++n) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || start > text.size()) return out;
  std::string_view shown = text.substr(start, text.find('\n', start) - start);
  if (!shown.empty() && shown.back() == '\r') shown.remove_suffix(1);
  std::string caret;
  std::uint32_t at = 1;
  for (std::size_t i = 0; i < shown.size() && at < column; ++i) {
    const auto byte = static_cast<unsigned char>(shown[i]);
    if ((byte & 0xC0) == 0x80) continue;  // inside a UTF-8 character
    caret += shown[i] == '\t' ? '\t' : ' ';
    ++at;
  }
  return out + "\n  " + std::string(shown) + "\n  " + caret + "^";
}

}  // namespace hearsay

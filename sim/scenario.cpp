// Scenario keys, TOML loading and validation (see scenario.hpp).

#include "sim/scenario.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <toml++/toml.h>

namespace hearsay::sim {

namespace {

std::string parse_u64(std::string_view text, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return "'" + std::string(text) + "' is not a whole number";
  if (v < lo || v > hi) return "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
  out = v;
  return {};
}

std::string parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no") {
    out = false;
  } else {
    return "'" + std::string(text) + "' is not true or false";
  }
  return {};
}

template <typename T>
scenario_key integer(std::string name, std::string description, std::uint64_t lo, std::uint64_t hi,
                     std::function<T&(scenario&)> field) {
  return {std::move(name), "integer", std::move(description),
          [lo, hi, field](scenario& s, std::string_view text) {
            std::uint64_t v = 0;
            auto e = parse_u64(text, lo, hi, v);
            if (e.empty()) field(s) = static_cast<T>(v);
            return e;
          }};
}

// A duration given in `unit_us` microseconds (1000 for "_ms" keys, 1e6 for "_s" keys).
scenario_key duration(std::string name, std::string description, std::uint64_t unit_us, std::uint64_t lo,
                      std::uint64_t hi, std::function<micros&(scenario&)> field) {
  return {std::move(name), "integer", std::move(description),
          [=](scenario& s, std::string_view text) {
            std::uint64_t v = 0;
            auto e = parse_u64(text, lo, hi, v);
            if (e.empty()) field(s) = micros{static_cast<std::int64_t>(v * unit_us)};
            return e;
          }};
}

scenario_key boolean(std::string name, std::string description, std::function<bool&(scenario&)> field) {
  return {std::move(name), "boolean", std::move(description), [field](scenario& s, std::string_view text) {
            return parse_bool(text, field(s));
          }};
}

std::vector<scenario_key> make_keys() {
  using u8 = std::uint8_t;
  using u32 = std::uint32_t;
  std::vector<scenario_key> k;
  k.push_back(integer<u32>("peers", "number of peers", 1, 16'000'000, [](scenario& s) -> u32& { return s.peers; }));
  k.push_back(integer<std::uint64_t>("seed", "random seed of the run", 0, std::numeric_limits<std::uint64_t>::max(),
                                     [](scenario& s) -> std::uint64_t& { return s.seed; }));
  k.push_back(boolean("wire_codec", "pass every message through the wire codec",
                      [](scenario& s) -> bool& { return s.wire_codec; }));
  // [join]
  k.push_back(integer<u32>("join.seeds", "the first N peers are the seed nodes others join through", 1, 1'000'000,
                           [](scenario& s) -> u32& { return s.seed_count; }));
  k.push_back(duration("join.interval_us", "virtual time between two peers starting", 1, 0, 60'000'000,
                       [](scenario& s) -> micros& { return s.join_interval; }));
  k.push_back(duration("join.stabilize_s", "virtual time the overlay runs alone after the last join", 1'000'000, 0,
                       86'400, [](scenario& s) -> micros& { return s.stabilize; }));
  // [overlay]
  k.push_back(integer<u32>("overlay.view_size_active", "HyParView active view size", 1, 64,
                           [](scenario& s) -> u32& { return s.node.membership.view_size_active; }));
  k.push_back(integer<u32>("overlay.view_size_passive", "HyParView passive view size", 0, 1024,
                           [](scenario& s) -> u32& { return s.node.membership.view_size_passive; }));
  k.push_back(integer<u8>("overlay.walk_length_active", "join random walk length (ARWL)", 0, 32,
                          [](scenario& s) -> u8& { return s.node.membership.walk_length_active; }));
  k.push_back(integer<u8>("overlay.walk_length_passive", "hop at which joiners enter passive views (PRWL)", 0, 32,
                          [](scenario& s) -> u8& { return s.node.membership.walk_length_passive; }));
  k.push_back(duration("overlay.shuffle_period_ms", "time between a peer's shuffles", 1'000, 1, 3'600'000,
                       [](scenario& s) -> micros& { return s.node.membership.shuffle_period; }));
  k.push_back(integer<u32>("overlay.shuffle_active", "active ids sent in a shuffle", 0, 64,
                           [](scenario& s) -> u32& { return s.node.membership.shuffle_active; }));
  k.push_back(integer<u32>("overlay.shuffle_passive", "passive ids sent in a shuffle", 0, 256,
                           [](scenario& s) -> u32& { return s.node.membership.shuffle_passive; }));
  k.push_back(integer<u8>("overlay.walk_length_shuffle", "shuffle random walk length", 1, 32,
                          [](scenario& s) -> u8& { return s.node.membership.walk_length_shuffle; }));
  k.push_back(duration("overlay.repair_period_ms", "time between active-view top-ups", 1'000, 1, 3'600'000,
                       [](scenario& s) -> micros& { return s.node.membership.repair_period; }));
  k.push_back(integer<u32>("overlay.repair_requests_per_round", "NEIGHBOR requests per repair round while not isolated", 1,
                           1024, [](scenario& s) -> u32& { return s.node.membership.repair_requests_per_round; }));
  k.push_back(integer<u32>("overlay.high_priority_below", "NEIGHBOR requests are high priority below this view size",
                           1, 64, [](scenario& s) -> u32& { return s.node.membership.high_priority_below; }));
  k.push_back(duration("overlay.request_timeout_ms", "JOIN / NEIGHBOR answer timeout", 1'000, 1, 600'000,
                       [](scenario& s) -> micros& { return s.node.membership.request_timeout; }));
  k.push_back(integer<u32>("overlay.fanout", "neighbours a query is sent to at each hop", 1, 64,
                           [](scenario& s) -> u32& { return s.node.search.fanout; }));
  k.push_back(integer<u8>("overlay.ttl", "TTL of new queries", 1, 64, [](scenario& s) -> u8& { return s.node.search.ttl; }));
  k.push_back(integer<u8>("overlay.ttl_max", "TTL cap applied by every peer", 1, 64,
                          [](scenario& s) -> u8& { return s.node.search.ttl_max; }));
  k.push_back(boolean("overlay.reply_direct", "hits go straight to the origin, not along the reverse path",
                      [](scenario& s) -> bool& { return s.node.search.reply_direct; }));
  k.push_back(duration("overlay.query_timeout_ms", "how long an origin keeps a query open", 1'000, 1, 3'600'000,
                       [](scenario& s) -> micros& { return s.node.search.query_timeout; }));
  k.push_back(integer<u32>("overlay.dup_cache_capacity", "query ids each peer remembers", 1, 10'000'000,
                           [](scenario& s) -> u32& { return s.node.search.dup_cache_capacity; }));
  k.push_back(integer<u32>("overlay.hits_per_query_max", "hits an origin accepts and a relay forwards per query", 1,
                           1'000'000, [](scenario& s) -> u32& { return s.node.search.hits_per_query_max; }));
  k.push_back(integer<u32>("overlay.queries_per_neighbor_per_s", "query copies accepted per neighbour per second (0: no limit)",
                           0, 1'000'000, [](scenario& s) -> u32& { return s.node.search.queries_per_neighbor_per_s; }));
  // [workload]
  k.push_back(integer<u32>("workload.files", "distinct files in the catalogue", 1, 100'000'000,
                           [](scenario& s) -> u32& { return s.files; }));
  k.push_back(integer<u32>("workload.replication", "peers holding each file", 1, 16'000'000,
                           [](scenario& s) -> u32& { return s.replication; }));
  k.push_back(integer<u32>("workload.queries", "searches to run", 0, 100'000'000,
                           [](scenario& s) -> u32& { return s.queries; }));
  k.push_back(duration("workload.query_interval_us", "virtual time between two searches", 1, 0, 3'600'000'000,
                       [](scenario& s) -> micros& { return s.query_interval; }));
  // [network]
  k.push_back({"network.latency", "string",
               "link latency: constant:MS, uniform:MIN_MS:MAX_MS or lognormal:MEDIAN_MS:SIGMA",
               [](scenario& s, std::string_view text) { return s.latency.parse(text); }});
  return k;
}

// The text form of a TOML value, for the shared setters; empty when the type is wrong.
std::string value_text(const toml::node& n, const std::string& type, std::string& err) {
  if (type == "integer") {
    if (auto v = n.value_exact<std::int64_t>()) {
      if (*v < 0) {
        err = "must not be negative";
        return {};
      }
      return std::to_string(*v);
    }
    err = "expected an integer";
  } else if (type == "boolean") {
    if (auto v = n.value_exact<bool>()) return *v ? "true" : "false";
    err = "expected true or false";
  } else {
    if (auto v = n.value_exact<std::string>()) return *v;
    err = "expected a string";
  }
  return {};
}

std::string where(const std::string& source, const toml::source_region& r) {
  return source + ":" + std::to_string(r.begin.line);
}

bool walk(const toml::table& table, const std::string& prefix, const std::string& source, scenario& s,
          scenario_error& err) {
  for (const auto& [key, value] : table) {
    const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* sub = value.as_table()) {
      if (!walk(*sub, name, source, s, err)) return false;
      continue;
    }
    const auto& all = keys();
    auto it = std::find_if(all.begin(), all.end(), [&](const scenario_key& k) { return k.name == name; });
    if (it == all.end()) {
      err.message = where(source, value.source()) + ": unknown key '" + name + "'";
      return false;
    }
    std::string problem;
    const std::string text = value_text(value, it->type, problem);
    if (problem.empty()) problem = it->set(s, text);
    if (!problem.empty()) {
      err.message = where(source, value.source()) + ": " + name + ": " + problem;
      return false;
    }
  }
  return true;
}

}  // namespace

const std::vector<scenario_key>& keys() {
  static const std::vector<scenario_key> all = make_keys();
  return all;
}

bool set_key(scenario& s, std::string_view name, std::string_view value, scenario_error& err) {
  const auto& all = keys();
  auto it = std::find_if(all.begin(), all.end(), [&](const scenario_key& k) { return k.name == name; });
  if (it == all.end()) {
    err.message = "unknown key '" + std::string(name) + "'";
    return false;
  }
  if (auto problem = it->set(s, value); !problem.empty()) {
    err.message = std::string(name) + ": " + problem;
    return false;
  }
  return true;
}

bool load_scenario_text(std::string_view text, const std::string& source, scenario& s, scenario_error& err) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    err.message = source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
    return false;
  }
  return walk(table, "", source, s, err);
}

bool load_scenario_file(const std::string& path, scenario& s, scenario_error& err) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    if (e.source().begin.line == 0) {
      err.message = path + ": " + std::string(e.description());
    } else {
      err.message = path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
    }
    return false;
  }
  return walk(table, "", path, s, err);
}

std::string validate(const scenario& s) {
  if (s.replication > s.peers) return "workload.replication must not exceed peers";
  if (s.seed_count > s.peers) return "join.seeds must not exceed peers";
  if (s.node.search.ttl > s.node.search.ttl_max) return "overlay.ttl must not exceed overlay.ttl_max";
  if (s.node.membership.walk_length_passive > s.node.membership.walk_length_active) {
    return "overlay.walk_length_passive must not exceed overlay.walk_length_active";
  }
  if (s.queries > 0 && s.peers < 2) return "queries need at least 2 peers";
  return s.latency.validate();
}

}  // namespace hearsay::sim

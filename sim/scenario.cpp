// Scenario keys, TOML loading and validation (see scenario.hpp).

#include "sim/scenario.hpp"

#include "overlay/assert.hpp"
#include "overlay/config_keys.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>

#include <toml++/toml.h>

namespace hearsay::sim {

namespace {

template <typename T>
scenario_key integer(std::string name, std::string description, std::uint64_t lo, std::uint64_t hi,
                     std::function<T&(scenario&)> field) {
  return {std::move(name), "integer", std::move(description),
          [lo, hi, field](scenario& s, std::string_view text) -> result<> {
            auto v = parse_integer(text, lo, hi);
            if (!v) return v.error();
            field(s) = static_cast<T>(*v);
            return {};
          }};
}

// A duration given in `unit_us` microseconds (1000 for "_ms" keys, 1e6 for "_s" keys).
scenario_key duration(std::string name, std::string description, std::uint64_t unit_us, std::uint64_t lo,
                      std::uint64_t hi, std::function<micros&(scenario&)> field) {
  return {std::move(name), "integer", std::move(description),
          [=](scenario& s, std::string_view text) -> result<> {
            auto v = parse_integer(text, lo, hi);
            if (!v) return v.error();
            field(s) = micros{static_cast<std::int64_t>(*v * unit_us)};
            return {};
          }};
}

scenario_key boolean(std::string name, std::string description, std::function<bool&(scenario&)> field) {
  return {std::move(name), "boolean", std::move(description), [field](scenario& s, std::string_view text) -> result<> {
            auto v = parse_boolean(text);
            if (!v) return v.error();
            field(s) = *v;
            return {};
          }};
}

std::vector<scenario_key> make_keys() {
  using u32 = std::uint32_t;
  std::vector<scenario_key> k;
  k.push_back(integer<u32>("peers", "number of peers", 1, 16'000'000, [](scenario& s) -> u32& { return s.peers; }));
  k.push_back(integer<std::uint64_t>("seed", "random seed of the run", 0, std::numeric_limits<std::uint64_t>::max(),
                                     [](scenario& s) -> std::uint64_t& { return s.seed; }));
  k.push_back(boolean("wire_codec", "pass every message through the wire codec",
                      [](scenario& s) -> bool& { return s.wire_codec; }));
  k.push_back(integer<u32>("threads", "threads running the event loop, 0: one per processor this process may use from 20,000 peers (results do not depend on it)",
                           0, 63, [](scenario& s) -> u32& { return s.threads; }));
  k.push_back({"engine", "string",
               "how peers are held: auto | nodes (whole overlay nodes) | compact (fixed graphs; the same results)",
               [](scenario& s, std::string_view text) -> result<> {
                 if (text == "auto") s.engine = scenario::engine_kind::automatic;
                 else if (text == "nodes") s.engine = scenario::engine_kind::nodes;
                 else if (text == "compact") s.engine = scenario::engine_kind::compact;
                 else return failure("expected auto, nodes or compact, got '" + std::string(text) + "'");
                 return {};
               }});
  k.push_back({"topology", "string", "hyparview | kout:K | regular:D | er:MEAN_DEGREE | ba:M | ring:K | file:PATH",
               [](scenario& s, std::string_view text) { return s.topology.parse(text); }});
  // [join]
  k.push_back(integer<u32>("join.seeds", "the first N peers are the seed nodes others join through", 1, 1'000'000,
                           [](scenario& s) -> u32& { return s.seed_count; }));
  k.push_back(duration("join.interval_us", "virtual time between two peers starting", 1, 0, 60'000'000,
                       [](scenario& s) -> micros& { return s.join_interval; }));
  k.push_back({"join.growth", "string",
               "fixed (a peer every interval_us) | proportional (in proportion to the overlay's size, the last "
               "peers every interval_us)",
               [](scenario& s, std::string_view text) -> result<> {
                 if (text != "fixed" && text != "proportional") {
                   return failure("expected fixed or proportional, got '" + std::string(text) + "'");
                 }
                 s.join_proportional = text == "proportional";
                 return {};
               }});
  k.push_back(duration("join.stabilize_s", "virtual time the overlay runs alone after the last join", 1'000'000, 0,
                       86'400, [](scenario& s) -> micros& { return s.stabilize; }));
  // [overlay]: the node's own parameter table, shared with the real node's config.
  for (const auto& key : overlay_config_keys()) {
    k.push_back({"overlay." + key.name, key.type, key.description,
                 [&key](scenario& s, std::string_view text) { return key.set(s.node, text); }});
  }
  // [workload]
  k.push_back(integer<u32>("workload.files", "distinct files in the catalogue", 1, 100'000'000,
                           [](scenario& s) -> u32& { return s.files; }));
  k.push_back(integer<u32>("workload.replication", "peers holding each file", 1, 16'000'000,
                           [](scenario& s) -> u32& { return s.replication; }));
  k.push_back(integer<u32>("workload.queries", "searches to run", 0, 100'000'000,
                           [](scenario& s) -> u32& { return s.queries; }));
  k.push_back(duration("workload.query_interval_us", "virtual time between two searches", 1, 0, 3'600'000'000,
                       [](scenario& s) -> micros& { return s.query_interval; }));
  k.push_back({"workload.popularity", "string", "which files are asked for: uniform | zipf:ALPHA",
               [](scenario& s, std::string_view text) -> result<> {
                 if (text == "uniform") {
                   s.popularity_alpha = 0;
                   return {};
                 }
                 double alpha = 0;
                 const auto arg = text.substr(std::min(text.size(), std::size_t{5}));
                 auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), alpha);
                 if (text.substr(0, 5) != "zipf:" || ec != std::errc{} || end != arg.data() + arg.size() ||
                     !(alpha >= 0) || alpha > 5) {
                   return failure("expected uniform or zipf:ALPHA (0 <= ALPHA <= 5), got '" + std::string(text) + "'");
                 }
                 s.popularity_alpha = alpha;
                 return {};
               }});
  k.push_back({"workload.replication_strategy", "string", "replicas per file: uniform | proportional | square_root",
               [](scenario& s, std::string_view text) -> result<> {
                 if (text == "uniform") s.replication_strategy = scenario::replication_kind::uniform;
                 else if (text == "proportional") s.replication_strategy = scenario::replication_kind::proportional;
                 else if (text == "square_root") s.replication_strategy = scenario::replication_kind::square_root;
                 else return failure("expected uniform, proportional or square_root, got '" + std::string(text) + "'");
                 return {};
               }});
  k.push_back({"workload.arrivals", "string", "query arrivals: fixed (evenly spaced) | poisson",
               [](scenario& s, std::string_view text) -> result<> {
                 if (text != "fixed" && text != "poisson") return failure("expected fixed or poisson, got '" + std::string(text) + "'");
                 s.poisson_arrivals = text == "poisson";
                 return {};
               }});
  k.push_back(integer<u32>("workload.hits_wanted", "k of 'time to k-th hit'", 1, 1'000'000,
                           [](scenario& s) -> u32& { return s.hits_wanted; }));
  k.push_back({"workload.file_size", "string",
               "bytes per catalogue file: indexed:BASE (BASE + index) | constant:BYTES | uniform:MIN:MAX | "
               "lognormal:MEDIAN:SIGMA | pareto:SHAPE:SCALE",
               [](scenario& s, std::string_view text) { return s.file_size.parse(text); }});
  // [network] and [churn] numbers
  // (field: a member pointer, or a function of the scenario returning the field)
  auto fraction = [](std::string name, std::string description, auto field) {
    return scenario_key{std::move(name), "number", std::move(description),
                        [field](scenario& s, std::string_view text) -> result<> {
                          double v = 0;
                          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
                          if (ec != std::errc{} || end != text.data() + text.size() || !(v >= 0) || v > 1) {
                            return failure("'" + std::string(text) + "' is not a number from 0 to 1");
                          }
                          std::invoke(field, s) = v;
                          return {};
                        }};
  };
  auto seconds = [](std::string name, std::string description, auto field) {
    return scenario_key{std::move(name), "number", std::move(description),
                        [field](scenario& s, std::string_view text) -> result<> {
                          double v = 0;
                          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
                          if (ec != std::errc{} || end != text.data() + text.size() || !(v >= 0) || v > 1e7) {
                            return failure("'" + std::string(text) + "' is not a number of seconds");
                          }
                          std::invoke(field, s) = micros{static_cast<std::int64_t>(std::llround(v * 1e6))};
                          return {};
                        }};
  };
  k.push_back(fraction("network.loss", "probability that a message is lost", &scenario::loss));
  k.push_back(seconds("network.partition_at_s", "when a partition starts (after the queries start)", &scenario::partition_at));
  k.push_back(seconds("network.partition_duration_s", "how long the partition lasts (0: none)", &scenario::partition_duration));
  k.push_back(fraction("network.partition_fraction", "share of peers cut off from the rest", &scenario::partition_fraction));
  k.push_back({"network.bandwidth_mbps", "number",
               "shorthand: > 0 runs downloads with this upload and download capacity per peer (Mbit/s)",
               [](scenario& s, std::string_view text) -> result<> {
                 double v = 0;
                 auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
                 if (ec != std::errc{} || end != text.data() + text.size() || !(v == 0 || (v >= 0.008 && v <= 1e5))) {
                   return failure("'" + std::string(text) + "' is not 0 or a bandwidth from 0.008 to 100000 Mbit/s");
                 }
                 s.bandwidth_mbps = v;
                 return {};
               }});
  k.push_back(fraction("churn.crash_fraction", "share of peers that crash at crash_at_s", &scenario::crash_fraction));
  k.push_back(seconds("churn.crash_at_s", "when they crash (after the queries start)", &scenario::crash_at));
  k.push_back(fraction("churn.leave_fraction", "share of peers that leave gracefully at leave_at_s", &scenario::leave_fraction));
  k.push_back(seconds("churn.leave_at_s", "when they leave (after the queries start)", &scenario::leave_at));
  k.push_back(fraction("churn.join_fraction", "share of peers that join only after the queries start", &scenario::join_fraction));
  k.push_back(seconds("churn.join_period_s", "...spread uniformly over this period", &scenario::join_period));
  k.push_back({"churn.sessions", "string", "continuous churn: none, or session lengths exp:MEAN_S | pareto:SHAPE:SCALE_S | weibull:SHAPE:SCALE_S",
               [](scenario& s, std::string_view text) -> result<> {
                 if (text == "none") {
                   s.sessions = false;
                   return {};
                 }
                 s.sessions = true;
                 return s.session_length.parse(text);
               }});
  k.push_back({"churn.downtime", "string", "offline periods between sessions (same forms; default exp:600)",
               [](scenario& s, std::string_view text) { return s.downtime.parse(text); }});
  k.push_back(fraction("churn.graceful_share", "share of sessions that end with a graceful leave", &scenario::graceful_share));
  k.push_back(boolean("churn.repair", "peers repair their views after failures",
                      [](scenario& s) -> bool& { return s.repair; }));
  k.push_back(seconds("churn.report_interval_s", "period of the over-time table (0: off)", &scenario::report_interval));
  // [attack]
  k.push_back(fraction("attack.sybil_share", "share of the peers that are one attacker's Sybils (0: no attack)",
                       [](scenario& s) -> double& { return s.attack.sybil_share; }));
  k.push_back(integer<u32>("attack.sybil_groups", "network groups (/24s) all the Sybils live in", 1, 65'536,
                           [](scenario& s) -> u32& { return s.attack.sybil_groups; }));
  k.push_back(seconds("attack.start_s", "when the first Sybil joins (after the queries start)",
                      [](scenario& s) -> micros& { return s.attack.start; }));
  k.push_back(seconds("attack.join_period_s", "...the others following evenly over this period",
                      [](scenario& s) -> micros& { return s.attack.join_period; }));
  k.push_back({"attack.behaviour", "string",
               "eclipse (into views as the protocol lets anyone, lists filled with Sybils, queries dropped) | flood (eclipse, pushing in every repair period) | honest (the real node: a control)",
               [](scenario& s, std::string_view text) -> result<> {
                 using kind = scenario::attack_settings::behaviour_kind;
                 if (text == "eclipse") s.attack.behaviour = kind::eclipse;
                 else if (text == "flood") s.attack.behaviour = kind::flood;
                 else if (text == "honest") s.attack.behaviour = kind::honest;
                 else return failure("expected eclipse, flood or honest, got '" + std::string(text) + "'");
                 return {};
               }});
  // [download]
  k.push_back(boolean("download.enabled", "searchers download what they found (time to file, bytes, failovers)",
                      [](scenario& s) -> bool& { return s.download.enabled; }));
  k.push_back({"download.upload", "string",
               "per-peer upload capacity: constant:MBIT_S | uniform:MIN:MAX | lognormal:MEDIAN:SIGMA | classes:ec2",
               [](scenario& s, std::string_view text) { return s.download.upload.parse(text); }});
  k.push_back({"download.download", "string", "per-peer download capacity (same forms as download.upload)",
               [](scenario& s, std::string_view text) { return s.download.download.parse(text); }});
  k.push_back({"download.start", "string", "when a searcher starts downloading: first_hit | hits_wanted",
               [](scenario& s, std::string_view text) -> result<> {
                 using kind = scenario::download_settings::start_kind;
                 if (text == "first_hit") s.download.start = kind::first_hit;
                 else if (text == "hits_wanted") s.download.start = kind::hits_wanted;
                 else return failure("expected first_hit or hits_wanted, got '" + std::string(text) + "'");
                 return {};
               }});
  k.push_back(duration("download.timeout_s", "a download still running this long after its query counts as failed",
                       1'000'000, 1, 864'000, [](scenario& s) -> micros& { return s.download.timeout; }));
  k.push_back(integer<u32>("download.uploads_max", "transfers a peer serves at once, more are answered busy (0: no limit)",
                           0, 1'000'000, [](scenario& s) -> u32& { return s.download.uploads_max; }));
  // [fetch]: the download engine's parameter table, shared with the real node's config.
  for (const auto& key : fetch_config_keys()) {
    k.push_back({"fetch." + key.name, key.type, key.description,
                 [&key](scenario& s, std::string_view text) { return key.set(s.node, text); }});
  }
  // [network]
  k.push_back({"network.latency", "string",
               "link latency: constant:MS, uniform:MIN_MS:MAX_MS, lognormal:MEDIAN_MS:SIGMA or regions:ec2[:JITTER]",
               [](scenario& s, std::string_view text) { return s.latency.parse(text); }});
  return k;
}

// The text form of a TOML value, for the shared setters, or why its type is wrong.
result<std::string> value_text(const toml::node& n, const std::string& type) {
  if (type == "integer") {
    if (auto v = n.value_exact<std::int64_t>()) {
      if (*v < 0) return failure("must not be negative");
      return std::to_string(*v);
    }
    return failure("expected an integer");
  }
  if (type == "boolean") {
    if (auto v = n.value_exact<bool>()) return std::string(*v ? "true" : "false");
    return failure("expected true or false");
  }
  if (type == "number") {
    if (auto v = n.value_exact<std::int64_t>()) return std::to_string(*v);
    if (auto d = n.value_exact<double>()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      return std::string(buf);
    }
    return failure("expected a number");
  }
  if (auto v = n.value_exact<std::string>()) return *v;
  return failure("expected a string");
}

std::string where(const std::string& source, const toml::source_region& r) {
  return source + ":" + std::to_string(r.begin.line);
}

result<> walk(const toml::table& table, const std::string& prefix, const std::string& source, scenario& s) {
  for (const auto& [key, value] : table) {
    const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* sub = value.as_table()) {
      if (auto r = walk(*sub, name, source, s); !r) return r;
      continue;
    }
    const auto& all = keys();
    auto it = std::find_if(all.begin(), all.end(), [&](const scenario_key& k) { return k.name == name; });
    if (it == all.end()) return failure(where(source, value.source()) + ": unknown key '" + name + "'");
    const auto text = value_text(value, it->type);
    const result<> set = text ? it->set(s, *text) : result<>(text.error());
    if (!set) return failure(where(source, value.source()) + ": " + name + ": " + set.error().what());
  }
  return {};
}

}  // namespace

const std::vector<scenario_key>& keys() {
  static const std::vector<scenario_key> all = make_keys();
  return all;
}

result<> set_key(scenario& s, std::string_view name, std::string_view value) {
  const auto& all = keys();
  auto it = std::find_if(all.begin(), all.end(), [&](const scenario_key& k) { return k.name == name; });
  if (it == all.end()) return failure("unknown key '" + std::string(name) + "'");
  if (auto set = it->set(s, value); !set) return failure(std::string(name) + ": " + set.error().what());
  return {};
}

result<> load_scenario_text(std::string_view text, const std::string& source, scenario& s) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    // "file:line:col: what", the line and a caret under the column.
    return failure(syntax_error_text(text, source, static_cast<std::uint32_t>(e.source().begin.line),
                                     static_cast<std::uint32_t>(e.source().begin.column), e.description()));
  }
  return walk(table, "", source, s);
}

result<> load_scenario_file(const std::string& path, scenario& s) {
  // Read whole, so that a syntax error can show its line.
  std::ifstream in(path, std::ios::binary);
  if (!in) return failure(std::error_code(errno != 0 ? errno : ENOENT, std::generic_category()), path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return failure(std::error_code(EIO, std::generic_category()), path);
  return load_scenario_text(text, path, s);
}

micros join_gap(const scenario& s, std::uint32_t started) {
  HEARSAY_ASSERT(started >= 1);
  if (!s.join_proportional) return s.join_interval;
  // (At most 60 s x 16 million peers: well within 64 bits.)
  return micros{s.join_interval.count() * static_cast<std::int64_t>(s.peers) / static_cast<std::int64_t>(started)};
}

result<> validate(const scenario& s) {
  if (s.replication > s.peers) return failure("workload.replication must not exceed peers");
  if (auto valid = hearsay::validate(s.node); !valid) return valid;
  if (s.queries > 0 && s.peers < 2) return failure("queries need at least 2 peers");
  if (s.join_fraction > 0 && s.topology.is_static()) return failure("churn.join_fraction needs the hyparview topology");
  if (const std::uint32_t sybils = sybil_count(s); sybils > 0) {
    if (s.topology.is_static()) return failure("attack.sybil_share needs the hyparview topology");
    const std::uint32_t honest = s.peers - sybils;
    if (honest < std::max<std::uint32_t>(2, s.seed_count + 1)) {
      return failure("attack.sybil_share leaves too few honest peers (the seed nodes and at least one more are honest)");
    }
    if (s.replication > honest) {
      return failure("workload.replication must not exceed the honest peers (files are placed on them)");
    }
    // Sybil number j of a group is at port 7000 + j / 256 (sim/addresses.hpp).
    if ((sybils - 1) / s.attack.sybil_groups / 256 > 65'535u - 7'000u) return failure("attack: too many Sybils per group");
  }
  if (auto valid = s.latency.validate(); !valid) return valid;
  return {};
}

bool downloads_enabled(const scenario& s) { return s.download.enabled || s.bandwidth_mbps > 0; }

const char* describe(scenario::attack_settings::behaviour_kind b) {
  switch (b) {
    case scenario::attack_settings::behaviour_kind::eclipse:
      return "eclipse";
    case scenario::attack_settings::behaviour_kind::flood:
      return "flood";
    case scenario::attack_settings::behaviour_kind::honest:
      return "honest";
  }
  return "?";
}

std::uint32_t sybil_count(const scenario& s) {
  return static_cast<std::uint32_t>(std::llround(s.attack.sybil_share * static_cast<double>(s.peers)));
}

capacity_dist upload_capacity(const scenario& s) {
  if (s.bandwidth_mbps > 0) return {capacity_dist::kind::constant, s.bandwidth_mbps, 0};
  return s.download.upload;
}

capacity_dist download_capacity(const scenario& s) {
  if (s.bandwidth_mbps > 0) return {capacity_dist::kind::constant, s.bandwidth_mbps, 0};
  return s.download.download;
}

}  // namespace hearsay::sim

// Flags of a single hearsay-sim run (see sweep.hpp): shared by plain runs and sweeps.

#include <algorithm>
#include <string_view>

#include "apps/command_line.hpp"
#include "apps/sim/sweep.hpp"

using hearsay::sim::scenario;

namespace hearsay::sim_app {

namespace {

// Flags with a value that map onto scenario keys, so files and flags share one parser.
struct shortcut {
  std::string_view flag;
  std::string_view key;
  std::string_view value;
};
constexpr shortcut shortcuts[] = {
    {"--peers", "peers", "N"},
    {"--seed", "seed", "S"},
    {"--fanout", "overlay.fanout", "K"},
    {"--ttl", "overlay.ttl", "T"},
    {"--queries", "workload.queries", "Q"},
    {"--files", "workload.files", "F"},
    {"--replication", "workload.replication", "R"},
    {"--latency", "network.latency", "SPEC"},
    {"--topology", "topology", "SPEC"},
};

// The help line of a shortcut: the key's own description and name.
std::string describe(const shortcut& sc) {
  for (const auto& k : hearsay::sim::keys()) {
    if (k.name == sc.key) return k.description + " (the scenario key " + std::string(sc.key) + ")";
  }
  return "the scenario key " + std::string(sc.key);
}

// The flags the sweep sets for each of its points itself.
constexpr std::string_view per_point_flags[] = {"--json", "--csv", "--point", "--per-query"};

}  // namespace

void add_run_flags(CLI::App& app, bool for_sweep) {
  apps::add_repeatable(app, "--scenario", "FILE",
                       "load a TOML scenario (sim/scenarios/: default.toml documents every key, eclipse.toml "
                       "is an attack); flags after it override it, flags before it are overridden by it");
  for (const auto& sc : shortcuts) {
    apps::add_repeatable(app, std::string(sc.flag), std::string(sc.value), describe(sc));
  }
  apps::add_repeatable(app, "--set", "KEY=VALUE", "set any scenario key (repeatable; --list-keys lists them)");
  apps::add_switch(app, "--wire-codec", "pass every message through the FlatBuffers codec (wire_codec = true)");
  apps::add_repeatable(app, "--json", "FILE", "also write the results as JSON");
  apps::add_repeatable(app, "--csv", "FILE", "also write the results as one CSV row (with a header)");
  apps::add_repeatable(app, "--queries-csv", "FILE", "also write one CSV row per query");
  apps::add_repeatable(app, "--html", "FILE", "also write the report as one self-contained HTML page (tables and charts)");
  apps::add_repeatable(app, "--point", "LABEL", "label of a sweep point, written into the CSV row (sweep sets it)");
  apps::add_switch(app, "--per-query", "include one record per query in the JSON");
  if (for_sweep) {
    // Still read, to say why they cannot be given, but not offered in the sweep's help.
    for (const auto flag : per_point_flags) app.get_option(std::string(flag))->group("");
  }
}

result<> check_sweep_run_flags(const CLI::App& sweep) {
  for (const auto flag : per_point_flags) {
    if (sweep.get_option(std::string(flag))->count() > 0) {
      return failure(std::string(flag) + " is set by the sweep for each point");
    }
  }
  return {};
}

result<> parse_run_args(const std::vector<std::string>& args, scenario& s, run_options& opt) {
  CLI::App app("the flags of a run", "hearsay-sim");
  apps::configure(app);
  add_run_flags(app, false);
  auto parsed = apps::parse(app, args);
  if (!parsed) return parsed.error();
  // In the order given: a scenario file sets what the flags before it set.
  for (const auto& given : apps::given_in_order(app)) {
    const std::string& flag = given.name;
    const std::string& v = given.value;
    if (flag == "--wire-codec") {
      s.wire_codec = true;
    } else if (flag == "--per-query") {
      opt.per_query = true;
    } else if (flag == "--scenario") {
      if (auto loaded = hearsay::sim::load_scenario_file(v, s); !loaded) return loaded;
    } else if (flag == "--json") {
      opt.json_path = v;
    } else if (flag == "--csv") {
      opt.csv_path = v;
    } else if (flag == "--html") {
      opt.html_path = v;
    } else if (flag == "--queries-csv") {
      opt.queries_csv_path = v;
    } else if (flag == "--point") {
      opt.point = v;
    } else if (flag == "--set") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) return failure("--set needs KEY=VALUE, got '" + v + "'");
      if (auto set = hearsay::sim::set_key(s, v.substr(0, eq), v.substr(eq + 1)); !set) {
        return failure("--set " + set.error().what());
      }
    } else {
      const auto sc = std::find_if(std::begin(shortcuts), std::end(shortcuts),
                                   [&](const shortcut& c) { return c.flag == flag; });
      HEARSAY_ASSERT(sc != std::end(shortcuts));
      if (auto set = hearsay::sim::set_key(s, sc->key, v); !set) return set.error().prefix(flag);
    }
  }
  return hearsay::sim::validate(s);
}

}  // namespace hearsay::sim_app

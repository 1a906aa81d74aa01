// Flags of a single hearsay-sim run (see sweep.hpp): shared by plain runs and sweeps.

#include <algorithm>
#include <string_view>

#include "apps/sim/sweep.hpp"

using hearsay::sim::scenario;

namespace hearsay::sim_app {

result<> parse_run_args(const std::vector<std::string>& args, scenario& s, run_options& opt) {
  // Flags with a value map onto scenario keys, so files and flags share one parser.
  const std::pair<std::string_view, std::string_view> shortcuts[] = {
      {"--peers", "peers"},           {"--seed", "seed"},         {"--fanout", "overlay.fanout"},
      {"--ttl", "overlay.ttl"},       {"--queries", "workload.queries"}, {"--files", "workload.files"},
      {"--replication", "workload.replication"}, {"--latency", "network.latency"},
      {"--topology", "topology"}};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--wire-codec") {
      s.wire_codec = true;
      continue;
    }
    if (a == "--per-query") {
      opt.per_query = true;
      continue;
    }
    const bool needs_value = a == "--scenario" || a == "--json" || a == "--csv" || a == "--queries-csv" || a == "--html" || a == "--point" || a == "--set" ||
                             std::any_of(std::begin(shortcuts), std::end(shortcuts),
                                         [&](const auto& sc) { return sc.first == a; });
    if (!needs_value) return failure("unknown option '" + std::string(a) + "'");
    if (i + 1 >= args.size()) return failure(std::string(a) + " needs a value");
    const std::string& v = args[++i];
    if (a == "--scenario") {
      if (auto loaded = hearsay::sim::load_scenario_file(v, s); !loaded) return loaded;
    } else if (a == "--json") {
      opt.json_path = v;
    } else if (a == "--csv") {
      opt.csv_path = v;
    } else if (a == "--html") {
      opt.html_path = v;
    } else if (a == "--queries-csv") {
      opt.queries_csv_path = v;
    } else if (a == "--point") {
      opt.point = v;
    } else if (a == "--set") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) return failure("--set needs KEY=VALUE, got '" + v + "'");
      if (auto set = hearsay::sim::set_key(s, v.substr(0, eq), v.substr(eq + 1)); !set) {
        return failure("--set " + set.error().what());
      }
    } else {
      for (const auto& sc : shortcuts) {
        if (sc.first != a) continue;
        if (auto set = hearsay::sim::set_key(s, sc.second, v); !set) return set.error().prefix(std::string(a));
      }
    }
  }
  return hearsay::sim::validate(s);
}

}  // namespace hearsay::sim_app

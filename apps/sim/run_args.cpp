// Flags of a single hearsay-sim run (see sweep.hpp): shared by plain runs and sweeps.

#include <algorithm>
#include <string_view>

#include "apps/sim/sweep.hpp"

using hearsay::sim::scenario;

namespace hearsay::sim_app {

bool parse_run_args(const std::vector<std::string>& args, scenario& s, run_options& opt, std::string& error) {
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
    const bool needs_value = a == "--scenario" || a == "--json" || a == "--csv" || a == "--queries-csv" || a == "--point" || a == "--set" ||
                             std::any_of(std::begin(shortcuts), std::end(shortcuts),
                                         [&](const auto& sc) { return sc.first == a; });
    if (!needs_value) {
      error = "unknown option '" + std::string(a) + "'";
      return false;
    }
    if (i + 1 >= args.size()) {
      error = std::string(a) + " needs a value";
      return false;
    }
    const std::string& v = args[++i];
    hearsay::sim::scenario_error err;
    if (a == "--scenario") {
      if (!hearsay::sim::load_scenario_file(v, s, err)) {
        error = err.message;
        return false;
      }
    } else if (a == "--json") {
      opt.json_path = v;
    } else if (a == "--csv") {
      opt.csv_path = v;
    } else if (a == "--queries-csv") {
      opt.queries_csv_path = v;
    } else if (a == "--point") {
      opt.point = v;
    } else if (a == "--set") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) {
        error = "--set needs KEY=VALUE, got '" + v + "'";
        return false;
      }
      if (!hearsay::sim::set_key(s, v.substr(0, eq), v.substr(eq + 1), err)) {
        error = "--set " + err.message;
        return false;
      }
    } else {
      for (const auto& sc : shortcuts) {
        if (sc.first == a && !hearsay::sim::set_key(s, sc.second, v, err)) {
          error = std::string(a) + ": " + err.message;
          return false;
        }
      }
    }
  }
  if (auto problem = hearsay::sim::validate(s); !problem.empty()) {
    error = problem;
    return false;
  }
  return true;
}

}  // namespace hearsay::sim_app

// hearsay-sim: runs one simulation scenario and prints its results.
//
// stdout carries only the deterministic report (same seed and scenario, same bytes); wall
// time, speed and memory go to stderr.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/resource.h>

#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

namespace {

using hearsay::sim::scenario;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: hearsay-sim [options]\n"
               "Simulates a hearsay overlay (HyParView membership, TTL-flooded search) in virtual time.\n\n"
               "  --scenario FILE        load a TOML scenario (see sim/scenarios/); flags given after it override it\n"
               "  --peers N              number of peers (default 10000)\n"
               "  --seed S               random seed (default 1)\n"
               "  --fanout K             neighbours a query goes to at each hop\n"
               "  --ttl T                TTL of each query\n"
               "  --queries Q            number of searches\n"
               "  --files F              distinct files in the catalogue\n"
               "  --replication R        peers holding each file\n"
               "  --latency SPEC         constant:MS | uniform:MIN_MS:MAX_MS | lognormal:MEDIAN_MS:SIGMA\n"
               "  --wire-codec           pass every message through the FlatBuffers codec\n"
               "  --set KEY=VALUE        set any scenario key (see --list-keys)\n"
               "  --json FILE            also write the results as JSON\n"
               "  --per-query            include one record per query in the JSON\n"
               "  --list-keys            list every scenario key with its meaning\n"
               "  --help                 this text\n");
}

int fail(const std::string& message) {
  std::fprintf(stderr, "hearsay-sim: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  scenario s;
  std::string json_path;
  bool per_query = false;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  // Flags with a value map onto scenario keys, so files and flags share one parser.
  const std::pair<std::string_view, std::string_view> shortcuts[] = {
      {"--peers", "peers"},           {"--seed", "seed"},         {"--fanout", "overlay.fanout"},
      {"--ttl", "overlay.ttl"},       {"--queries", "workload.queries"}, {"--files", "workload.files"},
      {"--replication", "workload.replication"}, {"--latency", "network.latency"}};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> std::string_view { return i + 1 < args.size() ? args[++i] : std::string_view{}; };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--list-keys") {
      for (const auto& k : hearsay::sim::keys()) {
        std::printf("%-36s %-8s %s\n", k.name.c_str(), k.type.c_str(), k.description.c_str());
      }
      return 0;
    }
    if (a == "--wire-codec") {
      s.wire_codec = true;
      continue;
    }
    if (a == "--per-query") {
      per_query = true;
      continue;
    }
    const bool needs_value = a == "--scenario" || a == "--json" || a == "--set" ||
                             std::any_of(std::begin(shortcuts), std::end(shortcuts),
                                         [&](const auto& sc) { return sc.first == a; });
    if (!needs_value) {
      usage(stderr);
      return fail("unknown option '" + std::string(a) + "'");
    }
    const std::string_view v = value();
    if (v.empty()) return fail(std::string(a) + " needs a value");
    hearsay::sim::scenario_error err;
    if (a == "--scenario") {
      if (!hearsay::sim::load_scenario_file(std::string(v), s, err)) return fail(err.message);
    } else if (a == "--json") {
      json_path = v;
    } else if (a == "--set") {
      const auto eq = v.find('=');
      if (eq == std::string_view::npos) return fail("--set needs KEY=VALUE, got '" + std::string(v) + "'");
      if (!hearsay::sim::set_key(s, v.substr(0, eq), v.substr(eq + 1), err)) return fail("--set " + err.message);
    } else {
      for (const auto& sc : shortcuts) {
        if (sc.first == a && !hearsay::sim::set_key(s, sc.second, v, err)) {
          return fail(std::string(a) + ": " + err.message);
        }
      }
    }
  }
  if (auto problem = hearsay::sim::validate(s); !problem.empty()) return fail(problem);

  const auto wall_start = std::chrono::steady_clock::now();
  hearsay::sim::simulator sim(s);
  if (!sim.error().empty()) return fail(sim.error());
  const auto results = sim.run();
  const auto wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  const std::string report = hearsay::sim::format_report(s, results);
  std::fwrite(report.data(), 1, report.size(), stdout);
  std::fflush(stdout);
  if (!json_path.empty()) {
    std::ofstream out(json_path, std::ios::binary | std::ios::trunc);
    out << hearsay::sim::format_json(s, results, per_query);
    out.close();
    if (!out) return fail("cannot write " + json_path + ": " + std::strerror(errno));
  }
  rusage usage_self{};
  getrusage(RUSAGE_SELF, &usage_self);
  std::fprintf(stderr, "run: %.2f s wall, %llu events, %.2f M events/s, peak memory %.1f MiB\n", wall_s,
               static_cast<unsigned long long>(results.events),
               static_cast<double>(results.events) / wall_s / 1e6, static_cast<double>(usage_self.ru_maxrss) / 1024.0);
  return 0;
}

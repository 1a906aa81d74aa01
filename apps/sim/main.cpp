// hearsay-sim: runs one simulation scenario and prints its results.
//
// stdout carries only the deterministic report (same seed and scenario, same bytes); wall
// time, speed and memory go to stderr.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/resource.h>

#include "sim/huge_pages.hpp"
#include "sim/html_report.hpp"
#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"
#include "sim/table.hpp"
#include "sim/topology.hpp"
#include "apps/sim/sweep.hpp"
#include "apps/sim/tune.hpp"

namespace {

using hearsay::sim::scenario;

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: hearsay-sim [options]\n"
               "Simulates a hearsay overlay (HyParView membership, TTL-flooded search) in virtual time.\n\n"
               "  --scenario FILE        load a TOML scenario (see sim/scenarios/); flags given after it override it\n"
               "                         (default.toml documents every key; eclipse.toml is an eclipse attack, [attack])\n"
               "  --peers N              number of peers (default 10000)\n"
               "  --seed S               random seed (default 1)\n"
               "  --fanout K             neighbours a query goes to at each hop\n"
               "  --ttl T                TTL of each query\n"
               "  --queries Q            number of searches\n"
               "  --files F              distinct files in the catalogue\n"
               "  --replication R        peers holding each file\n"
               "  --latency SPEC         constant:MS | uniform:MIN_MS:MAX_MS | lognormal:MEDIAN_MS:SIGMA | regions:ec2[:JITTER]\n"
               "  --wire-codec           pass every message through the FlatBuffers codec\n"
               "  --set KEY=VALUE        set any scenario key (see --list-keys)\n"
               "  --topology SPEC        hyparview | regular:D | er:MEAN_DEGREE | ba:M | ring:K | kout:K | file:PATH\n"
               "                         (kout:K: each peer links to K random others, links undirected; file:PATH:\n"
               "                         an edge list, text \"a b\" lines or the binary form of topology --convert)\n"
               "  --json FILE            also write the results as JSON\n"
               "  --csv FILE             also write the results as one CSV row (with a header)\n"
               "  --queries-csv FILE     also write one CSV row per query\n"
               "  --html FILE            also write the report as one self-contained HTML page (tables and charts)\n"
               "  --per-query            include one record per query in the JSON\n"
               "  --list-keys            list every scenario key with its meaning\n"
               "  --help                 this text\n\n"
               "hearsay-sim sweep [options] --vary KEY=VALUES [--vary ...] [--seeds N] [--jobs J] [--out DIR]\n"
               "      [--emit-commands]\n"
               "  runs one simulation per combination of the varied keys (VALUES: a,b,c or LO..HI) and seed,\n"
               "  in parallel processes, then writes DIR/sweep.csv and SVG plots; --emit-commands only prints\n"
               "  one command per point (for GNU parallel or a batch system), to be merged afterwards with\n"
               "hearsay-sim merge DIR\n"
               "  merges DIR/point-*.csv into DIR/sweep.csv and draws the plots.\n"
               "hearsay-sim plot FILE.csv --x COLUMN --y COLUMN[,COLUMN...] --out FILE.svg [--group COLUMN]\n"
               "      [--title TEXT] [--x-label TEXT] [--y-label TEXT]\n"
               "  draws a line chart of any CSV table (e.g. bench/scale.sh's results) as SVG.\n"
               "hearsay-sim topology --convert IN OUT\n"
               "  rewrites an edge list (text or binary) in the binary form (sim/topology.hpp), which loads\n"
               "  about twice as fast, and prints the peers, the edges and the time taken.\n");
}

int fail(const std::string& message) {
  std::fprintf(stderr, "hearsay-sim: %s\n", message.c_str());
  return 2;
}


}  // namespace


namespace {

hearsay::result<> write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return hearsay::failure(std::error_code(errno, std::generic_category()), "cannot write " + path);
  return {};
}

// hearsay-sim topology --convert IN OUT: an edge list read (text or binary) and written in the
// binary form, each edge once; the times go with the counts, for bench/edges.sh.
int run_topology(const std::vector<std::string>& args) {
  if (args.size() != 3 || args[0] != "--convert") return fail("usage: hearsay-sim topology --convert IN OUT");
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point from) {
    return std::chrono::duration<double>(clock::now() - from).count();
  };
  // Any index a run could use (the scenario key peers goes up to 16,000,000).
  constexpr std::uint32_t peers_max = 16'000'000;
  auto start = clock::now();
  auto read = hearsay::sim::read_edge_file(args[1], peers_max);
  if (!read) return fail(read.error().what());
  const double read_s = seconds(start);
  start = clock::now();
  const auto g = hearsay::sim::graph::from_edges(read->peers, read->edges);
  const double graph_s = seconds(start);
  start = clock::now();
  if (auto written = hearsay::sim::write_edge_file(args[2], g); !written) return fail(written.error().what());
  std::printf("%s: %u peers, %llu edges as read, %llu distinct; read %.3f s, graph %.3f s; %s written in %.3f s\n",
              args[1].c_str(), read->peers, static_cast<unsigned long long>(read->edges.size()),
              static_cast<unsigned long long>(g.edges()), read_s, graph_s, args[2].c_str(), seconds(start));
  return 0;
}

}  // namespace

// The run's simulator, left standing at exit (see main). Not static: the store to it stays.
hearsay::sim::simulator* kept_simulator = nullptr;

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  // Tools that run no simulation start at once; simulations get their heap set up first.
  if (!args.empty() && args[0] == "merge") return hearsay::sim_app::run_merge({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "plot") return hearsay::sim_app::run_plot({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "topology") return run_topology({args.begin() + 1, args.end()});
  hearsay::sim::reexec_with_huge_pages(argv);
  if (!args.empty() && args[0] == "sweep") return hearsay::sim_app::run_sweep({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "tune") return hearsay::sim_app::run_tune({args.begin() + 1, args.end()});
  for (const auto& a : args) {
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
  }
  scenario s;
  hearsay::sim_app::run_options opt;
  if (auto parsed = hearsay::sim_app::parse_run_args(args, s, opt); !parsed) {
    const std::string error = parsed.error().what();
    if (error.rfind("unknown option", 0) == 0) usage(stderr);
    return fail(error);
  }

  const auto wall_start = std::chrono::steady_clock::now();
  // The simulator is never destroyed: a million peers would take seconds to free block by
  // block, just before the process ends and its memory goes back whole. A global pointer
  // keeps it reachable, so leak checkers see it in use.
  auto made = hearsay::sim::simulator::create(s);
  if (!made) return fail(made.error().what());
  kept_simulator = made->release();
  hearsay::sim::simulator& sim = *kept_simulator;
  const auto results = sim.run();
  const unsigned threads = sim.threads();
  const auto wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  const std::string report = hearsay::sim::format_report(s, results);
  std::fwrite(report.data(), 1, report.size(), stdout);
  std::fflush(stdout);
  if (!opt.json_path.empty()) {
    auto w = write_file(opt.json_path, hearsay::sim::format_json(s, results, opt.per_query));
    if (!w) return fail(w.error().what());
  }
  if (!opt.csv_path.empty()) {
    auto w = write_file(opt.csv_path, hearsay::sim::csv_header() + hearsay::sim::csv_row(s, results, opt.point));
    if (!w) return fail(w.error().what());
  }
  if (!opt.html_path.empty()) {
    auto w = write_file(opt.html_path, hearsay::sim::format_html(s, results));
    if (!w) return fail(w.error().what());
  }
  if (!opt.queries_csv_path.empty()) {
    auto w = write_file(opt.queries_csv_path, hearsay::sim::csv_queries(results));
    if (!w) return fail(w.error().what());
  }
  rusage usage_self{};
  getrusage(RUSAGE_SELF, &usage_self);
  std::fprintf(stderr, "run: %.2f s wall, %llu events, %.2f M events/s, peak memory %.1f MiB, %u thread%s, %s, %s engine\n",
               wall_s, static_cast<unsigned long long>(results.events),
               static_cast<double>(results.events) / wall_s / 1e6, static_cast<double>(usage_self.ru_maxrss) / 1024.0,
               threads, threads == 1 ? "" : "s", hearsay::sim::page_size_in_use(), sim.engine_name());
  return 0;
}

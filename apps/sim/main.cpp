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
#include "apps/command_line.hpp"
#include "apps/sim/sweep.hpp"
#include "apps/sim/tune.hpp"

namespace {

using hearsay::sim::scenario;

int fail(const std::string& message) {
  std::fprintf(stderr, "hearsay-sim: %s\n", message.c_str());
  return 2;
}

hearsay::result<> write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return hearsay::failure(std::error_code(errno, std::generic_category()), "cannot write " + path);
  return {};
}

}  // namespace

// The run's simulator, left standing at exit (see main). Not static: the store to it stays.
hearsay::sim::simulator* kept_simulator = nullptr;

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  // tune has its own flags (apps/sim/tune.cpp) and runs simulations: heap set up first.
  if (!args.empty() && args[0] == "tune") {
    hearsay::sim::reexec_with_huge_pages(argv);
    return hearsay::sim_app::run_tune({args.begin() + 1, args.end()});
  }
  const auto command_line = hearsay::sim_app::make_command_line();
  const auto parsed = hearsay::apps::parse(*command_line, args);
  if (!parsed) return hearsay::apps::refuse(*command_line, parsed.error());
  if (*parsed == hearsay::apps::parsed::help_printed) return 0;
  const CLI::App& chosen = hearsay::apps::chosen(*command_line);
  if (command_line->get_option("--list-keys")->count() > 0) {
    for (const auto& k : hearsay::sim::keys()) {
      std::printf("%-36s %-8s %s\n", k.name.c_str(), k.type.c_str(), k.description.c_str());
    }
    return 0;
  }
  // Tools that run no simulation start at once; simulations get their heap set up first.
  const bool simulates = &chosen == command_line.get() || chosen.get_name() == "sweep";
  if (!simulates) return hearsay::sim_app::run_subcommand(chosen);
  hearsay::sim::reexec_with_huge_pages(argv);
  if (&chosen != command_line.get()) return hearsay::sim_app::run_subcommand(chosen);

  scenario s;
  hearsay::sim_app::run_options opt;
  const auto run_args = hearsay::apps::as_arguments(hearsay::apps::given_in_order(*command_line));
  if (auto applied = hearsay::sim_app::parse_run_args(run_args, s, opt); !applied) return fail(applied.error().what());

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

// hearsay-sim's command line and the subcommands that run no simulation of their own (see
// sweep.hpp).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>

#include "apps/command_line.hpp"
#include "apps/sim/sweep.hpp"
#include "sim/processors.hpp"
#include "sim/topology.hpp"

namespace hearsay::sim_app {

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "hearsay-sim: %s\n", message.c_str());
  return 2;
}

// The value of an option given once, or the fallback.
template <typename T>
T value_or(const CLI::App& app, const std::string& name, T fallback) {
  const CLI::Option* o = app.get_option(name);
  return o->count() > 0 ? o->as<T>() : fallback;
}

// The flags of the sweep itself; every other flag it was given is a run's.
constexpr std::string_view sweep_flags[] = {"--vary", "--seeds", "--jobs", "--out", "--emit-commands"};

int sweep(const CLI::App& app) {
  if (auto refused = check_sweep_run_flags(app); !refused) return fail(refused.error().what());
  sweep_options o;
  for (const auto& given : apps::given_in_order(app)) {
    if (given.name == "--vary") {
      const auto eq = given.value.find('=');
      if (eq == std::string::npos) return fail("--vary needs KEY=VALUES, got '" + given.value + "'");
      o.vary.emplace_back(given.value.substr(0, eq), given.value.substr(eq + 1));
    } else if (std::find(std::begin(sweep_flags), std::end(sweep_flags), given.name) == std::end(sweep_flags)) {
      auto args = apps::as_arguments({given});
      o.base.insert(o.base.end(), args.begin(), args.end());
    }
  }
  o.seeds = value_or<std::uint32_t>(app, "--seeds", 1);
  o.jobs = value_or<unsigned>(app, "--jobs", sim::usable_processors());
  o.out_dir = value_or<std::string>(app, "--out", "sweep-out");
  o.emit_commands = app.get_option("--emit-commands")->count() > 0;
  return run_sweep(o);
}

int plot(const CLI::App& app) {
  plot_options o;
  o.csv = app.get_option("FILE.csv")->as<std::string>();
  o.x = app.get_option("--x")->as<std::string>();
  o.y = app.get_option("--y")->as<std::string>();
  o.out = app.get_option("--out")->as<std::string>();
  o.group = value_or<std::string>(app, "--group", "");
  o.title = value_or<std::string>(app, "--title", "");
  o.x_label = value_or<std::string>(app, "--x-label", "");
  o.y_label = value_or<std::string>(app, "--y-label", "");
  return run_plot(o);
}

// hearsay-sim topology --convert IN OUT: an edge list read (text or binary) and written in the
// binary form, each edge once; the times go with the counts, for bench/edges.sh.
int topology(const CLI::App& app) {
  const auto& files = app.get_option("--convert")->results();
  const std::string& in = files.at(0);
  const std::string& out = files.at(1);
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point from) {
    return std::chrono::duration<double>(clock::now() - from).count();
  };
  // Any index a run could use (the scenario key peers goes up to 16,000,000).
  constexpr std::uint32_t peers_max = 16'000'000;
  auto start = clock::now();
  auto read = sim::read_edge_file(in, peers_max);
  if (!read) return fail(read.error().what());
  const double read_s = seconds(start);
  start = clock::now();
  const auto g = sim::graph::from_edges(read->peers, read->edges);
  const double graph_s = seconds(start);
  start = clock::now();
  if (auto written = sim::write_edge_file(out, g); !written) return fail(written.error().what());
  std::printf("%s: %u peers, %llu edges as read, %llu distinct; read %.3f s, graph %.3f s; %s written in %.3f s\n",
              in.c_str(), read->peers, static_cast<unsigned long long>(read->edges.size()),
              static_cast<unsigned long long>(g.edges()), read_s, graph_s, out.c_str(), seconds(start));
  return 0;
}

void add_sweep(CLI::App& app) {
  CLI::App* sweep = app.add_subcommand(
      "sweep",
      "Runs one simulation per combination of the varied keys and seed, each in a process of its own (one "
      "event-loop thread each), with a progress line; writes each point's report to DIR/point-NNNNN.txt and its "
      "results to DIR/point-NNNNN.csv, then merges them into DIR/sweep.csv and SVG plots. The flags of a run "
      "(--scenario, --peers, --set, ...) set what every point starts from.");
  apps::configure(*sweep);
  apps::add_repeatable(*sweep, "--vary", "KEY=VALUES",
                       "a scenario key and its values, a,b,c or LO..HI (repeatable: every combination runs; "
                       "the first --vary changes slowest)")
      ->required();
  apps::add_value(*sweep, "--seeds", "N", "runs of each combination, with seeds from the run's seed on (default 1)")
      ->check(CLI::Range(1, 10'000));
  apps::add_value(*sweep, "--jobs", "J", "points run at once (default " + std::to_string(sim::usable_processors()) +
                        ": one per processor this process may use, its affinity mask and CPU quota)")
      ->check(CLI::Range(1, 1'024));
  apps::add_value(*sweep, "--out", "DIR", "folder of the points, sweep.csv and the plots (default sweep-out)");
  apps::add_switch(*sweep, "--emit-commands",
                   "only print one command per point (for GNU parallel or a batch system; DIR/commands.txt "
                   "too), to be merged afterwards with `hearsay-sim merge DIR`");
  add_run_flags(*sweep, true);
}

void add_merge(CLI::App& app) {
  CLI::App* merge = app.add_subcommand(
      "merge", "Merges DIR/point-*.csv (the points of a sweep) into DIR/sweep.csv and draws the plots: "
               "success_vs_messages.svg, latency_vs_ttl.svg, messages_vs_ttl.svg, latency_vs_fanout.svg.");
  apps::configure(*merge);
  apps::add_value(*merge, "DIR", "", "the sweep's folder")->required();
}

void add_plot(CLI::App& app) {
  CLI::App* plot = app.add_subcommand(
      "plot", "Draws a line chart of any CSV table (e.g. bench/scale.sh's results) as SVG: one series per y "
              "column, or per value of --group.");
  apps::configure(*plot);
  apps::add_value(*plot, "FILE.csv", "", "the table")->required();
  apps::add_value(*plot, "--x", "COLUMN", "the column of the x axis")->required();
  apps::add_value(*plot, "--y", "COLUMN[,COLUMN...]", "the columns of the y axis")->required();
  apps::add_value(*plot, "--out", "FILE.svg", "the chart to write")->required();
  apps::add_value(*plot, "--group", "COLUMN", "one series per value of this column");
  apps::add_value(*plot, "--title", "TEXT", "the chart's title (default: Y against X)");
  apps::add_value(*plot, "--x-label", "TEXT", "the x axis' label (default: the column)");
  apps::add_value(*plot, "--y-label", "TEXT", "the y axis' label (default: the columns)");
}

void add_topology(CLI::App& app) {
  CLI::App* topology = app.add_subcommand(
      "topology", "Rewrites an edge list (text, or binary) in the binary form (sim/topology.hpp), which loads "
                  "about twice as fast, and prints the peers, the edges and the time taken.");
  apps::configure(*topology);
  apps::add_value(*topology, "--convert", "IN OUT", "the edge list to read and the binary file to write")
      ->required()
      ->expected(2);
}

}  // namespace

std::unique_ptr<CLI::App> make_command_line() {
  auto app = std::make_unique<CLI::App>(
      "Simulates a hearsay overlay (HyParView membership; searches by flooding, gossip, expanding rings or random "
      "walks) in virtual time, and prints a report: the scenario, overlay health, search results, traffic and a "
      "fingerprint. The report goes to stdout (the same seed and scenario give the same bytes); wall time, speed "
      "and memory go to stderr.",
      "hearsay-sim");
  apps::configure(*app);
  add_run_flags(*app, false);
  apps::add_switch(*app, "--list-keys", "list every scenario key with its type and meaning, and exit");
  add_sweep(*app);
  add_merge(*app);
  add_plot(*app);
  add_topology(*app);
  // tune parses its own flags (apps/sim/tune.cpp; main hands it the command line first): listed
  // here so that the program's help names it.
  app->add_subcommand("tune",
                      "Searches the varied keys for the settings that meet constraints at the best objective on a "
                      "budget of runs, and writes DIR/recommended.toml for hearsay-node (hearsay-sim tune --help).")
      ->prefix_command();
  // (after the subcommands, which would otherwise offer it too)
  app->set_help_all_flag("--help-all", "print the help of every subcommand too, and exit");
  app->require_subcommand(0, 1);
  app->footer(
      "Scenario keys: --list-keys, and sim/scenarios/default.toml, which documents each. A subcommand's flags: "
      "hearsay-sim SUBCOMMAND --help.\nExit status: 0; 2 for a bad flag, scenario key, value or file.");
  return app;
}

int run_subcommand(const CLI::App& sub) {
  const std::string& name = sub.get_name();
  if (name == "sweep") return sweep(sub);
  if (name == "merge") return run_merge(sub.get_option("DIR")->as<std::string>());
  if (name == "plot") return plot(sub);
  if (name == "topology") return topology(sub);
  return fail("no subcommand '" + name + "'");
}

int run_command(const std::vector<std::string>& args) {
  const auto app = make_command_line();
  const auto parsed = apps::parse(*app, args);
  if (!parsed) return apps::refuse(*app, parsed.error());
  if (*parsed == apps::parsed::help_printed) return 0;
  const CLI::App& sub = apps::chosen(*app);
  if (&sub == app.get()) return fail("run_command: no subcommand in the arguments");
  return run_subcommand(sub);
}

}  // namespace hearsay::sim_app

#pragma once
// hearsay-sim's command line (CLI11) and its subcommands: sweep and merge (many simulation
// points in parallel processes, one CSV), plot, topology.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "overlay/result.hpp"
#include "sim/scenario.hpp"

namespace CLI {
class App;
}

namespace hearsay::sim_app {

struct run_options {
  std::string json_path;
  std::string csv_path;
  std::string queries_csv_path;  // one row per query
  std::string html_path;  // the report as one self-contained HTML page
  std::string point;  // label of a sweep point, written into the CSV row
  bool per_query = false;
};

// The flags of a single run (--scenario, --peers, --set, --json, ...), added to a command:
// the plain run, or (for_sweep) the sweep's base flags, where --json, --csv, --point and
// --per-query are refused (check_sweep_run_flags), since the sweep sets them per point.
void add_run_flags(CLI::App& app, bool for_sweep);
result<> check_sweep_run_flags(const CLI::App& sweep);

// Parses the flags of a single run (shared by the plain run and the sweep's validation) into
// s and opt, in the order given, or says which flag is wrong and why.
result<> parse_run_args(const std::vector<std::string>& args, sim::scenario& s, run_options& opt);

// hearsay-sim's whole command line: the flags of a run, --list-keys, and the subcommands
// sweep, merge, plot and topology, each with its own flags and generated --help.
std::unique_ptr<CLI::App> make_command_line();

// Runs the subcommand a parsed command line chose; the exit status (2 with a message on
// stderr when it fails).
int run_subcommand(const CLI::App& sub);

// Parses args (without the program's name) as hearsay-sim's command line and runs the
// subcommand they name (merge, plot, topology; not a simulation): for tools and tests.
int run_command(const std::vector<std::string>& args);

// One sweep point: the flags that make it, and its label.
struct sweep_point {
  std::vector<std::string> args;
  std::string label;
};

// Expands "--vary KEY=VALUES" specs (VALUES: "a,b,c" or "LO..HI") and a seed count into the
// points of the sweep, in a fixed order (the first --vary changes slowest, seeds fastest).
result<std::vector<sweep_point>> expand_sweep(const std::vector<std::pair<std::string, std::string>>& vary,
                                              std::uint32_t seeds, std::uint64_t base_seed);

// The values of a --vary list, "a,b,c" or "LO..HI" (at most 10,001 integers), in order.
result<std::vector<std::string>> values_of(const std::string& spec);
// A word as a POSIX shell reads it back (quoted only when it must be).
std::string shell_quote(const std::string& s);
// This program's own path, to start points with.
std::string self_path();

// A simulation to run as a process of its own: its command line (argv[0] the program), where
// its output goes, and a label for messages.
struct process {
  std::vector<std::string> argv;
  std::string stdout_path;
  std::string stderr_path;
  std::string label;
};

// Runs the processes, at most `jobs` at once, with a progress line on stderr ("WHAT: 3/12
// UNIT done, ..."); returns the indices of those that did not exit with status 0, in order.
// Fails only when a process cannot be started.
result<std::vector<std::size_t>> run_processes(const std::vector<process>& list, unsigned jobs,
                                               const std::string& what, const std::string& unit);

// `hearsay-sim sweep`: the points of --vary x seeds, each run as a process of its own, at most
// `jobs` at once, then merged (or, with emit_commands, only printed as commands).
struct sweep_options {
  std::vector<std::pair<std::string, std::string>> vary;  // key, values
  std::uint32_t seeds = 1;
  unsigned jobs = 1;
  std::string out_dir = "sweep-out";
  bool emit_commands = false;
  std::vector<std::string> base;  // the flags of a run every point starts from
};
int run_sweep(const sweep_options& o);
// `hearsay-sim merge DIR`: DIR/point-*.csv into DIR/sweep.csv, and the standard plots.
int run_merge(const std::string& dir);
// `hearsay-sim plot FILE.csv --x COL --y COL[,COL] --out FILE.svg`: a line chart of any CSV
// table (one series per y column, or per value of `group`), e.g. bench/scale.sh's results.
struct plot_options {
  std::string csv, x, y, out, group, title, x_label, y_label;
};
int run_plot(const plot_options& o);

}  // namespace hearsay::sim_app

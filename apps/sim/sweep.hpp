#pragma once
// hearsay-sim sweep / merge: many simulation points in parallel processes, one CSV.

#include <cstdint>
#include <string>
#include <vector>

#include "overlay/result.hpp"
#include "sim/scenario.hpp"

namespace hearsay::sim_app {

struct run_options {
  std::string json_path;
  std::string csv_path;
  std::string queries_csv_path;  // one row per query
  std::string html_path;  // the report as one self-contained HTML page
  std::string point;  // label of a sweep point, written into the CSV row
  bool per_query = false;
};

// Parses the flags of a single run (shared by the plain run and the sweep's validation) into
// s and opt, or says which flag is wrong and why.
result<> parse_run_args(const std::vector<std::string>& args, sim::scenario& s, run_options& opt);

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

int run_sweep(const std::vector<std::string>& args);

int run_merge(const std::vector<std::string>& args);
// `hearsay-sim plot FILE.csv --x COL --y COL[,COL] --out FILE.svg`: a line chart of any CSV
// table (one series per y column, or per value of --group), e.g. bench/scale.sh's results.
int run_plot(const std::vector<std::string>& args);

}  // namespace hearsay::sim_app

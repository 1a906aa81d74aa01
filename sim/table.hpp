#pragma once
// Results as rows of a table, for sweeps: one CSV row per simulation run, merging of rows
// from many runs, and reading them back for plots.

#include <map>
#include <string>
#include <vector>

#include "overlay/result.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

namespace hearsay::sim {

// The CSV header and one row describing a run (scenario columns, then results).
std::string csv_header();
std::string csv_row(const scenario& s, const run_results& r, const std::string& point);

// One row per query: origin, file, issue time, first and k-th hit, hops, hits, messages,
// duplicates, peers reached, and its download: outcome, start, time to file, sizes and
// failovers (times in microseconds of virtual time from the issue; -1 when none).
std::string csv_queries(const run_results& r);

// A parsed CSV table (no quoting: fields never contain commas or newlines).
struct table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  int column(const std::string& name) const;  // -1 when absent
  double number(std::size_t row, const std::string& name) const;  // NaN when absent or not numeric
  static result<table> parse(const std::string& text);
};

}  // namespace hearsay::sim

#pragma once
// Line charts as SVG, written here so that a sweep's trade-offs can be seen at a glance on
// any machine, without a plotting package. Deterministic: the same data, the same bytes.

#include <string>
#include <utility>
#include <vector>

#include "sim/table.hpp"

namespace hearsay::sim {

struct series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // drawn in x order
  bool line = true;  // false: the points alone (a scatter)
};

std::string svg_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                      std::vector<series> data);

// A histogram of values as SVG bars: about `bins` bins of a round width from the smallest
// value to the largest, each bar's height the number of values in it (empty values: an empty
// chart that says so).
std::string svg_histogram(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<double>& values, std::size_t bins = 20);

// Groups rows by `group` (one series per value) and plots y against x, averaging rows that
// share the group and x (several seeds of one point).
std::vector<series> series_from(const table& t, const std::string& x, const std::string& y, const std::string& group);

}  // namespace hearsay::sim

#pragma once
// Reports as one self-contained HTML page each: inline CSS and inline SVG charts, no script, no
// external resource, so the file can be mailed, archived or opened from a cluster's shared disk
// and read as it is. Deterministic, like the text report: equal runs give equal bytes.
//
// A run's page (format_html) holds the text report's sections as tables (one source for both,
// so they never disagree) and the charts the terminal cannot show: the distribution of the
// time to first hit (histogram and cumulative share), the hops to first hit, and, when the run
// samples the overlay over time (churn), the peers running, the largest component and the
// success of each interval. A sweep's page (format_sweep_html) holds its charts and its table.
// Every chart has a one-line caption saying how to read it.

#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/simulator.hpp"
#include "sim/table.hpp"

namespace hearsay::sim {

std::string format_html(const scenario& s, const run_results& r);

struct html_chart {
  std::string svg;      // an SVG document (svg_chart, svg_histogram)
  std::string caption;  // how to read it, one line
};

// A page with a title, an introduction (plain text), charts and a table (e.g. sweep.csv), and
// a report in fixed-width text when one is given (a tune's, with its recommendation).
std::string format_sweep_html(const std::string& title, const std::string& intro,
                              const std::vector<html_chart>& charts, const table& t,
                              const std::string& report = {});

// Text made safe for HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace hearsay::sim

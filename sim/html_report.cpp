// HTML pages of a run and of a sweep (see html_report.hpp).

#include "sim/html_report.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "sim/plot.hpp"
#include "sim/report.hpp"

namespace hearsay::sim {

namespace {

constexpr const char* style = R"(body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums}
td,th{padding:.15em .8em .15em 0;text-align:left;vertical-align:top}th{border-bottom:1px solid #999}
td.n{text-align:right}table.kv td:first-child{color:#555;white-space:nowrap}
table.grid td,table.grid th{border-bottom:1px solid #eee;padding-left:.6em}
figure{margin:1.2em 0}figcaption{color:#444;font-size:.95em;max-width:720px}
svg{max-width:100%;height:auto}.note{color:#555}code{background:#f4f4f4;padding:0 .2em})";

// The cells of a report line: its text split at runs of two or more spaces.
std::vector<std::string> cells_of(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = line.find_first_not_of(' ');
  while (i != std::string_view::npos && i < line.size()) {
    std::size_t end = line.find("  ", i);
    if (end == std::string_view::npos) end = line.size();
    out.emplace_back(line.substr(i, end - i));
    i = line.find_first_not_of(' ', end);
  }
  return out;
}

std::size_t indent_of(std::string_view line) {
  const std::size_t i = line.find_first_not_of(' ');
  return i == std::string_view::npos ? line.size() : i;
}

bool numeric(const std::string& cell) {
  return !cell.empty() && cell.find_first_not_of("0123456789.-+%") == std::string::npos;
}

std::string cell(const std::string& text, const char* tag = "td") {
  std::string out = std::string("<") + tag + (numeric(text) ? " class=\"n\">" : ">");
  return out + html_escape(text) + "</" + tag + ">";
}

// A block of lines that is a table of its own: a header line whose cells name the columns,
// and rows with as many cells.
std::string grid(const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table class=\"grid\"><thead><tr>";
  for (const auto& c : rows.front()) out += cell(c, "th");
  out += "</tr></thead><tbody>\n";
  for (std::size_t i = 1; i < rows.size(); ++i) {
    out += "<tr>";
    for (const auto& c : rows[i]) out += cell(c);
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

// One section of the text report (its heading line, then its indented lines) as HTML: a grid
// when every line has the header's number of cells (the results, the samples over time), else
// a table of names and values, with any indented block under a line (the structure beside a
// random graph's) as a grid of its own.
std::string section_html(const std::string& heading, const std::vector<std::string>& lines) {
  std::string out = "<section>\n<h2>" + html_escape(heading) + "</h2>\n";
  std::vector<std::vector<std::string>> split;
  for (const auto& l : lines) split.push_back(cells_of(l));
  const bool uniform = split.size() > 1 && split.front().size() >= 2 &&
                       std::all_of(split.begin(), split.end(), [&](const auto& c) { return c.size() == split.front().size(); }) &&
                       std::none_of(split.front().begin(), split.front().end(), numeric) &&
                       std::all_of(split.begin() + 1, split.end(),
                                   [](const auto& c) { return std::any_of(c.begin(), c.end(), numeric); }) &&
                       std::all_of(lines.begin(), lines.end(), [&](const auto& l) { return indent_of(l) <= indent_of(lines.front()) + 8; });
  if (uniform) return out + grid(split) + "</section>\n";
  out += "<table class=\"kv\">\n";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t depth = indent_of(lines[i]);
    // A line followed by deeper lines heads a block of its own.
    std::size_t j = i + 1;
    while (j < lines.size() && indent_of(lines[j]) > depth) ++j;
    if (j > i + 1) {
      std::vector<std::vector<std::string>> block{split[i]};
      for (std::size_t k = i + 1; k < j; ++k) block.push_back(split[k]);
      // The header's last cell may be a note in brackets: keep it out of the columns.
      std::string note;
      if (block.front().size() > block[1].size()) {
        note = block.front().back();
        block.front().pop_back();
      }
      out += "<tr><td>" + html_escape(block.front().front()) + "</td><td>";
      block.front().front().clear();
      out += grid(block);
      if (!note.empty()) out += "<div class=\"note\">" + html_escape(note) + "</div>";
      out += "</td></tr>\n";
      i = j - 1;
      continue;
    }
    const std::string text = lines[i].substr(depth);
    const std::size_t gap = text.find("  ");
    if (gap == std::string::npos) {
      out += "<tr><td colspan=\"2\">" + html_escape(text) + "</td></tr>\n";
    } else {
      out += "<tr><td>" + html_escape(text.substr(0, gap)) + "</td><td>" +
             html_escape(text.substr(text.find_first_not_of(' ', gap))) + "</td></tr>\n";
    }
  }
  return out + "</table>\n</section>\n";
}

// The text report's sections (heading at the margin, body indented), the fingerprint line
// apart.
std::string sections_html(const std::string& report, std::string& title, std::string& fingerprint) {
  std::string out;
  std::string heading;
  std::vector<std::string> body;
  auto flush = [&] {
    if (!heading.empty()) out += section_html(heading, body);
    heading.clear();
    body.clear();
  };
  std::size_t start = 0;
  while (start < report.size()) {
    std::size_t end = report.find('\n', start);
    if (end == std::string::npos) end = report.size();
    const std::string line = report.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (line[0] != ' ') {
      flush();
      if (line.rfind("fingerprint: ", 0) == 0) {
        fingerprint = line.substr(13);
      } else if (title.empty()) {
        title = line;
      } else {
        heading = line;
      }
    } else if (!heading.empty()) {
      body.push_back(line);
    }
  }
  flush();
  return out;
}

std::string figure(const html_chart& c) {
  std::string svg = c.svg;
  if (svg.rfind("<?xml", 0) == 0) svg.erase(0, svg.find('\n') + 1);
  return "<figure>\n" + svg + "<figcaption>" + html_escape(c.caption) + "</figcaption>\n</figure>\n";
}

std::string page_head(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         html_escape(title) + "</title>\n<style>\n" + style + "\n</style>\n</head>\n<body>\n";
}

std::vector<html_chart> run_charts(const scenario& s, const run_results& r) {
  std::vector<html_chart> charts;
  std::vector<double> first_ms, hops;
  std::uint32_t issued = 0;
  for (const auto& q : r.queries) {
    if (q.id == 0) continue;
    ++issued;
    if (q.first_hit.count() < 0) continue;
    first_ms.push_back(static_cast<double>(q.first_hit.count()) / 1000.0);
    hops.push_back(q.first_hit_hops);
  }
  charts.push_back({svg_histogram("Time to first hit", "time to first hit (ms)", "searches", first_ms),
                    "Each bar counts the searches whose first hit came back within its interval of time: the further "
                    "left the bulk, the sooner searches succeed; searches without a hit are not drawn."});
  std::sort(first_ms.begin(), first_ms.end());
  series cdf{"answered", {}};
  for (std::size_t i = 0; i < first_ms.size(); ++i) {
    if (i + 1 < first_ms.size() && first_ms[i + 1] == first_ms[i]) continue;
    cdf.points.emplace_back(first_ms[i], 100.0 * static_cast<double>(i + 1) / std::max<std::uint32_t>(1, issued));
  }
  charts.push_back({svg_chart("Share of searches answered, by time", "time to first hit (ms)", "searches with a hit (%)",
                              {cdf}),
                    "The height at time t is the share of all searches that had a first hit by t; where the curve ends "
                    "on the right is the success rate."});
  charts.push_back({svg_histogram("Hops to first hit", "hops", "searches", hops,
                                  std::max<std::size_t>(1, std::min<std::size_t>(20, hops.empty() ? 1 : static_cast<std::size_t>(
                                                                                        *std::max_element(hops.begin(), hops.end()))))),
                    "How far the first hit's holder was from the searcher, in overlay hops: compare it with the TTL (" +
                        std::to_string(s.node.search.ttl) + ") to see how much of the TTL searches needed."});
  if (!r.over_time.empty()) {
    series running{"running", {}}, component{"component", {}},
        success{"success", {}};
    for (std::size_t i = 0; i < r.over_time.size(); ++i) {
      const auto& smp = r.over_time[i];
      const double t = static_cast<double>(smp.at.count()) / 1e6;
      running.points.emplace_back(t, smp.peers_running);
      component.points.emplace_back(
          t, smp.peers_running == 0 ? 0.0 : 100.0 * smp.largest_component / static_cast<double>(smp.peers_running));
      // The searches issued from this sample to the next.
      const auto [n, ok] = interval_queries(r, i);
      if (n > 0) success.points.emplace_back(t, 100.0 * ok / n);
    }
    charts.push_back({svg_chart("Peers running over time", "time since the first search (s)", "peers", {running}),
                      "How many peers were up at each sample: churn takes them down and brings them back."});
    charts.push_back({svg_chart("Connectivity and success over time", "time since the first search (s)", "%",
                                {component, success}),
                      "The share of running peers in the largest connected part of the overlay, and the share of the "
                      "searches issued in each interval that found a hit: a drop in the first usually shows in the second."});
  }
  return charts;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_html(const scenario& s, const run_results& r) {
  std::string title, fp;
  const std::string sections = sections_html(format_report(s, r), title, fp);
  std::string out = page_head(title + " report");
  out += "<h1>" + html_escape(title) + "</h1>\n";
  out += "<p class=\"note\">A simulation of " + std::to_string(s.peers) +
         " peers in virtual time. The tables are those of the text report; the charts below them show the "
         "distributions it summarises. Fingerprint <code>" +
         html_escape(fp) + "</code>: the same seed and scenario give the same page.</p>\n";
  out += sections;
  out += "<section>\n<h2>charts</h2>\n";
  for (const auto& c : run_charts(s, r)) out += figure(c);
  out += "</section>\n</body>\n</html>\n";
  return out;
}

std::string format_sweep_html(const std::string& title, const std::string& intro,
                              const std::vector<html_chart>& charts, const table& t, const std::string& report) {
  std::string out = page_head(title);
  out += "<h1>" + html_escape(title) + "</h1>\n<p class=\"note\">" + html_escape(intro) + "</p>\n";
  if (!report.empty()) out += "<section>\n<h2>report</h2>\n<pre>" + html_escape(report) + "</pre>\n</section>\n";
  if (!charts.empty()) {
    out += "<section>\n<h2>charts</h2>\n";
    for (const auto& c : charts) out += figure(c);
    out += "</section>\n";
  }
  out += "<section>\n<h2>table</h2>\n";
  std::vector<std::vector<std::string>> rows{t.columns};
  rows.insert(rows.end(), t.rows.begin(), t.rows.end());
  out += "<div style=\"overflow-x:auto\">" + grid(rows) + "</div>\n</section>\n</body>\n</html>\n";
  return out;
}

}  // namespace hearsay::sim

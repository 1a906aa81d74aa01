// The HTML pages of a run and of a sweep (sim/html_report.hpp).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sim/html_report.hpp"
#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"
#include "sim/table.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

scenario small_run() {
  scenario s;
  s.peers = 400;
  s.stabilize = micros{10'000'000};
  s.files = 50;
  s.replication = 8;
  s.queries = 60;
  return s;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The sum of the bar counts of the page's first histogram ("<title>A to B: N</title>").
std::uint64_t first_histogram_total(const std::string& page) {
  const std::size_t from = page.find("<figure>");
  const std::size_t to = page.find("</figure>", from);
  const std::string fig = page.substr(from, to - from);
  // (Read by hand: GCC 12 warns falsely inside std::regex in the sanitizer build.)
  std::uint64_t total = 0;
  const std::string end = "</title>";
  for (std::size_t at = fig.find(end); at != std::string::npos; at = fig.find(end, at + end.size())) {
    const std::size_t colon = fig.rfind(": ", at);
    if (colon == std::string::npos) continue;
    total += std::stoull(fig.substr(colon + 2, at - colon - 2));
  }
  return total;
}

}  // namespace

TEST_CASE("html_escape makes any text safe in element content and attributes", "[sim][html]") {
  CHECK(html_escape("<img src=x onerror=alert(1)>.txt") == "&lt;img src=x onerror=alert(1)&gt;.txt");
  CHECK(html_escape("a & \"b\" 'c'") == "a &amp; &quot;b&quot; &#39;c&#39;");
  CHECK(html_escape("plain") == "plain");
}

TEST_CASE("a run's HTML page: the text report's sections as tables, charts with captions, nothing external",
          "[sim][html]") {
  const scenario s = small_run();
  simulator sim(s);
  const run_results r = sim.run();
  const std::string text = format_report(s, r);
  const std::string page = format_html(s, r);

  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("</html>") != std::string::npos);
  // Self-contained and readable without scripts.
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("src=") == std::string::npos);
  CHECK(page.find("href=") == std::string::npos);
  CHECK(count_of(page, "<table") >= 4);
  for (const char* heading : {"scenario", "overlay health (when the queries start)", "search results",
                              "traffic (all peers, whole run)"}) {
    INFO(heading);
    CHECK(text.find(std::string("\n") + heading + "\n") != std::string::npos);
    CHECK(page.find(std::string("<h2>") + heading + "</h2>") != std::string::npos);
  }
  // The results table holds the text report's figures.
  const summary m = summarize(s, r);
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.2f%%", m.success_rate * 100);
  CHECK(page.find(std::string("<td>success rate</td><td class=\"n\">") + rate + "</td>") != std::string::npos);
  // The fingerprint of the text report, and the same bytes for the same run.
  const std::string fp = text.substr(text.find("fingerprint: ") + 13, 16);
  CHECK(page.find("<code>" + fp + "</code>") != std::string::npos);
  simulator again(s);
  CHECK(format_html(s, again.run()) == page);

  // Three charts without churn, each captioned; the first hit's histogram counts every search
  // that had a hit.
  CHECK(count_of(page, "<figure>") == 3);
  CHECK(count_of(page, "<figcaption>") == 3);
  CHECK(count_of(page, "<svg") == 3);
  CHECK(first_histogram_total(page) == m.succeeded);
  CHECK(m.succeeded > 0);
}

TEST_CASE("a run under churn also charts the peers, the component and the success over time", "[sim][html]") {
  scenario s = small_run();
  REQUIRE(set_key(s, "churn.sessions", "exp:30").ok());
  REQUIRE(set_key(s, "churn.report_interval_s", "1").ok());
  s.query_interval = micros{100'000};
  simulator sim(s);
  const run_results r = sim.run();
  REQUIRE(r.over_time.size() > 2);
  const std::string page = format_html(s, r);
  CHECK(count_of(page, "<figure>") == 5);
  CHECK(page.find("Peers running over time") != std::string::npos);
  CHECK(page.find("<h2>over time (from the first query)</h2>") != std::string::npos);
  // The samples' table: a header and one row per sample.
  const std::size_t at = page.find("<h2>over time");
  const std::string section = page.substr(at, page.find("</section>", at) - at);
  CHECK(count_of(section, "<tr>") == r.over_time.size() + 1);
}

TEST_CASE("a sweep's HTML page holds its charts and its whole table, escaped", "[sim][html]") {
  auto t = table::parse("fanout,ttl,label\n2,3,<b>x</b>\n4,5,y\n");
  REQUIRE(t.ok());
  const std::string page =
      format_sweep_html("a sweep", "two points", {{"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n", "read me"}}, *t);
  CHECK(page.find("<h1>a sweep</h1>") != std::string::npos);
  CHECK(page.find("<figcaption>read me</figcaption>") != std::string::npos);
  CHECK(count_of(page, "<tr>") == 3);
  CHECK(page.find("&lt;b&gt;x&lt;/b&gt;") != std::string::npos);
  CHECK(page.find("<b>x</b>") == std::string::npos);
}

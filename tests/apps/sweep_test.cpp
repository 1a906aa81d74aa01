// Sweeps: point expansion, result tables, and charts.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "apps/sim/sweep.hpp"
#include "sim/plot.hpp"
#include "sim/simulator.hpp"
#include "sim/table.hpp"

using namespace hearsay;

TEST_CASE("a sweep expands to every combination and seed, in a fixed order", "[apps][sweep]") {
  const auto expanded = sim_app::expand_sweep({{"overlay.fanout", "1..3"}, {"overlay.ttl", "4,7"}}, 2, 10);
  REQUIRE(expanded.ok());
  const auto& points = *expanded;
  REQUIRE(points.size() == 12);
  CHECK(points[0].label == "overlay.fanout=1 overlay.ttl=4 seed=10");
  CHECK(points[1].label == "overlay.fanout=1 overlay.ttl=4 seed=11");
  CHECK(points[2].label == "overlay.fanout=1 overlay.ttl=7 seed=10");
  CHECK(points[11].label == "overlay.fanout=3 overlay.ttl=7 seed=11");
  CHECK(points[11].args == std::vector<std::string>{"--set", "overlay.fanout=3", "--set", "overlay.ttl=7", "--seed", "11"});
  const auto backwards = sim_app::expand_sweep({{"overlay.fanout", "5..2"}}, 1, 1);
  REQUIRE_FALSE(backwards.ok());
  CHECK(backwards.error().what() == "--vary overlay.fanout=5..2: expected a,b,c or LO..HI");
  CHECK_FALSE(sim_app::expand_sweep({{"overlay.fanout", "a,,b"}}, 1, 1).ok());
}

TEST_CASE("single-run flags are validated the same way for sweep points", "[apps][sweep]") {
  sim::scenario s;
  sim_app::run_options opt;
  CHECK(sim_app::parse_run_args({"--peers", "500", "--set", "overlay.fanout=3", "--csv", "x.csv"}, s, opt).ok());
  CHECK(s.peers == 500);
  CHECK(s.node.search.fanout == 3);
  CHECK(opt.csv_path == "x.csv");
  const auto zero = sim_app::parse_run_args({"--fanout", "0"}, s, opt);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().what().rfind("--fanout: overlay.fanout: ", 0) == 0);
  const auto unknown = sim_app::parse_run_args({"--nope"}, s, opt);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().what() == "unknown option '--nope'");
  CHECK_FALSE(sim_app::parse_run_args({"--set", "overlay.ttl=20"}, s, opt).ok());  // above ttl_max
}

TEST_CASE("result tables parse back, and charts average seeds per point", "[apps][sweep]") {
  const std::string text =
      "point,fanout,ttl,success_rate\n"
      "a,2,1,0.10\n"
      "b,2,1,0.20\n"
      "c,2,2,0.40\n"
      "d,4,1,0.30\n";
  const auto parsed = sim::table::parse(text);
  REQUIRE(parsed.ok());
  const sim::table& t = *parsed;
  CHECK(t.rows.size() == 4);
  CHECK(t.number(2, "success_rate") == Approx(0.4));
  CHECK(std::isnan(t.number(0, "missing")));
  const auto s = sim::series_from(t, "ttl", "success_rate", "fanout");
  REQUIRE(s.size() == 2);
  CHECK(s[0].name == "fanout 2");
  REQUIRE(s[0].points.size() == 2);
  CHECK(s[0].points[0].second == Approx(0.15));  // two seeds of (fanout 2, ttl 1) averaged
  CHECK(s[1].points.size() == 1);
  const auto svg = sim::svg_chart("t <1>", "x", "y", s);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("t &lt;1&gt;") != std::string::npos);
  std::size_t lines = 0;
  for (auto at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++lines;
  CHECK(lines == 2);
  CHECK(sim::svg_chart("t <1>", "x", "y", s) == svg);  // deterministic
  const auto bad = sim::table::parse("a,b\n1,2,3\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().what() == "line 2: 3 fields, expected 2");
}

TEST_CASE("per-query and summary CSV agree with the run", "[apps][sweep]") {
  sim::scenario s;
  s.peers = 400;
  s.stabilize = micros{10'000'000};
  s.queries = 30;
  sim::simulator sim(s);
  const auto r = sim.run();
  const auto per_query_parsed = sim::table::parse(sim::csv_queries(r));
  const auto summary_parsed = sim::table::parse(sim::csv_header() + sim::csv_row(s, r, "p"));
  REQUIRE(per_query_parsed.ok());
  REQUIRE(summary_parsed.ok());
  const sim::table& per_query = *per_query_parsed;
  const sim::table& summary = *summary_parsed;
  REQUIRE(per_query.rows.size() == 30);
  double ok = 0, messages = 0;
  for (std::size_t i = 0; i < per_query.rows.size(); ++i) {
    ok += per_query.number(i, "hits") > 0 ? 1 : 0;
    messages += per_query.number(i, "query_messages");
    CHECK(per_query.number(i, "issued_us") == static_cast<double>(r.queries[i].issued.count()));
  }
  CHECK(summary.number(0, "success_rate") == Approx(ok / 30).epsilon(1e-6));
  CHECK(summary.number(0, "query_messages") == Approx(messages / 30).epsilon(1e-4));
  CHECK(summary.number(0, "peers") == 400);
  // A single run has no point label: its row still has every column in place.
  const auto single_parsed = sim::table::parse(sim::csv_header() + sim::csv_row(s, r, ""));
  REQUIRE(single_parsed.ok());
  const sim::table& single = *single_parsed;
  CHECK(single.rows[0][0].empty());
  CHECK(single.number(0, "peers") == 400);
  CHECK(single.number(0, "success_rate") == Approx(ok / 30).epsilon(1e-6));
}

TEST_CASE("plot draws one line per y column of any CSV table and refuses unknown columns", "[apps][sweep]") {
  const auto dir = std::filesystem::absolute("plot-test");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto csv = (dir / "scale.csv").string();
  std::ofstream(csv) << "peers,wall_s,cpu_s\n10000,1.5,1.4\n100000,15,14\n1000000,160,150\n";
  const auto svg = (dir / "scale.svg").string();
  REQUIRE(sim_app::run_command({"plot", csv, "--x", "peers", "--y", "wall_s,cpu_s", "--out", svg, "--title", "growth"}) == 0);
  std::ifstream in(svg);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::size_t lines = 0;
  for (auto at = text.find("<polyline"); at != std::string::npos; at = text.find("<polyline", at + 1)) ++lines;
  CHECK(lines == 2);
  CHECK(text.find("growth") != std::string::npos);
  CHECK(text.find("cpu_s") != std::string::npos);
  CHECK(sim_app::run_command({"plot", csv, "--x", "peers", "--y", "nonsense", "--out", svg}) == 2);
  CHECK(sim_app::run_command({"plot", csv, "--x", "peers", "--out", svg}) == 2);
  CHECK(sim_app::run_command({"plot", (dir / "missing.csv").string(), "--x", "a", "--y", "b", "--out", svg}) == 2);
  std::filesystem::remove_all(dir);
}

// hearsay-sim tune: its intervals, constraints, and the [overlay] section it recommends.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apps/node/settings.hpp"
#include "apps/sim/tune.hpp"
#include "apps/sim/tune_stats.hpp"

using namespace hearsay;

TEST_CASE("tune's quantiles match the tables", "[apps][tune]") {
  CHECK(sim_app::normal_quantile(0.95) == Approx(1.959964).epsilon(1e-6));
  CHECK(sim_app::normal_quantile(0.99) == Approx(2.575829).epsilon(1e-6));
  // Student's t, two-sided 95 %: 12.706 (1), 4.303 (2), 2.228 (10), 2.042 (30).
  CHECK(sim_app::t_quantile(0.95, 1) == Approx(12.7062).epsilon(1e-4));
  CHECK(sim_app::t_quantile(0.95, 2) == Approx(4.3027).epsilon(1e-4));
  CHECK(sim_app::t_quantile(0.95, 10) == Approx(2.2281).epsilon(1e-4));
  CHECK(sim_app::t_quantile(0.95, 30) == Approx(2.0423).epsilon(1e-4));
  CHECK(sim_app::t_quantile(0.90, 5) == Approx(2.0150).epsilon(1e-4));
}

TEST_CASE("Wilson's interval stays inside [0, 1] and is not empty at the ends", "[apps][tune]") {
  const auto all = sim_app::wilson(400, 400, 0.95);
  CHECK(all.mean == 1);
  CHECK(all.hi == 1);
  // 400 / (400 + 1.96^2): enough queries that "every one succeeded" proves success >= 0.99.
  CHECK(all.lo == Approx(0.990488).epsilon(1e-5));
  const auto none = sim_app::wilson(0, 10, 0.95);
  CHECK(none.lo == 0);
  CHECK(none.hi == Approx(0.277535).epsilon(1e-5));
  const auto half = sim_app::wilson(50, 100, 0.95);
  CHECK(half.lo == Approx(0.403832).epsilon(1e-5));
  CHECK(half.hi == Approx(0.596168).epsilon(1e-5));
}

TEST_CASE("the t interval needs two samples to be bounded", "[apps][tune]") {
  const auto one = sim_app::t_interval({3.0}, 0.95);
  CHECK(one.mean == 3);
  CHECK(std::isinf(one.lo));
  CHECK(std::isinf(one.hi));
  const auto three = sim_app::t_interval({1, 2, 3}, 0.95);
  CHECK(three.mean == 2);
  // Standard error 1/sqrt(3), t(2) = 4.303.
  CHECK(three.hi - three.mean == Approx(4.302653 / std::sqrt(3.0)).epsilon(1e-5));
}

TEST_CASE("constraints name a numeric column of sweep.csv and a bound", "[apps][tune]") {
  const auto c = sim_app::parse_constraint("success_rate >= 0.99");
  REQUIRE(c.ok());
  CHECK(c->column == "success_rate");
  CHECK(c->at_least);
  CHECK(c->bound == 0.99);
  CHECK(c->text() == "success_rate >= 0.99");
  const auto tight = sim_app::parse_constraint("first_hit_p95_ms<=500");
  REQUIRE(tight.ok());
  CHECK_FALSE(tight->at_least);
  CHECK(tight->bound == 500);
  CHECK_FALSE(sim_app::parse_constraint("success_rate > 0.99").ok());
  CHECK_FALSE(sim_app::parse_constraint("success_rate >= high").ok());
  CHECK_FALSE(sim_app::parse_constraint("latency >= 1").ok());  // a text column
  const auto unknown = sim_app::parse_constraint("succes_rate >= 0.9");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().what().rfind("'succes_rate' is no numeric column of sweep.csv", 0) == 0);
  CHECK(sim_app::rising_column("success_rate"));
  CHECK(sim_app::rising_column("query_messages"));
  CHECK_FALSE(sim_app::rising_column("first_hit_p95_ms"));
}

TEST_CASE("the recommended [overlay] section is what the node reads", "[apps][tune]") {
  const auto dir = std::filesystem::temp_directory_path() / "hearsay-tune-test";
  std::filesystem::create_directories(dir);
  const auto scenario = dir / "s.toml";
  std::ofstream(scenario) << "peers = 500\n[overlay]\nview_size_passive = 40\nreply_direct = true\n";
  const auto section = sim_app::overlay_section(
      {"--scenario", scenario.string(), "--fanout", "4", "--set", "overlay.ttl_max=64", "--set", "workload.queries=9"},
      {{"overlay.ttl", "25"}, {"overlay.strategy", "gossip"}, {"topology", "ring:2"}});
  REQUIRE(section.ok());
  // The key table's order; scenario keys that are no node settings left out.
  CHECK(*section ==
        "[overlay]\nview_size_passive = 40\nstrategy = \"gossip\"\nfanout = 4\nttl = 25\nttl_max = 64\nreply_direct = "
        "true\n");
  app::node_settings s;
  REQUIRE(app::load_settings_text(*section, "recommended.toml", s));
  CHECK(s.net.overlay.search.ttl == 25);
  CHECK(s.net.overlay.search.fanout == 4);
  CHECK(s.net.overlay.membership.view_size_passive == 40);
  CHECK(s.net.overlay.search.reply_direct);
  CHECK(app::validate(s));
  // A point no node could run is refused rather than written.
  const auto too_far = sim_app::overlay_section({}, {{"overlay.ttl", "25"}});
  REQUIRE_FALSE(too_far.ok());
  CHECK(too_far.error().what() == "overlay.ttl must not exceed overlay.ttl_max");
  std::filesystem::remove_all(dir);
}

namespace {

// A model of a flood with a known optimum: a query reaches fanout^ttl peers, and finds its file
// with probability 1 - exp(-reached / 50). success_rate >= 0.99 needs fanout^ttl >= 50 ln 100 =
// 230.3; over TTL 1..12 and fan-out 1..6 the cheapest point that gets there is 3^5 = 243 (then
// 2^8 = 4^4 = 256). Its success rate, 0.9923, is close enough to 0.99 that two seeds of 1,000
// queries cannot decide it.
std::map<std::string, double> flood_model(const std::vector<std::pair<std::string, std::string>>& point) {
  double ttl = 0, fanout = 0;
  for (const auto& [key, value] : point) {
    if (key == "overlay.ttl") ttl = std::stod(value);
    if (key == "overlay.fanout") fanout = std::stod(value);
  }
  const double reached = std::pow(fanout, ttl);
  return {{"queries", 1000},
          {"success_rate", 1 - std::exp(-reached / 50)},
          {"query_messages", reached},
          {"first_hit_p95_ms", 100 * ttl}};
}

const std::vector<std::string> flood_args = {"--vary",     "overlay.ttl=1..12",  "--vary",       "overlay.fanout=1..6",
                                             "--set",      "overlay.ttl_max=12", "--constraint", "success_rate >= 0.99",
                                             "--minimize", "query_messages"};

sim_app::tune_model model_of_flood() {
  return [](const auto& point, std::uint64_t, const std::string&) { return flood_model(point); };
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_CASE("tune finds a known optimum in fewer runs than the grid, adding seeds where it must", "[apps][tune]") {
  const auto found = sim_app::tune_with_model(with(flood_args, {"--budget", "80"}), model_of_flood());
  REQUIRE(found.ok());
  using kv = std::pair<std::string, std::string>;
  CHECK(found->chosen == std::vector<kv>{{"overlay.ttl", "5"}, {"overlay.fanout", "3"}});
  CHECK(found->seeds > 2);                       // 0.9923 against 0.99: more queries to decide
  CHECK(found->search_runs < 72 * 2);            // the grid: 72 points, two seeds each
  CHECK(found->runs == found->search_runs + 3);  // and the hold-out
  CHECK_FALSE(found->budget_ran_out);
  // Determinism: the plan depends on the arguments and the results only.
  const auto again = sim_app::tune_with_model(with(flood_args, {"--budget", "80"}), model_of_flood());
  REQUIRE(again.ok());
  CHECK(again->chosen == found->chosen);
  CHECK(again->runs == found->runs);
  INFO("search runs: " << found->search_runs << ", points: " << found->points);
}

TEST_CASE("tune without monotone keys runs the grid coarsest first, and says when the budget ran out", "[apps][tune]") {
  const auto whole =
      sim_app::tune_with_model(with(flood_args, {"--budget", "300", "--monotone", "none"}), model_of_flood());
  REQUIRE(whole.ok());
  CHECK(whole->chosen ==
        std::vector<std::pair<std::string, std::string>>{{"overlay.ttl", "5"}, {"overlay.fanout", "3"}});
  CHECK(whole->points == 72);
  CHECK_FALSE(whole->budget_ran_out);
  const auto short_of_runs = sim_app::tune_with_model(with(flood_args, {"--budget", "12"}), model_of_flood());
  REQUIRE(short_of_runs.ok());
  CHECK(short_of_runs->budget_ran_out);
  CHECK(short_of_runs->runs <= 12);
}

TEST_CASE("tune infers along monotone keys from costs capped, and recommends nothing infeasible", "[apps][tune]") {
  // No point reaches 230 peers with at most 200 messages: nothing to recommend, and the cap,
  // once failed, rules out every point above without running it.
  const auto none = sim_app::tune_with_model(
      with(flood_args, {"--budget", "200", "--constraint", "query_messages <= 200"}), model_of_flood());
  REQUIRE(none.ok());
  CHECK(none->chosen.empty());
  CHECK(none->points < 72);
  // Bad arguments are refused with the reason.
  const auto bad = sim_app::tune_with_model({"--vary", "overlay.ttl=1..3", "--minimize", "nothing"}, model_of_flood());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().what() == "objective: 'nothing' is no numeric column of sweep.csv");
}

TEST_CASE("a choice its hold-out does not confirm gives way to the next best point", "[apps][tune]") {
  // The best point of the search fails on fresh seeds (as an overlay that was lucky on its own
  // seeds would): the next best is held out in its place.
  const auto model = [](const auto& point, std::uint64_t, const std::string& variant) {
    auto values = flood_model(point);
    if (variant == "holdout" && point[0].second == "5" && point[1].second == "3") values["success_rate"] = 0.5;
    return values;
  };
  const auto found = sim_app::tune_with_model(with(flood_args, {"--budget", "80"}), model);
  REQUIRE(found.ok());
  REQUIRE(found->chosen.size() == 2);
  CHECK_FALSE((found->chosen[0].second == "5" && found->chosen[1].second == "3"));
  CHECK(found->runs == found->search_runs + 6);  // two hold-outs
}

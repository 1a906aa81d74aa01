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

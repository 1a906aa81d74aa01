// The compact engine (sim/compact.cpp) against the node engine: the same scenario on both (and
// on the compact engine's two workers) must give the same report, byte for byte, over strategies, topologies, latency laws, loss,
// partitions, budgets that bind and limits on hits; and the runs it cannot hold go to nodes,
// or are refused with the reason when it is asked for by name.

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

scenario base() {
  scenario s;
  s.peers = 1'500;
  s.topology.parse("er:8").ignore();
  s.files = 300;
  s.replication = 6;
  s.queries = 120;
  s.query_interval = micros{20'000};
  return s;
}

// Sets each "key=value" on s, failing the test on a bad one.
scenario with(std::vector<std::pair<std::string, std::string>> settings) {
  scenario s = base();
  for (const auto& [key, value] : settings) REQUIRE(set_key(s, key, value).ok());
  return s;
}

struct both {
  std::string nodes, compact, compact_threads;
  run_results compact_results;
};

both run_both(scenario s) {
  both out;
  s.engine = scenario::engine_kind::nodes;
  {
    simulator sim(s);
    REQUIRE_FALSE(sim.compact());
    out.nodes = format_report(s, sim.run());
  }
  s.engine = scenario::engine_kind::compact;
  {
    simulator sim(s);
    REQUIRE(sim.compact());
    out.compact_results = sim.run();
    out.compact = format_report(s, out.compact_results);
  }
  // Two workers (windows of the minimum link latency; one when the model has none).
  s.threads = 2;
  simulator sim(s);
  REQUIRE(sim.compact());
  out.compact_threads = format_report(s, sim.run());
  return out;
}

}  // namespace

TEST_CASE("compact engine: the same report as whole nodes, byte for byte", "[sim][compact]") {
  const std::vector<std::vector<std::pair<std::string, std::string>>> cases = {
      {{"overlay.fanout", "64"}},  // flood to every neighbour
      {{"overlay.fanout", "3"}, {"topology", "regular:6"}},
      {{"overlay.strategy", "gossip"}, {"overlay.gossip_percent", "40"}, {"topology", "kout:3"}},
      {{"overlay.strategy", "expanding_ring"}, {"overlay.ttl", "6"}, {"topology", "ba:3"}, {"workload.hits_wanted", "3"}},
      {{"network.latency", "constant:50"}, {"overlay.fanout", "64"}},  // ties broken by keys
      {{"network.latency", "regions:ec2"}, {"overlay.fanout", "5"}},
      {{"network.latency", "lognormal:40:0.5"}, {"overlay.fanout", "4"}},
      {{"network.loss", "0.05"}, {"overlay.fanout", "4"}},
      {{"network.partition_at_s", "1"}, {"network.partition_duration_s", "1"}, {"network.partition_fraction", "0.5"}},
      {{"overlay.hits_per_query_max", "2"}, {"workload.replication", "150"}},
      {{"overlay.query_timeout_ms", "150"}, {"overlay.fanout", "64"}},  // hits after the search closed
      {{"overlay.ttl", "12"}, {"overlay.ttl_max", "4"}, {"topology", "ring:2"}},
      {{"workload.popularity", "zipf:0.8"}, {"workload.replication_strategy", "square_root"}},
      // Walkers: check-backs to the origin, parked walkers, dead ends, budgets kept per link.
      {{"overlay.strategy", "random_walk"}, {"overlay.walkers", "8"}, {"overlay.walk_ttl", "40"}},
      {{"overlay.strategy", "random_walk"}, {"overlay.walkers", "4"}, {"overlay.walk_check_hops", "1"},
       {"network.loss", "0.2"}, {"workload.hits_wanted", "2"}, {"topology", "ring:1"}},  // lost answers: waits time out
      {{"overlay.strategy", "random_walk"}, {"overlay.stranger_sends_per_s", "1"}, {"overlay.stranger_sends_burst", "1"},
       {"topology", "kout:2"}},
  };
  for (const auto& settings : cases) {
    std::string name;
    for (const auto& [k, v] : settings) name += k + "=" + v + " ";
    INFO(name);
    const both b = run_both(with(settings));
    CHECK(b.compact == b.nodes);
    CHECK(b.compact_threads == b.nodes);
  }
}

TEST_CASE("compact engine: neighbours' query budgets that bind are kept per link, as nodes keep them",
          "[sim][compact]") {
  // 2 copies a second with a burst of 3: the schedule cannot be proven safe, and copies are refused.
  const both b = run_both(with({{"overlay.fanout", "64"},
                                {"overlay.queries_per_neighbor_per_s", "2"},
                                {"overlay.queries_per_neighbor_burst", "3"}}));
  CHECK(b.compact == b.nodes);
  CHECK(b.compact_results.totals.queries_rate_limited > 0);
  // The default budgets (500 a second, burst 1,000) with searches every 20 ms: proven never to bind.
  const both d = run_both(with({{"overlay.fanout", "64"}}));
  CHECK(d.compact == d.nodes);
  CHECK(d.compact_results.totals.queries_rate_limited == 0);
}

TEST_CASE("compact engine: runs it cannot hold go to nodes, or are refused by name with the reason",
          "[sim][compact]") {
  SECTION("the engine key takes auto, nodes or compact, and names them when given anything else") {
    scenario s = base();
    for (const auto& [text, kind] : {std::pair{"auto", scenario::engine_kind::automatic},
                                     std::pair{"nodes", scenario::engine_kind::nodes},
                                     std::pair{"compact", scenario::engine_kind::compact}}) {
      REQUIRE(set_key(s, "engine", text).ok());
      CHECK(s.engine == kind);
    }
    const auto bad = set_key(s, "engine", "fast");
    REQUIRE_FALSE(bad.ok());
    CHECK(std::string(bad.error().what()) == "engine: expected auto, nodes or compact, got 'fast'");
    CHECK(s.engine == scenario::engine_kind::compact);  // unchanged by the refused value
  }
  SECTION("auto picks compact for a fixed graph, nodes for HyParView") {
    scenario s = base();
    CHECK(simulator(s).compact());
    s.topology.parse("hyparview").ignore();
    s.peers = 200;
    CHECK_FALSE(simulator(s).compact());
  }
  SECTION("each reason") {
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"topology", "hyparview"},
        {"overlay.reply_direct", "true"},
        {"wire_codec", "true"},
        {"churn.crash_fraction", "0.1"},
        {"network.bandwidth_mbps", "100"},
        {"overlay.dup_cache_lifetime_ms", "300"},
        {"overlay.dup_cache_capacity", "16"},
    };
    for (const auto& [key, value] : refused) {
      INFO(key << "=" << value);
      scenario s = base();
      REQUIRE(set_key(s, key, value).ok());
      const char* why = simulator::compact_refusal(s);
      REQUIRE(why != nullptr);
      s.engine = scenario::engine_kind::compact;
      auto made = simulator::create(s);
      REQUIRE_FALSE(made.ok());
      CHECK(made.error().what() == std::string("engine = compact: ") + why);
      s.engine = scenario::engine_kind::automatic;
      if (s.topology.is_static() && validate(s).ok()) {
        auto fallback = simulator::create(s);
        REQUIRE(fallback.ok());
        CHECK_FALSE((*fallback)->compact());
      }
    }
  }
}

TEST_CASE("compact engine: walkers whose relays run out of budget for check-backs end there, as on nodes",
          "[sim][compact]") {
  const both b = run_both(with({{"overlay.strategy", "random_walk"},
                                {"overlay.stranger_sends_per_s", "1"},
                                {"overlay.stranger_sends_burst", "1"},
                                {"topology", "kout:2"}}));
  CHECK(b.compact == b.nodes);
  CHECK(b.compact_threads == b.nodes);
  CHECK(b.compact_results.totals.stranger_sends_refused > 0);
  CHECK(b.compact_results.totals.queries_received > 0);
}

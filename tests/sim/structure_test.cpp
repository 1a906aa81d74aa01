// The overlay's structure: clustering and hop distances on graphs whose values are known, the
// random graph of the same degrees, the figures a run reports, and the flash-crowd warning.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"
#include "sim/table.hpp"
#include "sim/topology.hpp"
#include "tests/sim/graphs.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

using hearsay::sim::test::make;

// Every pair's hop distance by BFS from every node: the exact figures the sampled ones estimate.
struct exact_distances {
  double mean = 0;
  std::uint32_t max = 0;
  std::vector<std::uint32_t> all;
};
exact_distances all_pairs(const graph& g) {
  exact_distances out;
  double sum = 0;
  for (std::uint32_t s = 0; s < g.n; ++s) {
    for (auto d : bfs_distances(g, s)) {
      if (d == 0 || d == ~0u) continue;
      out.all.push_back(d);
      sum += d;
      out.max = std::max(out.max, d);
    }
  }
  std::sort(out.all.begin(), out.all.end());
  out.mean = out.all.empty() ? 0 : sum / static_cast<double>(out.all.size());
  return out;
}

}  // namespace

TEST_CASE("a ring lattice has the clustering and distances of its formula", "[sim][structure]") {
  // Each node linked to its K nearest on either side: of the K(2K - 1) pairs of its
  // neighbours, 3K(K - 1)/2 are linked (Watts & Strogatz 1998), so C = 3(K - 1) / (2(2K - 1)).
  for (std::uint32_t k : {1u, 2u, 3u, 5u}) {
    const std::uint32_t n = 1'000;
    const auto g = make(("ring:" + std::to_string(k)).c_str(), n);
    rng random(3);
    const auto s = sample_structure(g, 2'000, 32, random);
    INFO("K = " << k);
    CHECK(s.nodes == n);
    CHECK(s.edges == std::uint64_t{n} * k);
    CHECK(s.clustering_samples == n);  // no more nodes than samples: every one, exactly
    CHECK(s.clustering == Approx(3.0 * (k - 1) / (2.0 * (2 * k - 1))));
    // Every node sees the same ring: at offset t = 1..n-1 around it, min(t, n - t) steps,
    // K of them a hop, so any sample of sources gives the exact figures.
    double sum = 0;
    for (std::uint32_t t = 1; t < n; ++t) sum += std::ceil(std::min(t, n - t) / static_cast<double>(k));
    CHECK(s.sources == 32);
    CHECK(s.distance_mean == Approx(sum / (n - 1)));
    CHECK(s.distance_max == (n / 2 + k - 1) / k);
    CHECK(s.reached_share == 1.0);
    std::uint64_t pairs = 0;
    for (auto c : s.pairs_at_distance) pairs += c;
    CHECK(pairs == 32ull * (n - 1));
  }
  // 2K + 1 nodes: the complete graph. Clustering 1, every other node one hop away.
  rng random(1);
  const auto complete = sample_structure(make("ring:4", 9), 2'000, 32, random);
  CHECK(complete.clustering == 1.0);
  CHECK(complete.distance_mean == 1.0);
  CHECK(complete.distance_p99 == 1);
  CHECK(complete.distance_max == 1);
}

TEST_CASE("with every node as a source the distances are exact, and sampled ones close", "[sim][structure]") {
  const auto small = make("er:3", 300, 5);  // sparse: a few nodes left out of the giant component
  const auto exact = all_pairs(small);
  rng random(1);
  const auto s = sample_structure(small, 2'000, 300, random);
  CHECK(s.sources == 300);
  CHECK(s.distance_mean == Approx(exact.mean));
  CHECK(s.distance_max == exact.max);
  const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(exact.all.size())));
  CHECK(s.distance_p99 == exact.all[rank - 1]);
  CHECK(s.reached_share < 1.0);
  CHECK(s.reached_share == Approx(static_cast<double>(exact.all.size()) / (300.0 * 299.0)));

  // 32 sources of 5,000 nodes: the mean within a few hundredths, p99 and max within a hop.
  const auto big = make("regular:4", 5'000, 2);
  rng sampler(9);
  const auto sampled = sample_structure(big, 2'000, 32, sampler);
  rng everyone(9);
  const auto full = sample_structure(big, 5'000, 5'000, everyone);
  CHECK(std::abs(sampled.distance_mean - full.distance_mean) < 0.1);
  CHECK(std::abs(static_cast<int>(sampled.distance_p99) - static_cast<int>(full.distance_p99)) <= 1);
  CHECK(sampled.distance_max <= full.distance_max);
  CHECK(std::abs(sampled.clustering - full.clustering) < 0.01);
}

TEST_CASE("clustering of graphs with known triangles", "[sim][structure]") {
  // A triangle with a tail: nodes 0 and 1 have C = 1, node 2 (neighbours 0, 1, 3) 1/3, node 3
  // (one neighbour) 0: the mean is (1 + 1 + 1/3 + 0) / 4.
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> edges{{0, 1}, {1, 2}, {2, 0}, {2, 3}};
  const auto g = graph::from_edges(4, edges);
  rng random(1);
  const auto s = sample_structure(g, 2'000, 32, random);
  CHECK(s.clustering == Approx((1.0 + 1.0 + 1.0 / 3.0 + 0.0) / 4.0));
  CHECK(s.distance_max == 2);
  // A star (a hub much wider than its leaves: the search path for hubs): no triangles.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> star;
  for (std::uint32_t i = 1; i < 500; ++i) star.emplace_back(0, i);
  const auto hub = sample_structure(graph::from_edges(500, star), 2'000, 32, random);
  CHECK(hub.clustering == 0.0);
  CHECK(hub.distance_max == 2);
  // The star with every leaf also linked to the next: the hub sees 498 of its 499*498/2 pairs
  // linked, a leaf (the hub and two leaves) 2 of 3, the two ends 1 of 1.
  for (std::uint32_t i = 1; i + 1 < 500; ++i) star.emplace_back(i, i + 1);
  const auto wheel = sample_structure(graph::from_edges(500, star), 2'000, 32, random);
  const double expected = (498.0 / (499.0 * 498.0 / 2.0) + 497.0 * 2.0 / 3.0 + 2.0) / 500.0;
  CHECK(wheel.clustering == Approx(expected));
  // An empty graph and isolated nodes.
  const auto none = sample_structure(graph::from_edges(0, {}), 2'000, 32, random);
  CHECK(none.sources == 0);
  const auto isolated = sample_structure(graph::from_edges(10, {}), 2'000, 32, random);
  CHECK(isolated.clustering == 0.0);
  CHECK(isolated.reached_share == 0.0);
  CHECK(isolated.distance_mean == 0.0);
}

TEST_CASE("the random graph of a graph's degrees keeps them, but for a few dropped links", "[sim][structure]") {
  const std::uint32_t n = 10'000, d = 6;
  const auto regular = make("regular:6", n);
  rng random(4);
  const auto reference = configuration_model(regular, random);
  REQUIRE(reference.n == n);
  // Self-loops and repeats dropped: about (D - 1)/2 + (D - 1)^2/4 ~ 9 edges in all.
  std::uint32_t short_of = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    REQUIRE(reference.degree(i) <= d);
    short_of += d - reference.degree(i);
  }
  CHECK(reference.edges() <= regular.edges());
  CHECK(regular.edges() - reference.edges() < 40);
  CHECK(short_of == 2 * (regular.edges() - reference.edges()));
  // A random 6-regular graph has almost no triangles: C ~ (D - 1)^2 / (n D).
  rng sampler(1);
  const auto s = sample_structure(reference, 2'000, 32, sampler);
  CHECK(s.clustering < 0.005);
  CHECK(s.reached_share > 0.999);
  // A ring lattice of the same degree is clustered and far across; its random counterpart is
  // not: the comparison the report makes.
  const auto ring = make("ring:3", n);
  rng again(4);
  const auto ring_reference = configuration_model(ring, again);
  rng a(1), b(1);
  const auto ring_s = sample_structure(ring, 2'000, 32, a);
  const auto random_s = sample_structure(ring_reference, 2'000, 32, b);
  CHECK(ring_s.clustering == Approx(0.6));
  CHECK(random_s.clustering < 0.01);
  CHECK(ring_s.distance_mean > 10 * random_s.distance_mean);
  // The same seed draws the same graph.
  rng same(4);
  CHECK(configuration_model(regular, same).targets == reference.targets);
}

TEST_CASE("a run reports the overlay's structure beside a random graph's, without changing the run",
          "[sim][structure]") {
  SECTION("a fixed graph: its own figures") {
    scenario s;
    s.peers = 600;
    REQUIRE(s.topology.parse("ring:3").ok());
    s.files = 10;
    s.replication = 3;
    s.queries = 20;
    simulator sim(s);
    const auto r = sim.run();
    CHECK(r.structure.overlay.nodes == 600);
    CHECK(r.structure.overlay.edges == 1'800);
    CHECK(r.structure.overlay.clustering == Approx(0.6));
    CHECK(r.structure.overlay.distance_max == 100);
    CHECK(r.structure.random.clustering < 0.05);
    CHECK(r.structure.random.distance_mean < r.structure.overlay.distance_mean);
    const auto text = format_report(s, r);
    CHECK(text.find("    clustering              0.6000") != std::string::npos);
    CHECK(text.find("flash crowd") == std::string::npos);  // nobody joins
    const auto json = nlohmann::json::parse(format_json(s, r, false));
    const auto& structure = json.at("structure");
    CHECK(structure.at("overlay").at("peers") == 600);
    CHECK(structure.at("overlay").at("links") == 1800);
    CHECK(structure.at("overlay").at("clustering").get<double>() == Approx(0.6));
    CHECK(structure.at("overlay").at("distance_max") == 100);
    CHECK(structure.at("flash_crowd") == false);
    const auto parsed = table::parse(csv_header() + csv_row(s, r, "p"));
    REQUIRE(parsed.ok());
    CHECK(parsed->number(0, "clustering") == Approx(0.6));
    CHECK(parsed->number(0, "distance_max") == 100);
    CHECK(parsed->number(0, "flash_crowd") == 0);
  }
  SECTION("HyParView: the running peers' active views") {
    scenario s;
    s.peers = 1'500;
    s.stabilize = micros{20'000'000};
    s.files = 20;
    s.replication = 5;
    s.queries = 20;
    simulator sim(s);
    const auto r = sim.run();
    const auto& o = r.structure.overlay;
    CHECK(o.nodes == r.health.peers_running);
    // Each link listed at both ends, but for the one-sided ones, taken as links all the same.
    CHECK(o.edges * 2 == r.health.links_directed + r.health.links_asymmetric);
    CHECK(o.reached_share == Approx(static_cast<double>(r.health.largest_component - 1) / (o.nodes - 1)));
    CHECK(r.structure.random.nodes == o.nodes);
    CHECK(r.structure.random.edges <= o.edges);
    CHECK(r.structure.random.edges + 20 > o.edges);
    CHECK(o.distance_mean > 1.0);
    CHECK(o.clustering >= 0.0);
  }
  SECTION("measuring draws from a stream of its own: the run goes on the same") {
    scenario s;
    s.peers = 800;
    s.stabilize = micros{5'000'000};
    simulator a(s), b(s);
    a.build_overlay();
    b.build_overlay();
    const auto first = a.measure_structure();
    const auto second = a.measure_structure();
    CHECK(first.overlay.clustering == second.overlay.clustering);
    CHECK(first.random.distance_mean == second.random.distance_mean);
    CHECK(first.random.edges == second.random.edges);
    a.run_until(a.now() + micros{30'000'000});
    b.run_until(b.now() + micros{30'000'000});
    CHECK(a.events_processed() == b.events_processed());
    const auto ha = a.measure_health(), hb = b.measure_health();
    CHECK(ha.links_directed == hb.links_directed);
    CHECK(ha.passive_mean == hb.passive_mean);
  }
}

TEST_CASE("the JSON report parses and holds the run's figures and per-query records", "[sim][report]") {
  scenario s;
  s.peers = 200;
  REQUIRE(s.topology.parse("regular:6").ok());
  s.files = 20;
  s.replication = 5;
  s.queries = 20;
  s.download.enabled = true;
  simulator sim(s);
  const auto r = sim.run();
  const summary m = summarize(s, r);
  const std::string text = format_json(s, r, true);
  const auto json = nlohmann::json::parse(text);
  CHECK(json.at("seed") == s.seed);
  CHECK(json.at("peers") == 200);
  CHECK(json.at("queries") == m.queries);
  CHECK(json.at("success_rate").get<double>() == Approx(m.success_rate).margin(1e-6));
  CHECK(json.at("hops").at("max") == m.hops_max);
  CHECK(json.at("events") == r.events);
  CHECK(json.at("downloads").at("done") == m.downloads_done);
  CHECK(json.at("health").at("active_mean").get<double>() == Approx(r.health.active_mean).margin(1e-4));
  const auto& records = json.at("per_query");
  REQUIRE(records.size() == r.queries.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].at("origin") == r.queries[i].origin);
    CHECK(records[i].at("first_hit_us") == r.queries[i].first_hit.count());
    CHECK(records[i].at("hops") == r.queries[i].first_hit_hops);
    CHECK(records[i].at("download") == describe(r.queries[i].download));
  }
  // Line tools read it too: one per-query record a line.
  CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<std::ptrdiff_t>(json.size() + 2 + r.queries.size() + 1));
}

TEST_CASE("joins faster than a join settles are a flash crowd, and the report says so", "[sim][structure]") {
  scenario s;
  s.seed_count = 4;
  s.join_proportional = false;
  s.join_interval = micros{1'000};
  double settle_ms = 0;
  // flash-crowd.toml: a peer a millisecond over links of 10..100 ms (median ~55 ms), walks of 6.
  CHECK(joins_overlap(s, settle_ms));
  CHECK(settle_ms > 500);
  CHECK(settle_ms < 800);
  REQUIRE(s.latency.parse("constant:10").ok());
  s.join_interval = micros{119'000};
  CHECK(joins_overlap(s, settle_ms));
  CHECK(settle_ms == Approx(120.0));  // 2 x 10 ms x 6
  s.join_interval = micros{120'000};
  CHECK_FALSE(joins_overlap(s, settle_ms));
  s.join_interval = micros{1'000};
  s.node.membership.walk_length_active = 1;
  CHECK(joins_overlap(s, settle_ms));
  CHECK(settle_ms == Approx(20.0));
  s.peers = 4;  // only seeds: nobody joins through them
  s.seed_count = 4;
  CHECK_FALSE(joins_overlap(s, settle_ms));
  scenario fixed;
  REQUIRE(fixed.topology.parse("regular:4").ok());
  CHECK_FALSE(joins_overlap(fixed, settle_ms));

  scenario crowd;
  crowd.seed_count = 4;
  crowd.join_proportional = false;
  crowd.join_interval = micros{1'000};
  crowd.peers = 300;
  crowd.stabilize = micros{5'000'000};
  crowd.files = 10;
  crowd.replication = 3;
  crowd.queries = 5;
  simulator sim(crowd);
  const auto text = format_report(crowd, sim.run());
  const auto at = text.find("  warning               flash crowd: a peer joins every 1.000 ms, a join settles in ~");
  REQUIRE(at != std::string::npos);
  CHECK(text.find('\n', at) < text.find("\noverlay health"));  // one line, in the header
}

TEST_CASE("the default overlay grows in proportion to its size, its joins apart where they meet", "[sim][structure]") {
  const scenario s;
  REQUIRE(s.join_proportional);
  // After n peers the next starts interval x peers / n later: the first gaps long, the last
  // ones join_interval.
  CHECK(join_gap(s, 1) == s.join_interval * s.peers);
  CHECK(join_gap(s, s.peers / 2) == s.join_interval * 2);
  CHECK(join_gap(s, s.peers) == s.join_interval);
  // interval x peers x the harmonic number of peers - 1: ~980 s at 10,000 peers.
  CHECK(static_cast<double>(join_phase(s).count()) / 1e6 == Approx(979).epsilon(0.01));
  double settle_ms = 0;
  CHECK_FALSE(joins_overlap(s, settle_ms));
  // A seed then takes a join every second at most, longer than one takes to settle...
  CHECK(1'000.0 > settle_ms);
  auto few_seeds = s;
  few_seeds.seed_count = 4;  // ...which 4 seeds would not: a join every 40 ms each
  CHECK(joins_overlap(few_seeds, settle_ms));
  // ...and the joins under way are 0.6 % of the overlay; at 500 peers they would be 13 %.
  auto small_overlay = s;
  small_overlay.peers = 500;
  small_overlay.seed_count = 4;
  CHECK(joins_overlap(small_overlay, settle_ms));
  small_overlay.seed_count = 100;
  CHECK(joins_overlap(small_overlay, settle_ms));
  small_overlay.join_interval = micros{200'000};  // 1 % at most from 128 ms
  CHECK_FALSE(joins_overlap(small_overlay, settle_ms));

  // In the report, one line of the header says how the peers join, and no warning.
  auto run = s;
  run.peers = 600;
  run.join_interval = micros{200'000};
  run.stabilize = micros{5'000'000};
  run.files = 10;
  run.replication = 3;
  run.queries = 5;
  simulator sim(run);
  const auto text = format_report(run, sim.run());
  CHECK(text.find("  peers                 600 (joining in proportion to the overlay's size over ") != std::string::npos);
  CHECK(text.find("the last every 200.000 ms, through 100 seeds, then 5 s to settle)") != std::string::npos);
  CHECK(text.find("warning") == std::string::npos);
  few_seeds.peers = 600;
  few_seeds.stabilize = run.stabilize;
  few_seeds.files = 10;
  few_seeds.replication = 3;
  few_seeds.queries = 5;
  simulator crowd(few_seeds);
  CHECK(format_report(few_seeds, crowd.run()).find("  warning               flash crowd: each seed takes a join every "
                                                 "40.000 ms at the end") != std::string::npos);
}

TEST_CASE("structure: skip_structure_draws leaves the stream where sample_structure leaves it", "[sim][structure]") {
  // The random reference graph is drawn on a copy of the stream advanced this way, while the
  // overlay is sampled on another thread: the two must agree exactly.
  for (const std::uint32_t n : {0u, 5u, 40u, 3'000u}) {
    rng topology_rng(7);
    topology_spec spec;
    REQUIRE(spec.parse("er:4").ok());
    const auto g = build_graph(spec, std::max(n, 1u), topology_rng);
    REQUIRE(g.ok());
    for (const auto& [clustering, sources] : {std::pair{2'000u, 32u}, std::pair{10u, 3u}}) {
      rng sampled(42), skipped(42);
      sample_structure(*g, clustering, sources, sampled);
      skip_structure_draws(g->n, clustering, sources, skipped);
      CHECK(sampled.next() == skipped.next());
    }
  }
}

TEST_CASE("mixing makes a flash crowd's overlay as little clustered as a random graph's, on any thread count",
          "[sim][structure][mixing]") {
  scenario crowd;
  crowd.seed_count = 4;
  crowd.join_proportional = false;
  crowd.join_interval = micros{1'000};  // flash-crowd.toml's joins
  crowd.peers = 1'500;
  crowd.stabilize = micros{40'000'000};
  crowd.files = 20;
  crowd.replication = 5;
  crowd.queries = 20;
  crowd.threads = 1;
  scenario mixed = crowd;
  mixed.node.membership.mix_period = micros{2'000'000};
  const auto plain = simulator(crowd).run();
  const auto with = simulator(mixed).run();
  // Without mixing the joins leave a clustered overlay; mixing brings it near the random
  // graph of the same degrees, views as full as before.
  CHECK(plain.structure.overlay.clustering > 3 * plain.structure.random.clustering);
  CHECK(with.structure.overlay.clustering < plain.structure.overlay.clustering / 2);
  CHECK(with.structure.overlay.reached_share == 1.0);
  CHECK(with.health.active_mean >= plain.health.active_mean - 0.1);
  CHECK(with.totals.mixes_done > with.totals.mixes_started / 10);
  CHECK(plain.totals.mixes_started == 0);
  const auto text = format_report(mixed, with);
  CHECK(text.find("  mixing                ") != std::string::npos);
  CHECK(format_report(crowd, plain).find("  mixing ") == std::string::npos);
  // Byte-identical on two workers.
  mixed.threads = 2;
  CHECK(format_report(mixed, simulator(mixed).run()) == text);
}

// Workload models: popularity, replication strategies, arrivals, and the distributions
// behind them must match their parameters.

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "sim/distributions.hpp"
#include "sim/report.hpp"
#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {
struct moments {
  double mean = 0, var = 0;
};
template <typename F>
moments sample(int n, F&& draw) {
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = draw();
    sum += x;
    sq += x * x;
  }
  moments m;
  m.mean = sum / n;
  m.var = sq / n - m.mean * m.mean;
  return m;
}
}  // namespace

TEST_CASE("Zipf draws follow 1/k^alpha", "[sim][workload]") {
  rng r(11);
  const zipf z(100, 1.0);
  std::vector<int> counts(100, 0);
  const int n = 200'000;
  for (int i = 0; i < n; ++i) ++counts[z.draw(r)];
  double h = 0;
  for (int k = 1; k <= 100; ++k) h += 1.0 / k;
  for (std::uint32_t k : {0u, 1u, 9u, 99u}) {
    const double p = (1.0 / (k + 1)) / h;
    CHECK(std::abs(z.probability(k) - p) < 1e-12);
    const double sd = std::sqrt(n * p * (1 - p));
    CHECK(std::abs(counts[k] - n * p) < 4 * sd);
  }
  // alpha 0 is uniform.
  const zipf flat(10, 0.0);
  for (std::uint32_t k = 0; k < 10; ++k) CHECK(std::abs(flat.probability(k) - 0.1) < 1e-12);
}

TEST_CASE("session-length distributions match their parameters", "[sim][workload]") {
  rng r(12);
  const int n = 200'000;
  const auto e = sample(n, [&] { return draw_exponential(r, 30.0); });
  CHECK(std::abs(e.mean - 30.0) < 0.5);
  CHECK(std::abs(std::sqrt(e.var) - 30.0) < 0.8);  // sd = mean

  duration_dist pareto;
  REQUIRE(pareto.parse("pareto:3:10").ok());
  CHECK(pareto.mean() == Approx(15.0));
  int above = 0;
  const auto pm = sample(n, [&] {
    const double x = pareto.draw(r);
    above += x > 20.0 ? 1 : 0;
    return x;
  });
  CHECK(std::abs(pm.mean - 15.0) < 0.3);
  CHECK(std::abs(static_cast<double>(above) / n - 0.125) < 0.005);  // (10/20)^3

  duration_dist weibull;
  REQUIRE(weibull.parse("weibull:0.5:100").ok());
  CHECK(weibull.mean() == Approx(200.0));  // 100 * Gamma(3)
  int beyond_scale = 0;
  const auto wm = sample(n, [&] {
    const double x = weibull.draw(r);
    beyond_scale += x > 100.0 ? 1 : 0;
    return x;
  });
  CHECK(std::abs(wm.mean - 200.0) / 200.0 < 0.05);
  CHECK(std::abs(static_cast<double>(beyond_scale) / n - std::exp(-1.0)) < 0.005);

  duration_dist bad;
  CHECK_FALSE(bad.parse("pareto:3").ok());
  CHECK_FALSE(bad.parse("exp:-1").ok());
  CHECK_FALSE(bad.parse("lognormal:1:2").ok());
}

TEST_CASE("replication strategies spread the replica budget as specified", "[sim][workload]") {
  auto run = [](const char* strategy) {
    scenario s;
    s.peers = 2'000;
    s.stabilize = micros{5'000'000};
    s.files = 100;
    s.replication = 10;
    s.queries = 0;
    s.popularity_alpha = 1.0;
    REQUIRE(set_key(s, "workload.replication_strategy", strategy).ok());
    simulator sim(s);
    sim.run();
    return sim.replicas();
  };
  const zipf z(100, 1.0);
  const auto uniform = run("uniform");
  for (auto c : uniform) REQUIRE(c == 10);
  const auto prop = run("proportional");
  const auto root = run("square_root");
  // Budget kept (up to rounding and the one-copy floor).
  CHECK(std::abs(static_cast<double>(std::accumulate(prop.begin(), prop.end(), 0u)) - 1000.0) < 60);
  CHECK(std::abs(static_cast<double>(std::accumulate(root.begin(), root.end(), 0u)) - 1000.0) < 60);
  // r_i proportional to q_i, or to sqrt(q_i): compare the most popular file with the 9th.
  CHECK(std::abs(static_cast<double>(prop[0]) / prop[8] - z.probability(0) / z.probability(8)) < 0.6);
  CHECK(std::abs(static_cast<double>(root[0]) / root[8] - std::sqrt(z.probability(0) / z.probability(8))) < 0.2);
  CHECK(prop[0] > root[0]);
  CHECK(prop[99] <= root[99]);
}

TEST_CASE("Poisson arrivals have exponential gaps; k-th hit comes after the first", "[sim][workload]") {
  scenario s;
  s.peers = 1'000;
  s.stabilize = micros{10'000'000};
  s.files = 50;
  s.replication = 40;
  s.queries = 400;
  s.query_interval = micros{20'000};
  s.poisson_arrivals = true;
  s.hits_wanted = 3;
  simulator sim(s);
  const auto r = sim.run();
  std::vector<double> gaps;
  for (std::size_t i = 1; i < r.queries.size(); ++i) {
    gaps.push_back(static_cast<double>((r.queries[i].issued - r.queries[i - 1].issued).count()));
  }
  double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / static_cast<double>(gaps.size());
  double var = 0;
  for (auto g : gaps) var += (g - mean) * (g - mean);
  var /= static_cast<double>(gaps.size());
  CHECK(std::abs(mean - 20'000) < 2'000);              // mean gap = query_interval (sd of mean ~1,000)
  CHECK(std::abs(std::sqrt(var) / mean - 1.0) < 0.15);  // coefficient of variation 1
  std::uint32_t with_k = 0;
  for (const auto& q : r.queries) {
    if (q.hits >= 3) {
      ++with_k;
      REQUIRE(q.kth_hit >= q.first_hit);
    } else {
      REQUIRE(q.kth_hit.count() < 0);
    }
  }
  CHECK(summarize(s, r).succeeded_k == with_k);
  CHECK(with_k > 0);
}

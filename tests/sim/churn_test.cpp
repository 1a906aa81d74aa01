// Faults and churn: crashes with and without repair, graceful leaves, sessions, loss,
// partitions. (Downloads under churn: downloads_test.cpp.)

#include <catch2/catch.hpp>

#include "sim/report.hpp"
#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {
scenario base() {
  scenario s;
  s.peers = 1'500;
  s.stabilize = micros{20'000'000};
  s.files = 100;
  s.replication = 15;
  s.queries = 600;
  s.query_interval = micros{50'000};  // 30 s of queries
  return s;
}
summary run(const scenario& s, run_results* keep = nullptr) {
  simulator sim(s);
  auto r = sim.run();
  auto m = summarize(s, r);
  if (keep != nullptr) *keep = std::move(r);
  return m;
}
}  // namespace

TEST_CASE("after a mass crash, repair keeps the overlay connected and searches working", "[sim][churn]") {
  auto s = base();
  s.crash_fraction = 0.4;
  s.crash_at = micros{2'000'000};
  run_results with_r, without_r;
  const auto with = run(s, &with_r);
  s.repair = false;
  const auto without = run(s, &without_r);
  REQUIRE(!with_r.over_time.empty());
  const auto& last_with = with_r.over_time.back();
  const auto& last_without = without_r.over_time.back();
  CHECK(last_with.peers_running == 900);
  CHECK(last_with.largest_component == 900);  // repaired into one component
  CHECK(last_with.active_mean > 4.0);
  CHECK(last_without.active_mean < 3.5);       // dead links dropped, never replaced
  CHECK(with.success_rate > without.success_rate + 0.1);
}

TEST_CASE("graceful leaves say goodbye: no neighbour keeps a link to a leaver", "[sim][churn]") {
  auto s = base();
  s.queries = 100;
  s.leave_fraction = 0.2;
  s.leave_at = micros{1'000'000};
  simulator sim(s);
  const auto r = sim.run();
  CHECK(r.over_time.back().peers_running == 1'200);
  CHECK(r.over_time.back().largest_component == 1'200);
  std::uint32_t running = 0;
  for (std::uint32_t i = 0; i < sim.size(); ++i) {
    if (!sim.peer(i).running()) continue;
    ++running;
    for (const auto& p : sim.peer(i).members().active()) REQUIRE(sim.peer(sim.peer_at(p)).running());
  }
  CHECK(running == 1'200);
}

TEST_CASE("continuous churn is deterministic and keeps the overlay usable", "[sim][churn]") {
  auto s = base();
  s.sessions = true;
  REQUIRE(s.session_length.parse("exp:20").ok());
  REQUIRE(s.downtime.parse("exp:10").ok());
  s.graceful_share = 0.5;
  run_results r1, r2;
  run(s, &r1);
  const auto m = run(s, &r2);
  CHECK(format_report(s, r1) == format_report(s, r2));
  // Expected online share: 20 / (20 + 10) of the churning peers.
  const auto& mid = r1.over_time[r1.over_time.size() / 2];
  CHECK(mid.peers_running > 800);
  CHECK(mid.peers_running < 1'250);
  CHECK(static_cast<double>(mid.largest_component) / mid.peers_running > 0.95);
  CHECK(m.success_rate > 0.5);
}

TEST_CASE("the counters count every life of a churned peer", "[sim][churn]") {
  // Each peer counts the messages it received itself (its load); the report's totals sum the
  // counters the peers share. Without churn they agree; with it, a peer that came back starts
  // its own count at zero, and the totals still hold what its earlier lives received.
  auto count = [](const scenario& s) {
    simulator sim(s);
    const auto r = sim.run();
    std::uint64_t current_lives = 0;
    for (std::uint32_t i = 0; i < sim.size(); ++i) current_lives += sim.peer(i).messages_received();
    return std::pair{current_lives, r.totals.messages_received};
  };
  auto s = base();
  s.queries = 100;
  const auto [steady_lives, steady_totals] = count(s);
  CHECK(steady_lives > 0);
  CHECK(steady_lives == steady_totals);
  s.sessions = true;
  REQUIRE(s.session_length.parse("exp:20").ok());
  REQUIRE(s.downtime.parse("exp:10").ok());
  const auto [churned_lives, churned_totals] = count(s);
  CHECK(churned_lives > 0);
  CHECK(churned_totals > churned_lives + churned_lives / 10);
}

TEST_CASE("message loss and partitions cut reach", "[sim][churn]") {
  auto s = base();
  s.queries = 200;
  const auto clean = run(s);
  auto lossy = s;
  lossy.loss = 0.2;
  const auto l = run(lossy);
  CHECK(l.reached_mean < 0.9 * clean.reached_mean);

  auto split = s;
  split.partition_at = micros{0};
  split.partition_duration = micros{1'000'000'000};
  split.partition_fraction = 0.5;
  run_results r;
  run(split, &r);
  for (const auto& q : r.queries) REQUIRE(q.reached <= 750);  // never beyond its own half
}

TEST_CASE("peers joining over time are taken into the overlay", "[sim][churn]") {
  auto s = base();
  s.join_fraction = 0.3;
  s.join_period = micros{20'000'000};
  run_results r;
  run(s, &r);
  REQUIRE(r.over_time.size() >= 3);
  CHECK(r.over_time.front().peers_running == 1'050);
  CHECK(r.over_time.back().peers_running == 1'500);
  CHECK(r.over_time.back().largest_component == 1'500);
  const auto& mid = r.over_time[1];  // 10 s in: about half of the late peers are in
  CHECK(mid.peers_running > 1'150);
  CHECK(mid.peers_running < 1'400);
}

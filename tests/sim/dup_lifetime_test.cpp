// The node engine shortens the peers' duplicate-cache lifetime to simulator::search_span when
// simulator::dup_cache_refusal allows it: these tests check the premise (no message of a search
// arrives later than search_span after its first one, on HyParView overlays with loss, churn and
// every strategy) and the promise (the same report, byte for byte, as with the lifetime
// configured).

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sim/network_tap.hpp"
#include "sim/report.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

using namespace hearsay;
using namespace hearsay::sim;

namespace {

scenario with(const std::vector<std::pair<std::string, std::string>>& settings) {
  scenario s;
  s.peers = 600;
  s.stabilize = micros{20'000'000};
  s.files = 60;
  s.replication = 6;
  s.queries = 80;
  s.query_interval = micros{20'000};
  for (const auto& [key, value] : settings) REQUIRE(set_key(s, key, value).ok());
  return s;
}

// The first and the last time any message naming a query id is sent or delivered.
class search_clock final : public network_tap {
 public:
  void on_send(micros now, std::uint32_t, std::uint32_t, const message& m) override { note(now, m); }
  void on_deliver(micros now, std::uint32_t, std::uint32_t, const message& m) override { note(now, m); }
  void on_refuse(micros now, std::uint32_t, std::uint32_t, const message& m) override { note(now, m); }

  // The longest time from a search's first message to its last.
  micros longest() const {
    micros most{0};
    for (const auto& [id, span] : spans_) most = std::max(most, span.second - span.first);
    return most;
  }
  std::size_t searches() const { return spans_.size(); }

 private:
  void note(micros now, const message& m) {
    query_id id = 0;
    if (const auto* q = std::get_if<msg_query>(&m)) id = q->id;
    if (const auto* h = std::get_if<msg_query_hit>(&m)) id = h->id;
    if (const auto* c = std::get_if<msg_walk_check>(&m)) id = c->id;
    if (const auto* st = std::get_if<msg_walk_status>(&m)) id = st->id;
    if (id == 0) return;
    auto [it, fresh] = spans_.try_emplace(id, now, now);
    if (!fresh) it->second.second = std::max(it->second.second, now);
  }
  std::map<query_id, std::pair<micros, micros>> spans_;
};

const std::vector<std::vector<std::pair<std::string, std::string>>> cases = {
    {},
    {{"overlay.fanout", "64"}, {"network.loss", "0.02"}},
    {{"overlay.strategy", "gossip"}, {"network.latency", "lognormal:40:0.8"}},
    {{"overlay.strategy", "expanding_ring"}, {"churn.crash_fraction", "0.1"}},
    {{"overlay.strategy", "random_walk"}, {"overlay.walkers", "4"}, {"overlay.walk_ttl", "40"},
     {"network.loss", "0.05"}},
    {{"overlay.reply_direct", "true"}, {"churn.sessions", "exp:60"}, {"churn.downtime", "exp:30"}},
};

}  // namespace

TEST_CASE("no message of a search arrives later than search_span after its first", "[sim]") {
  for (const auto& settings : cases) {
    scenario s = with(settings);
    INFO("case " << (&settings - cases.data()));
    REQUIRE(simulator::dup_cache_refusal(s) == nullptr);
    simulator sim(s);
    REQUIRE_FALSE(sim.compact());
    search_clock clock;
    sim.set_tap(&clock);
    sim.run();
    CHECK(clock.searches() > 0);
    CHECK(clock.longest() > micros{0});
    CHECK(clock.longest() <= simulator::search_span(s));
  }
}

TEST_CASE("a duplicate-cache lifetime cut to search_span changes nothing but memory", "[sim]") {
  for (const auto& settings : cases) {
    scenario s = with(settings);
    INFO("case " << (&settings - cases.data()));
    REQUIRE(simulator::dup_cache_refusal(s) == nullptr);
    std::string trimmed, kept;
    {
      simulator sim(s);
      trimmed = format_report(s, sim.run());
    }
    s.trim_dup_lifetime = false;
    {
      simulator sim(s);
      kept = format_report(s, sim.run());
    }
    CHECK(trimmed == kept);
  }
}

TEST_CASE("duplicate caches are not trimmed where an id may come back later", "[sim]") {
  scenario s = with({{"attack.sybil_share", "0.05"}});
  CHECK(simulator::dup_cache_refusal(s) != nullptr);
  s = with({{"overlay.dup_cache_lifetime_ms", "300"}});
  CHECK(simulator::dup_cache_refusal(s) != nullptr);
  // 100 searches a second for two minutes: more than the capacity can hold at once.
  s = with({{"workload.queries", "20000"}, {"workload.query_interval_us", "10000"}});
  CHECK(simulator::dup_cache_refusal(s) != nullptr);
}

// Search strategies other than flooding: gossip, random walkers with check-back, and
// expanding rings, one node at a time.

#include <catch2/catch.hpp>

#include <algorithm>

#include "overlay/config_keys.hpp"
#include "overlay/strategy.hpp"
#include "tests/overlay/recording_host.hpp"

using namespace hearsay;
using hearsay::test::addr;
using hearsay::test::recording_host;
using hearsay::test::single;

namespace {

msg_query q(query_mode mode, std::uint8_t ttl, std::uint8_t hops, std::uint8_t percent = 0, query_id id = 5) {
  msg_query m;
  m.id = id;
  m.origin = addr(900);
  m.ttl = ttl;
  m.hops = hops;
  m.criteria = std::string(1, 'x');  // (not a literal: g++ 12 warns falsely on that assignment)
  m.mode = static_cast<std::uint8_t>(mode);
  m.gossip_percent = percent;
  return m;
}

std::pair<micros, timer_id> timer_of(const recording_host& h, timer_kind kind) {
  REQUIRE(h.first_timer(kind) != nullptr);
  return *h.first_timer(kind);
}

}  // namespace

TEST_CASE("gossip relays pass each copy on with the query's probability", "[search][strategy]") {
  single s(node_config{}, 5);
  s.n.on_message(micros{1}, addr(100), q(query_mode::gossip, 3, 1, 0, 1));
  CHECK(s.h.sent_of<msg_query>().empty());  // 0%: nothing
  s.n.on_message(micros{1}, addr(100), q(query_mode::gossip, 3, 1, 100, 2));
  auto all = s.h.sent_of<msg_query>();
  CHECK(all.size() == 4);  // 100%: every neighbour but the sender
  for (const auto& [to, m] : all) CHECK(m.gossip_percent == 100);
  // 50% over many queries: about half of the 4 candidates each time.
  s.h.clear();
  for (query_id id = 10; id < 410; ++id) s.n.on_message(micros{2}, addr(100), q(query_mode::gossip, 3, 1, 50, id));
  const double per_query = static_cast<double>(s.h.sent_of<msg_query>().size()) / 400.0;
  CHECK(per_query > 1.8);
  CHECK(per_query < 2.2);
}

TEST_CASE("a walker moves to exactly one neighbour, revisits included", "[search][strategy]") {
  node_config cfg;
  cfg.search.walk_check_hops = 0;  // no check-backs here
  single s(cfg, 4);
  s.n.on_message(micros{1}, addr(100), q(query_mode::walk, 50, 2));
  auto out = s.h.sent_of<msg_query>();
  REQUIRE(out.size() == 1);
  CHECK(out[0].first != addr(100));
  CHECK(out[0].second.ttl == 49);
  CHECK(out[0].second.hops == 3);
  // The same walker passing again goes on (walkers are not suppressed), but is not answered twice.
  s.n.files().add(file_info{"x", 1, {}});
  s.h.clear();
  s.n.on_message(micros{2}, addr(101), q(query_mode::walk, 40, 7));
  CHECK(s.h.sent_of<msg_query>().size() == 1);
  CHECK(s.h.sent_of<msg_query_hit>().empty());
  // Walks are capped by walk_ttl_max, not by the flood cap.
  s.h.clear();
  s.n.on_message(micros{3}, addr(101), q(query_mode::walk, 200, 1, 0, 6));
  REQUIRE(s.h.sent_of<msg_query>().size() == 1);
  CHECK(s.h.sent_of<msg_query>()[0].second.ttl == 199);
}

TEST_CASE("walkers check back with the origin and go on only if it says so", "[search][strategy]") {
  node_config cfg;
  cfg.search.walk_check_hops = 4;
  single s(cfg, 3);
  s.n.on_message(micros{1}, addr(100), q(query_mode::walk, 50, 4));  // hop 4: time to check
  CHECK(s.h.sent_of<msg_query>().empty());
  auto checks = s.h.sent_of<msg_walk_check>();
  REQUIRE(checks.size() == 1);
  CHECK(checks[0].first == addr(900));
  SECTION("go on") {
    s.n.on_message(micros{5}, addr(900), msg_walk_status{5, true});
    CHECK(s.h.sent_of<msg_query>().size() == 1);
  }
  SECTION("stop") {
    s.n.on_message(micros{5}, addr(900), msg_walk_status{5, false});
    CHECK(s.h.sent_of<msg_query>().empty());
  }
  SECTION("no answer: the walker is dropped after the timeout") {
    const auto t = timer_of(s.h, timer_kind::walk_park_timeout);
    s.n.on_timer(t.first, t.second);
    s.n.on_message(t.first + micros{1}, addr(900), msg_walk_status{5, true});
    CHECK(s.h.sent_of<msg_query>().empty());
  }
}

TEST_CASE("the origin of a walk answers check-backs by its hit count", "[search][strategy]") {
  node_config cfg;
  cfg.search.strategy = strategy_index("random_walk");
  cfg.search.walkers = 4;
  cfg.search.hits_wanted = 2;
  single s(cfg, 3);
  const auto id = s.n.search(micros{0}, "song");
  auto walkers = s.h.sent_of<msg_query>();
  CHECK(walkers.size() == 4);
  for (const auto& [to, m] : walkers) CHECK(m.mode == static_cast<std::uint8_t>(query_mode::walk));
  s.n.on_message(micros{1}, addr(555), msg_walk_check{id});
  REQUIRE(s.h.sent_of<msg_walk_status>().back().second.go_on);
  file_info f{"song", 1, {}};
  s.n.on_message(micros{2}, addr(100), msg_query_hit{id, addr(700), 3, {f}});
  s.n.on_message(micros{3}, addr(100), msg_query_hit{id, addr(701), 3, {f}});
  s.n.on_message(micros{4}, addr(555), msg_walk_check{id});
  CHECK_FALSE(s.h.sent_of<msg_walk_status>().back().second.go_on);  // satisfied: stop
}

TEST_CASE("an expanding ring widens one hop at a time until satisfied", "[search][strategy]") {
  node_config cfg;
  cfg.search.strategy = strategy_index("expanding_ring");
  cfg.search.ttl = 4;
  single s(cfg, 3);
  const auto id = s.n.search(micros{0}, "song");
  auto first = s.h.sent_of<msg_query>();
  REQUIRE(first.size() == 3);
  CHECK(first[0].second.ttl == 1);
  auto ring = timer_of(s.h, timer_kind::search_step);
  CHECK(ring.first == cfg.search.ring_wait_per_hop);

  s.h.clear();
  s.n.on_timer(ring.first, ring.second);
  auto second = s.h.sent_of<msg_query>();
  REQUIRE(second.size() == 3);
  CHECK(second[0].second.ttl == 2);
  CHECK(second[0].second.id == id);  // the same query: reached peers pass it on, answer once
  ring = timer_of(s.h, timer_kind::search_step);
  CHECK(ring.first == cfg.search.ring_wait_per_hop * 3);  // waited 1 hop, then 2 more

  // A hit satisfies the search (hits_wanted 1): no further ring.
  s.n.on_message(ring.first - micros{1}, addr(100), msg_query_hit{id, addr(700), 2, {file_info{"song", 1, {}}}});
  s.h.clear();
  s.n.on_timer(ring.first, ring.second);
  CHECK(s.h.sent_of<msg_query>().empty());
}

TEST_CASE("an expanding ring stops at the configured TTL", "[search][strategy]") {
  node_config cfg;
  cfg.search.strategy = strategy_index("expanding_ring");
  cfg.search.ttl = 3;
  single s(cfg, 2);
  s.n.search(micros{0}, "song");
  std::vector<std::uint8_t> ttls;
  for (int step = 0; step < 6; ++step) {
    for (const auto& [to, m] : s.h.sent_of<msg_query>()) ttls.push_back(m.ttl);
    auto it = std::find_if(s.h.timers.begin(), s.h.timers.end(),
                           [](const auto& t) { return t.second.kind == timer_kind::search_step; });
    if (it == s.h.timers.end()) break;
    const auto t = *it;
    s.h.clear();
    s.n.on_timer(t.first, t.second);
  }
  CHECK(ttls == std::vector<std::uint8_t>{1, 1, 2, 2, 3, 3});
}

TEST_CASE("no amplification: replies to addresses a message named are rate-limited", "[search][membership]") {
  node_config cfg;
  cfg.search.stranger_sends_per_s = 10;
  cfg.search.stranger_sends_burst = 5;
  cfg.membership.stranger_replies_per_s = 10;
  cfg.membership.stranger_replies_burst = 5;
  cfg.search.queries_per_neighbor_per_s = 0;
  single s(cfg, 3);
  s.n.files().add(file_info{"x", 1, {}});
  const auto victim = addr(6666);

  SECTION("direct hits beyond the budget take the reverse path") {
    for (query_id id = 1; id <= 20; ++id) {
      auto m = q(query_mode::flood, 1, 1, 0, id);
      m.origin = victim;
      m.reply_direct = true;
      s.n.on_message(micros{1}, addr(100), m);
    }
    std::size_t to_victim = 0, reverse = 0;
    for (const auto& [to, hit] : s.h.sent_of<msg_query_hit>()) (to == victim ? to_victim : reverse) += 1;
    CHECK(to_victim == 5);
    CHECK(reverse == 15);
    // The budget refills at its rate: one second later, 10 more direct replies are allowed.
    s.h.clear();
    for (query_id id = 100; id < 120; ++id) {
      auto m = q(query_mode::flood, 1, 1, 0, id);
      m.origin = victim;
      m.reply_direct = true;
      s.n.on_message(micros{1'000'001}, addr(100), m);
    }
    to_victim = 0;
    for (const auto& [to, hit] : s.h.sent_of<msg_query_hit>()) to_victim += to == victim ? 1u : 0u;
    CHECK(to_victim == 5);  // capped by the burst, not the elapsed time
  }
  SECTION("shuffle replies and join replies to named addresses are capped") {
    for (std::uint32_t k = 0; k < 20; ++k) {
      s.n.on_message(micros{1}, addr(100), msg_shuffle{addr(7000 + k), 1, {addr(7000 + k)}});
    }
    CHECK(s.h.sent_of<msg_shuffle_reply>().size() == 5);
    for (std::uint32_t k = 0; k < 20; ++k) {
      s.n.on_message(micros{1}, addr(100), msg_forward_join{addr(8000 + k), 0});
    }
    CHECK(s.h.sent_of<msg_join_reply>().size() == 0);  // the shuffles used up the budget
    CHECK(s.n.stats().stranger_sends_refused == 15 + 20);
  }
}

TEST_CASE("the strategy table: names, wire modes and the key that chooses one", "[search][strategy]") {
  const auto rows = search_strategies();
  REQUIRE(rows.size() >= 4);
  CHECK(strategy_of(search_config{}).name == "flood");  // the default
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(strategy_index(rows[i]->name) == i);
    // A relay handles each mode with a row of that mode.
    const search_strategy* relay = strategy_for_mode(static_cast<std::uint8_t>(rows[i]->mode));
    REQUIRE(relay != nullptr);
    CHECK(relay->mode == rows[i]->mode);
    CHECK(relay->pass_on == rows[i]->pass_on);
    std::string line;
    rows[i]->describe(search_config{}, line);
    CHECK_FALSE(line.empty());
  }
  CHECK(strategy_for_mode(3) == nullptr);
  CHECK(strategy_for_mode(255) == nullptr);
  CHECK(strategy_names() == "flood, gossip, expanding_ring or random_walk");

  const config_key* key = find_overlay_key("strategy");
  REQUIRE(key != nullptr);
  node_config c;
  CHECK(key->set(c, "random_walk").ok());
  CHECK(strategy_of(c.search).name == "random_walk");
  const auto refused = key->set(c, "teleport");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().what() == "expected flood, gossip, expanding_ring or random_walk, got 'teleport'");
  CHECK(strategy_of(c.search).name == "random_walk");  // unchanged by a bad value
}

TEST_CASE("a query of a mode this build does not know is counted invalid and goes nowhere", "[search][strategy]") {
  single s(node_config{}, 4);
  auto m = q(query_mode::flood, 3, 1);
  m.mode = 7;
  s.n.on_message(micros{1}, addr(100), m);
  CHECK(s.h.sent_of<msg_query>().empty());
  CHECK(s.n.stats().messages_invalid == 1);
}

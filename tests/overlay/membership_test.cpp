// HyParView membership rules, one node at a time with a recording host, then small networks.

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <set>

#include "tests/overlay/recording_host.hpp"

using namespace hearsay;
using hearsay::test::addr;
using hearsay::test::recording_host;
using hearsay::test::test_net;

namespace {

node_config small_config() {
  node_config cfg;
  cfg.membership.view_size_active = 3;
  cfg.membership.view_size_passive = 6;
  cfg.membership.walk_length_active = 4;
  cfg.membership.walk_length_passive = 2;
  return cfg;
}

// Fills n's active view with peers 100, 101, ... through accepted NEIGHBOR requests.
void fill_active(node& n, std::uint32_t count, micros now = micros{0}) {
  for (std::uint32_t i = 0; i < count; ++i) n.on_message(now, addr(100 + i), msg_neighbor{true});
}

bool contains(std::span<const peer_addr> v, const peer_addr& p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

}  // namespace

TEST_CASE("a node with seeds sends JOIN to one of them and arms its timers", "[membership]") {
  auto cfg = small_config();
  cfg.seeds = {addr(1), addr(2)};
  recording_host h;
  node n(cfg, addr(50), 7, h);
  n.start(micros{0});
  auto joins = h.sent_of<msg_join>();
  REQUIRE(joins.size() == 1);
  CHECK((joins[0].first == addr(1) || joins[0].first == addr(2)));
  CHECK(h.has_timer(timer_kind::shuffle));
  CHECK(h.has_timer(timer_kind::repair));
  CHECK(h.has_timer(timer_kind::join_timeout));
}

TEST_CASE("the first peer, whose only seed is itself, waits to be joined", "[membership]") {
  auto cfg = small_config();
  cfg.seeds = {addr(1)};
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  CHECK(h.sent_of<msg_join>().empty());
}

TEST_CASE("an unanswered JOIN moves on to the next seed", "[membership]") {
  auto cfg = small_config();
  cfg.seeds = {addr(1), addr(2)};
  recording_host h;
  node n(cfg, addr(50), 7, h);
  n.start(micros{0});
  const auto first = h.sent_of<msg_join>().at(0).first;
  REQUIRE(h.first_timer(timer_kind::join_timeout) != nullptr);
  const auto timeout = *h.first_timer(timer_kind::join_timeout);
  h.clear();
  n.on_timer(timeout.first, timeout.second);
  auto joins = h.sent_of<msg_join>();
  REQUIRE(joins.size() == 1);
  CHECK(joins[0].first != first);
  // A stale timeout (old generation) changes nothing.
  h.clear();
  n.on_timer(timeout.first, timeout.second);
  CHECK(h.sent_of<msg_join>().empty());
}

TEST_CASE("a seed joins through the seeds below it; the lowest seed through any other", "[membership]") {
  // Seeds are ordered by address, whatever the order of the list, so that seeds started
  // apart end in one overlay (see membership::needs_lower_seed).
  auto cfg = small_config();
  cfg.seeds = {addr(8), addr(3), addr(5), addr(1)};
  std::set<peer_addr> lowest_contacts;
  for (std::uint64_t random_seed = 1; random_seed <= 16; ++random_seed) {
    INFO("random seed " << random_seed);
    recording_host h;
    node middle(cfg, addr(5), random_seed, h);
    middle.start(micros{0});
    auto joins = h.sent_of<msg_join>();
    REQUIRE(joins.size() == 1);
    CHECK(joins[0].first < addr(5));
    h.clear();
    node lowest(cfg, addr(1), random_seed, h);
    lowest.start(micros{0});
    joins = h.sent_of<msg_join>();
    REQUIRE(joins.size() == 1);
    lowest_contacts.insert(joins[0].first);
  }
  CHECK(lowest_contacts.size() == 3);  // 3, 5 and 8
}

TEST_CASE("a seed keeps a link to a seed below it, joining one again at a repair tick", "[membership]") {
  auto cfg = small_config();  // active views of 3
  cfg.seeds = {addr(3), addr(5)};
  recording_host h;
  node n(cfg, addr(5), 7, h);
  n.start(micros{0});
  REQUIRE(h.sent_of<msg_join>().at(0).first == addr(3));
  REQUIRE(h.first_timer(timer_kind::repair) != nullptr);
  const auto tick = *h.first_timer(timer_kind::repair);
  const auto period = cfg.membership.repair_period;
  // Peers join through it and fill its view, then its own JOIN fails: a node with
  // neighbours does not try again at once, and would never try again if it were not a seed.
  for (std::uint32_t i = 0; i < 3; ++i) n.on_message(micros{0}, addr(100 + i), msg_join{});
  REQUIRE(n.members().active().size() == 3);
  n.on_peer_down(micros{0}, addr(3));
  h.clear();
  n.on_timer(tick.first, tick.second);
  auto joins = h.sent_of<msg_join>();
  REQUIRE(joins.size() == 1);
  CHECK(joins[0].first == addr(3));
  CHECK(h.has_timer(timer_kind::repair));  // a full view, but no link to a seed below yet

  // Answered: the link is made and the ticks stop (the view is full).
  n.on_message(tick.first + micros{1}, addr(3), msg_join_reply{});
  REQUIRE(n.members().is_active(addr(3)));
  h.clear();
  n.on_timer(tick.first + period, tick.second);
  CHECK(h.sent_of<msg_join>().empty());
  CHECK_FALSE(h.has_timer(timer_kind::repair));

  // The link lost: the timer is armed again, and the next tick joins again.
  n.on_message(tick.first + period + micros{1}, addr(3), msg_disconnect{});
  REQUIRE_FALSE(n.members().is_active(addr(3)));
  REQUIRE(h.first_timer(timer_kind::repair) != nullptr);
  const auto next = *h.first_timer(timer_kind::repair);
  CHECK(next.first == tick.first + period * 2);
  h.clear();
  n.on_timer(next.first, next.second);
  joins = h.sent_of<msg_join>();
  REQUIRE(joins.size() == 1);
  CHECK(joins[0].first == addr(3));
}

TEST_CASE("the contact takes the joiner in and starts forward-join walks", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node contact(cfg, addr(1), 7, h);
  contact.start(micros{0});
  fill_active(contact, 2);
  h.clear();

  contact.on_message(micros{5}, addr(50), msg_join{});
  CHECK(contact.members().is_active(addr(50)));
  auto replies = h.sent_of<msg_join_reply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].first == addr(50));
  auto walks = h.sent_of<msg_forward_join>();
  REQUIRE(walks.size() == 2);  // to each other active neighbour, not to the joiner
  for (const auto& [to, fj] : walks) {
    CHECK(to != addr(50));
    CHECK(fj.joiner == addr(50));
    CHECK(fj.ttl == cfg.membership.walk_length_active);
  }
}

TEST_CASE("forward-join: walks pass on, leave the joiner in passive views at PRWL, end in an active view",
          "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 2);  // peers 100 and 101
  h.clear();

  SECTION("ttl above PRWL: forwarded to a neighbour other than the sender, ttl - 1") {
    n.on_message(micros{1}, addr(100), msg_forward_join{addr(60), 3});
    auto fwd = h.sent_of<msg_forward_join>();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].first == addr(101));
    CHECK(fwd[0].second.ttl == 2);
    CHECK_FALSE(n.members().is_passive(addr(60)));
    CHECK_FALSE(n.members().is_active(addr(60)));
  }
  SECTION("ttl equal to PRWL: the joiner also enters the passive view") {
    n.on_message(micros{1}, addr(100), msg_forward_join{addr(60), cfg.membership.walk_length_passive});
    CHECK(n.members().is_passive(addr(60)));
    CHECK(h.sent_of<msg_forward_join>().size() == 1);
  }
  SECTION("ttl zero: the walk ends here and the joiner is told") {
    n.on_message(micros{1}, addr(100), msg_forward_join{addr(60), 0});
    CHECK(n.members().is_active(addr(60)));
    auto replies = h.sent_of<msg_join_reply>();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].first == addr(60));
    CHECK(h.sent_of<msg_forward_join>().empty());
  }
}

TEST_CASE("a full active view evicts a random member with DISCONNECT into the passive view",
          "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 3);
  REQUIRE(n.members().active().size() == 3);
  h.clear();

  n.on_message(micros{1}, addr(200), msg_neighbor{true});
  CHECK(n.members().active().size() == 3);
  CHECK(n.members().is_active(addr(200)));
  auto disconnects = h.sent_of<msg_disconnect>();
  REQUIRE(disconnects.size() == 1);
  const auto victim = disconnects[0].first;
  CHECK(victim != addr(200));
  CHECK_FALSE(n.members().is_active(victim));
  CHECK(n.members().is_passive(victim));
  CHECK(std::count(h.disconnected.begin(), h.disconnected.end(), victim) == 1);
}

TEST_CASE("NEIGHBOR: low priority is refused when full, high priority always accepted", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 3);
  h.clear();

  n.on_message(micros{1}, addr(300), msg_neighbor{false});
  auto replies = h.sent_of<msg_neighbor_reply>();
  REQUIRE(replies.size() == 1);
  CHECK_FALSE(replies[0].second.accepted);
  CHECK_FALSE(n.members().is_active(addr(300)));

  h.clear();
  n.on_message(micros{2}, addr(300), msg_neighbor{true});
  replies = h.sent_of<msg_neighbor_reply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].second.accepted);
  CHECK(n.members().is_active(addr(300)));
}

TEST_CASE("a failed active neighbour is replaced from the passive view", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 1);  // active: 100
  n.remember_peers(std::vector<peer_addr>{addr(400), addr(401)});
  h.clear();

  n.on_peer_down(micros{10}, addr(100));
  CHECK(n.members().active().empty());
  CHECK(n.stats().peers_failed == 1);
  auto requests = h.sent_of<msg_neighbor>();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].second.high_priority);  // the active view is empty
  const auto candidate = requests[0].first;
  CHECK((candidate == addr(400) || candidate == addr(401)));

  SECTION("accepted: the candidate moves from passive to active") {
    n.on_message(micros{11}, candidate, msg_neighbor_reply{true});
    CHECK(n.members().is_active(candidate));
    CHECK_FALSE(n.members().is_passive(candidate));
  }
  SECTION("rejected: the other passive peer is asked next") {
    h.clear();
    n.on_message(micros{11}, candidate, msg_neighbor_reply{false});
    auto next = h.sent_of<msg_neighbor>();
    REQUIRE(next.size() == 1);
    CHECK(next[0].first != candidate);
    CHECK(n.stats().neighbor_requests_rejected == 1);
  }
  SECTION("unanswered: the candidate is dropped from the reserve and another is asked") {
    REQUIRE(h.first_timer(timer_kind::neighbor_timeout) != nullptr);
    const auto t = *h.first_timer(timer_kind::neighbor_timeout);
    h.clear();
    n.on_timer(t.first, t.second);
    CHECK_FALSE(n.members().is_passive(candidate));
    REQUIRE(h.sent_of<msg_neighbor>().size() == 1);
  }
}

TEST_CASE("the repair timer runs while the active view is short, on one grid of ticks", "[membership]") {
  auto cfg = small_config();  // active view of 3
  cfg.membership.repair_period = micros{1'000'000};
  cfg.membership.request_timeout = micros{10'000'000};  // no timeout within the test
  const micros period = cfg.membership.repair_period;
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  REQUIRE(h.first_timer(timer_kind::repair) != nullptr);
  const auto [t0, repair_tick] = *h.first_timer(timer_kind::repair);
  auto repair_timers = [&h] {
    std::vector<micros> at;
    for (const auto& [when, id] : h.timers) {
      if (id.kind == timer_kind::repair) at.push_back(when);
    }
    return at;
  };
  fill_active(n, 2, micros{1});  // 100, 101: one short
  n.remember_peers(std::vector<peer_addr>{addr(400)});
  h.clear();

  // A tick with the view short asks the passive peer, and the timer goes on.
  n.on_timer(t0, repair_tick);
  REQUIRE(h.sent_of<msg_neighbor>().size() == 1);
  CHECK(h.sent_of<msg_neighbor>()[0].first == addr(400));
  CHECK(repair_timers() == std::vector<micros>{t0 + period});
  // The view fills from elsewhere; the next tick finds nothing to do and is the last.
  n.on_message(t0 + micros{1}, addr(200), msg_neighbor{false});
  REQUIRE(n.members().active().size() == 3);
  h.clear();
  n.on_timer(t0 + period, repair_tick);
  CHECK(h.sent.empty());
  CHECK(repair_timers().empty());

  SECTION("a lost member arms it again for the next tick of the same grid") {
    n.on_peer_down(t0 + period * 2 + period / 2, addr(100));
    CHECK(repair_timers() == std::vector<micros>{t0 + period * 3});
    // Armed already: another loss adds no second timer.
    n.on_message(t0 + period * 2 + period * 3 / 4, addr(101), msg_disconnect{});
    CHECK(repair_timers().size() == 1);
  }
  SECTION("a member lost at the very time of a tick waits for the next one") {
    n.on_message(t0 + period * 4, addr(101), msg_disconnect{});
    CHECK(repair_timers() == std::vector<micros>{t0 + period * 5});
  }
  SECTION("rounds of asked peers follow the grid, also while the timer does not run") {
    // The request of the first tick is still open. Its refusal comes in the round that began
    // at t0 + period (that tick ran): the peer may be asked again, once.
    h.clear();
    n.on_message(t0 + period + micros{1}, addr(400), msg_neighbor_reply{false});
    REQUIRE(h.sent_of<msg_neighbor>().size() == 1);
    SECTION("within the round, not again") {
      h.clear();
      n.on_message(t0 + period + micros{2}, addr(400), msg_neighbor_reply{false});
      CHECK(h.sent_of<msg_neighbor>().empty());
    }
    SECTION("after the tick at t0 + 2 x period, which did not run, again") {
      h.clear();
      n.on_message(t0 + period * 2 + micros{1}, addr(400), msg_neighbor_reply{false});
      CHECK(h.sent_of<msg_neighbor>().size() == 1);
      CHECK(repair_timers().empty());  // the view is still full
    }
  }
}

TEST_CASE("with repair off the repair timer stops at its first tick and losses do not arm it", "[membership]") {
  auto cfg = small_config();
  cfg.membership.repair = false;
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  REQUIRE(h.first_timer(timer_kind::repair) != nullptr);
  const auto tick = *h.first_timer(timer_kind::repair);
  fill_active(n, 2, micros{1});
  n.remember_peers(std::vector<peer_addr>{addr(400)});
  h.clear();
  n.on_timer(tick.first, tick.second);  // the view is short, but nothing may repair it
  CHECK(h.sent_of<msg_neighbor>().empty());
  CHECK_FALSE(h.has_timer(timer_kind::repair));
  n.on_peer_down(tick.first + micros{10}, addr(100));
  CHECK(h.sent_of<msg_neighbor>().empty());
  CHECK_FALSE(h.has_timer(timer_kind::repair));
}

TEST_CASE("DISCONNECT moves the peer to the passive view", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 2);
  n.on_message(micros{1}, addr(100), msg_disconnect{});
  CHECK_FALSE(n.members().is_active(addr(100)));
  CHECK(n.members().is_passive(addr(100)));
  // From a peer that is not a neighbour it is ignored.
  n.on_message(micros{2}, addr(999), msg_disconnect{});
  CHECK_FALSE(n.members().is_passive(addr(999)));
}

TEST_CASE("forward-join: a walk is never passed on to its joiner, which would drop it", "[membership]") {
  // The joiner is an active neighbour here already (the end of another of its walks, say).
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  SECTION("the walk goes to the one neighbour that is neither its sender nor its joiner") {
    fill_active(n, 3);  // peers 100, 101 (the joiner) and 102
    h.clear();
    for (std::uint32_t i = 0; i < 32; ++i) n.on_message(micros{1 + i}, addr(100), msg_forward_join{addr(101), 3});
    const auto fwd = h.sent_of<msg_forward_join>();
    REQUIRE(fwd.size() == 32);
    for (const auto& [to, fj] : fwd) CHECK(to == addr(102));
  }
  SECTION("with no such neighbour the walk ends here, where the joiner is a neighbour already") {
    fill_active(n, 2);  // peers 100 and 101 (the joiner)
    h.clear();
    n.on_message(micros{1}, addr(100), msg_forward_join{addr(101), 3});
    CHECK(h.sent_of<msg_forward_join>().empty());
    CHECK(n.members().is_active(addr(101)));
  }
}

TEST_CASE("shuffle: a walk is never passed back to its origin, which would drop it", "[membership]") {
  // The origin is an active neighbour of a node farther along its walk.
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  SECTION("the walk goes to the one neighbour that is neither its sender nor its origin") {
    fill_active(n, 3);  // peers 100, 101 (the origin) and 102
    h.clear();
    for (std::uint32_t i = 0; i < 32; ++i) {
      n.on_message(micros{1 + i}, addr(100), msg_shuffle{addr(101), 3, {addr(101), addr(700 + i)}, i + 1});
    }
    const auto fwd = h.sent_of<msg_shuffle>();
    REQUIRE(fwd.size() == 32);
    for (const auto& [to, sh] : fwd) CHECK(to == addr(102));
  }
  SECTION("with no such neighbour the walk ends here and the origin is answered") {
    fill_active(n, 2);  // peers 100 and 101 (the origin)
    h.clear();
    n.on_message(micros{1}, addr(100), msg_shuffle{addr(101), 3, {addr(101), addr(700)}, 9});
    CHECK(h.sent_of<msg_shuffle>().empty());
    const auto replies = h.sent_of<msg_shuffle_reply>();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].first == addr(101));
    CHECK(replies[0].second.nonce == 9);
  }
}

TEST_CASE("shuffle: sample out, reply from the far end, merge into passive views", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 2);
  n.remember_peers(std::vector<peer_addr>{addr(500), addr(501), addr(502)});
  REQUIRE(h.first_timer(timer_kind::shuffle) != nullptr);
  const auto shuffle_timer = *h.first_timer(timer_kind::shuffle);
  h.clear();

  n.on_timer(shuffle_timer.first, shuffle_timer.second);
  auto out = h.sent_of<msg_shuffle>();
  REQUIRE(out.size() == 1);
  CHECK(n.members().is_active(out[0].first));
  const auto& s = out[0].second;
  CHECK(s.origin == addr(1));
  CHECK(s.ttl == cfg.membership.walk_length_shuffle);
  REQUIRE(!s.nodes.empty());
  CHECK(s.nodes[0] == addr(1));
  CHECK(s.nodes.size() <= 1 + cfg.membership.shuffle_active + cfg.membership.shuffle_passive);
  CHECK(h.has_timer(timer_kind::shuffle));  // re-armed

  // A shuffle carries a nonce from the host (never from the node's random stream); a reply
  // is taken only with it, and only once.
  CHECK(s.nonce == recording_host::nonce_base + 1);
  n.on_message(micros{2}, addr(900), msg_shuffle_reply{{addr(650)}, s.nonce + 1});
  CHECK_FALSE(n.members().is_passive(addr(650)));
  // The reply's peers enter the passive view, never self or active neighbours.
  n.on_message(micros{2}, out[0].first, msg_shuffle_reply{{addr(600), addr(1), addr(100)}, s.nonce});
  CHECK(n.members().is_passive(addr(600)));
  CHECK_FALSE(n.members().is_passive(addr(1)));
  CHECK_FALSE(n.members().is_passive(addr(100)));
  CHECK(n.members().passive().size() <= cfg.membership.view_size_passive);
  n.on_message(micros{3}, out[0].first, msg_shuffle_reply{{addr(651)}, s.nonce});  // a second time
  CHECK_FALSE(n.members().is_passive(addr(651)));

  SECTION("a shuffle arriving with ttl left is passed on") {
    h.clear();
    n.on_message(micros{3}, addr(100), msg_shuffle{addr(700), 3, {addr(700), addr(701)}});
    auto fwd = h.sent_of<msg_shuffle>();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].first != addr(100));
    CHECK(fwd[0].second.ttl == 2);
    CHECK(h.sent_of<msg_shuffle_reply>().empty());
  }
  SECTION("a shuffle whose walk ends here is answered to its origin and merged") {
    h.clear();
    n.on_message(micros{3}, addr(100), msg_shuffle{addr(700), 1, {addr(700), addr(701)}});
    auto replies = h.sent_of<msg_shuffle_reply>();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].first == addr(700));
    CHECK(replies[0].second.nodes.size() <= 2);
    CHECK(n.members().is_passive(addr(700)));
    CHECK(n.members().is_passive(addr(701)));
  }
}

TEST_CASE("the passive view never exceeds its bound", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 1);
  for (std::uint32_t i = 0; i < 50; ++i) {
    // Shuffle walks that end here (ttl 1) bring two peers each.
    n.on_message(micros{i}, addr(100), msg_shuffle{addr(1000 + i), 1, {addr(1000 + i), addr(2000 + i)}, i + 1});
    REQUIRE(n.members().passive().size() <= cfg.membership.view_size_passive);
  }
  CHECK(n.members().passive().size() == cfg.membership.view_size_passive);
}

TEST_CASE("a shuffle reply that answers no shuffle of this node's changes nothing", "[membership]") {
  // The attack: one SHUFFLE-REPLY frame from anyone replaced the whole passive view.
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 2);
  n.remember_peers(std::vector<peer_addr>{addr(500), addr(501), addr(502)});
  const std::vector<peer_addr> before(n.members().passive().begin(), n.members().passive().end());
  for (std::uint64_t nonce : {std::uint64_t{0}, std::uint64_t{1}, recording_host::nonce_base + 1}) {
    n.on_message(micros{1}, addr(100), msg_shuffle_reply{{addr(800), addr(801), addr(802), addr(803)}, nonce});
  }
  CHECK(std::vector<peer_addr>(n.members().passive().begin(), n.members().passive().end()) == before);
  CHECK(n.stats().messages_unexpected == 3);
}

TEST_CASE("walks are served only from neighbours, and no longer than this node's own", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 3);
  h.clear();
  SECTION("a shuffle or a join walk from a peer in neither view is refused unread") {
    n.on_message(micros{1}, addr(900), msg_shuffle{addr(900), 1, {addr(900), addr(901), addr(902)}, 5});
    n.on_message(micros{1}, addr(900), msg_forward_join{addr(903), 0});
    CHECK_FALSE(n.members().is_passive(addr(901)));
    CHECK_FALSE(n.members().is_active(addr(903)));
    CHECK(h.sent_of<msg_shuffle_reply>().empty());  // nothing of this node's views is told
    CHECK(h.sent_of<msg_join_reply>().empty());
    CHECK(h.sent_of<msg_disconnect>().size() == 2);  // the stranger is told, and the link closed
    CHECK(n.stats().messages_unexpected == 2);
  }
  SECTION("a walk from a neighbour this node just dropped (in its passive view) is still served") {
    n.on_message(micros{1}, addr(100), msg_disconnect{});
    REQUIRE(n.members().is_passive(addr(100)));
    h.clear();
    n.on_message(micros{2}, addr(100), msg_shuffle{addr(700), 1, {addr(700), addr(701)}, 6});
    CHECK(h.sent_of<msg_shuffle_reply>().size() == 1);
    CHECK(n.members().is_passive(addr(701)));
  }
  SECTION("a join walk's TTL is clamped to walk_length_active") {
    n.on_message(micros{1}, addr(100), msg_forward_join{addr(950), 255});
    auto fwd = h.sent_of<msg_forward_join>();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].second.ttl == cfg.membership.walk_length_active - 1);
  }
  SECTION("a shuffle's TTL is clamped, and it brings no more peers than a shuffle carries") {
    std::vector<peer_addr> many;
    for (std::uint32_t i = 0; i < 200; ++i) many.push_back(addr(3000 + i));
    n.on_message(micros{1}, addr(100), msg_shuffle{addr(3000), 255, many, 7});
    auto fwd = h.sent_of<msg_shuffle>();
    REQUIRE(fwd.size() == 1);
    CHECK(fwd[0].second.ttl == cfg.membership.walk_length_shuffle - 1);
    CHECK(fwd[0].second.nodes.size() == 1 + cfg.membership.shuffle_active + cfg.membership.shuffle_passive);
  }
}

TEST_CASE("a JOIN-REPLY is taken only while this node's own join is open", "[membership]") {
  auto cfg = small_config();
  cfg.seeds = {addr(2)};
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});  // JOIN to the seed
  // The contact answers, and so do the ends of the join's walks, which it never contacted.
  n.on_message(micros{10'000}, addr(2), msg_join_reply{});
  n.on_message(micros{300'000}, addr(40), msg_join_reply{});
  CHECK(n.members().is_active(addr(2)));
  CHECK(n.members().is_active(addr(40)));
  // Long after the join, a JOIN-REPLY is someone trying to get into the active view.
  h.clear();
  n.on_message(micros{60'000'000}, addr(66), msg_join_reply{});
  CHECK_FALSE(n.members().is_active(addr(66)));
  CHECK(h.disconnected == std::vector<peer_addr>{addr(66)});
  CHECK(h.sent_of<msg_disconnect>().size() == 1);  // it undoes its half of the link
  CHECK(n.stats().messages_unexpected == 1);
  // The first peer of an overlay never joins, so it never takes one.
  recording_host h1;
  const auto first_cfg = small_config();  // a node keeps a reference to its config
  node first(first_cfg, addr(2), 8, h1);
  first.start(micros{0});
  first.on_message(micros{1}, addr(66), msg_join_reply{});
  CHECK_FALSE(first.members().is_active(addr(66)));
}

TEST_CASE("a leaving peer is forgotten; a dropped one is kept in reserve", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 3);
  n.on_message(micros{1}, addr(100), msg_disconnect{true});
  n.on_message(micros{1}, addr(101), msg_disconnect{false});
  CHECK_FALSE(n.members().is_active(addr(100)));
  CHECK_FALSE(n.members().is_passive(addr(100)));
  CHECK(n.members().is_passive(addr(101)));
  // And a node that leaves says so.
  h.clear();
  n.leave(micros{2});
  for (const auto& [to, m] : h.sent_of<msg_disconnect>()) CHECK(m.leaving);
}

TEST_CASE("a timeout or a refusal never closes a link that became an overlay link meanwhile", "[membership]") {
  auto cfg = small_config();
  cfg.seeds = {addr(2)};
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  const auto join_timer = *h.first_timer(timer_kind::join_timeout);
  // Before the JOIN times out, the seed becomes a neighbour another way (it asked).
  n.on_message(micros{5}, addr(2), msg_neighbor{true});
  REQUIRE(n.members().is_active(addr(2)));
  h.clear();
  n.on_timer(join_timer.first, join_timer.second);
  CHECK(h.disconnected.empty());
  CHECK(n.members().is_active(addr(2)));
}

TEST_CASE("leave says DISCONNECT to every active neighbour", "[membership]") {
  auto cfg = small_config();
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 3);
  h.clear();
  n.leave(micros{1});
  CHECK(h.sent_of<msg_disconnect>().size() == 3);
  CHECK(n.members().active().empty());
  CHECK_FALSE(n.running());
}

TEST_CASE("forty nodes joining through one seed form a connected, symmetric overlay", "[membership]") {
  node_config cfg;  // paper defaults: active 5, passive 30
  cfg.seeds = {addr(0)};
  test_net net(cfg);
  for (std::uint64_t i = 0; i < 40; ++i) {
    net.add_node(1000 + i);
    net.at(i).start(net.now());
    net.run();
  }
  net.run_until(micros{60'000'000});  // a minute of shuffles and repairs

  for (std::size_t i = 0; i < net.size(); ++i) {
    const auto active = net.at(i).members().active();
    INFO("node " << i);
    CHECK(active.size() >= 1);
    CHECK(active.size() <= cfg.membership.view_size_active);
    CHECK(net.at(i).members().passive().size() <= cfg.membership.view_size_passive);
    for (const auto& p : active) {
      // Symmetry: every active link is known at both ends.
      CHECK(contains(net.at(test_net::index_of(p)).members().active(), addr(static_cast<std::uint32_t>(i))));
    }
  }
  // Connectivity: a walk over active links from node 0 reaches everyone.
  CHECK(net.reachable_from(0).size() == net.size());
}

TEST_CASE("crashed neighbours are detected and views repaired", "[membership]") {
  node_config cfg;
  cfg.seeds = {addr(0)};
  test_net net(cfg);
  for (std::uint64_t i = 0; i < 30; ++i) {
    net.add_node(2000 + i);
    net.at(i).start(net.now());
    net.run();
  }
  net.run_until(micros{30'000'000});
  for (std::size_t i = 20; i < 30; ++i) net.crash(i);
  net.run_until(micros{120'000'000});

  // From node 0 the views reach every live node, and list no crashed one.
  const auto alive_reached = net.reachable_from(0);
  for (const auto j : alive_reached) {
    INFO("a view still lists crashed node " << j);
    CHECK(j < 20);
  }
  CHECK(alive_reached.size() == 20);
  for (std::size_t i = 0; i < 20; ++i) CHECK(net.at(i).members().active().size() >= 1);
}

TEST_CASE("one network group cannot fill the passive view; private ranges are exempt", "[membership]") {
  auto cfg = small_config();
  cfg.membership.view_size_passive = 12;
  cfg.membership.passive_per_group_max = 3;
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 1);
  const auto pub = [](std::uint32_t net, std::uint32_t host) {
    return peer_addr::from_ipv4((203u << 24) | (net << 8) | host, 7000);  // 203.0.NET.HOST, public
  };
  // Shuffle walks that end here, each bringing peers of one attacker's /24.
  for (std::uint32_t round = 0; round < 6; ++round) {
    std::vector<peer_addr> carried;
    for (std::uint32_t k = 0; k < 6; ++k) carried.push_back(pub(113, 10 * round + k + 1));
    n.on_message(micros{round}, addr(100), msg_shuffle{carried[0], 1, carried, round + 1});
  }
  auto count_group = [&](std::uint32_t net) {
    std::size_t c = 0;
    for (const auto& p : n.members().passive()) {
      if (network_group(p) == network_group(pub(net, 1))) ++c;
    }
    return c;
  };
  CHECK(count_group(113) == 3);
  // Other groups still come in, and private addresses (a test network) are not limited.
  n.on_message(micros{10}, addr(100), msg_shuffle{pub(7, 1), 1, {pub(7, 1), pub(8, 1), pub(9, 1)}, 99});
  CHECK(count_group(7) == 1);
  CHECK(count_group(9) == 1);
  n.remember_peers(std::vector<peer_addr>{addr(600), addr(601), addr(602), addr(603), addr(604)});
  std::size_t private_count = 0;
  for (const auto& p : n.members().passive()) {
    if (is_private(p)) ++private_count;
  }
  CHECK(private_count >= 5);
}

namespace {
// A public address in /24 number `net` (203.net/16 .. : distinct groups for distinct nets).
peer_addr public_addr(std::uint32_t net, std::uint32_t host = 1) {
  return peer_addr::from_ipv4((203u << 24) | ((net & 0xFFFFu) << 8) | (host & 0xFFu), 7000);
}

// A node (address 1) that joined through addr(2) and then asked `asked` passive peers (400,
// 401, ...) for links, one repair tick each: all of them accepted, so it holds 1 + asked
// outbound entries.
// (The other newcomer rules, active_protected and active_admit_interval, are off unless
// `others` is set: these tests are about the outbound places alone.)
struct outbound_node {
  explicit outbound_node(std::uint32_t outbound_min, std::uint32_t asked, bool others = false) {
    cfg.seeds = {addr(2)};  // view 5, passive 30
    cfg.membership.active_outbound_min = outbound_min;
    if (!others) {
      cfg.membership.active_protected = 0;
      cfg.membership.active_admit_interval = micros{0};
    }
    n.emplace(cfg, addr(1), 7, h);
    n->start(micros{0});
    n->on_message(micros{1'000}, addr(2), msg_join_reply{});  // the contact: outbound
    for (std::uint32_t k = 0; k < asked; ++k) {
      const micros tick{10'000'000 * (k + 1)};
      n->remember_peers(std::vector<peer_addr>{addr(400 + k)});
      h.clear();
      n->on_timer(tick, {timer_kind::repair, 0});
      const auto asks = h.sent_of<msg_neighbor>();
      REQUIRE(asks.size() == 1);
      REQUIRE(asks[0].first == addr(400 + k));
      n->on_message(tick + micros{1'000}, addr(400 + k), msg_neighbor_reply{true});
    }
    h.clear();
  }
  node_config cfg;
  recording_host h;
  std::optional<node> n;
};
}  // namespace

TEST_CASE("outbound entries: a flood of JOINs from many addresses cannot push them out", "[membership]") {
  outbound_node o(2, 1);
  node& n = *o.n;
  REQUIRE(n.members().outbound_count() == 2);
  CHECK(n.members().is_outbound(addr(2)));    // its join contact
  CHECK(n.members().is_outbound(addr(400)));  // the peer it asked
  // Two hundred joiners from as many network groups, each taken in by this node as a contact.
  for (std::uint32_t i = 0; i < 200; ++i) {
    n.on_message(micros{100'000'000 + i}, public_addr(i), msg_join{});
    REQUIRE(n.members().is_active(public_addr(i)));  // every joiner is taken in...
    REQUIRE(n.members().active().size() <= o.cfg.membership.view_size_active);
    REQUIRE(n.members().is_active(addr(2)));  // ...and neither outbound entry ever leaves
    REQUIRE(n.members().is_active(addr(400)));
  }
  CHECK(n.members().active().size() == 5);
  CHECK(n.members().outbound_count() == 2);
  // Nor do the other incoming kinds: high-priority NEIGHBOR requests and join walks ending here.
  for (std::uint32_t i = 200; i < 300; ++i) {
    n.on_message(micros{200'000'000 + i}, public_addr(i), msg_neighbor{true});
    const peer_addr neighbour = n.members().active()[0] == addr(2) ? n.members().active()[1] : n.members().active()[0];
    n.on_message(micros{200'000'000 + i}, neighbour, msg_forward_join{public_addr(1000 + i), 0});
  }
  CHECK(n.members().is_active(addr(2)));
  CHECK(n.members().is_active(addr(400)));
  // The entries that came in unrequested, 3 of 5, are the ones that changed hands.
  std::size_t flood = 0;
  for (const auto& p : n.members().active()) flood += p.ipv4() >> 24 == 203 ? 1u : 0u;
  CHECK(flood == 3);
}

TEST_CASE("outbound entries: without the rule the same flood evicts them", "[membership]") {
  outbound_node o(0, 1);
  node& n = *o.n;
  for (std::uint32_t i = 0; i < 200; ++i) n.on_message(micros{100'000'000 + i}, public_addr(i), msg_join{});
  // Each joiner evicts one of five at random: both are gone long before the 200th.
  CHECK_FALSE(n.members().is_active(addr(2)));
  CHECK_FALSE(n.members().is_active(addr(400)));
}

TEST_CASE("outbound entries: above the minimum they may go, down to it, never below", "[membership]") {
  outbound_node o(2, 3);  // the contact and 400, 401, 402: 4 outbound of 5
  node& n = *o.n;
  REQUIRE(n.members().outbound_count() == 4);
  std::uint32_t lowest = 4;
  for (std::uint32_t i = 0; i < 200; ++i) {
    n.on_message(micros{100'000'000 + i}, public_addr(i), msg_join{});
    lowest = std::min(lowest, n.members().outbound_count());
  }
  CHECK(lowest == 2);
  CHECK(n.members().outbound_count() == 2);
  // The joiners came in unrequested: none of them counts as outbound.
  for (const auto& p : n.members().active()) {
    if (p.ipv4() >> 24 == 203) CHECK_FALSE(n.members().is_outbound(p));
  }
}

TEST_CASE("outbound entries: a join's walk ends and late acceptances come in unrequested", "[membership]") {
  auto cfg = small_config();  // view 3
  cfg.seeds = {addr(2)};
  cfg.membership.active_outbound_min = 10;  // more than the view: one place stays open (2 of 3 protected)
  cfg.membership.active_protected = 0;
  cfg.membership.active_admit_interval = micros{0};
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  n.on_message(micros{10'000}, addr(40), msg_join_reply{});  // a walk's end, before the contact
  n.on_message(micros{20'000}, addr(2), msg_join_reply{});   // the contact
  CHECK_FALSE(n.members().is_outbound(addr(40)));
  CHECK(n.members().is_outbound(addr(2)));
  n.on_message(micros{30'000}, addr(41), msg_neighbor_reply{true});  // accepted, never asked
  REQUIRE(n.members().is_active(addr(41)));
  CHECK_FALSE(n.members().is_outbound(addr(41)));
  CHECK(n.members().outbound_count() == 1);
  // Full (3 of 3), one outbound: newcomers take the places of the other two, and still find one.
  for (std::uint32_t i = 0; i < 20; ++i) {
    n.on_message(micros{40'000 + i}, public_addr(i), msg_neighbor{true});
    REQUIRE(n.members().is_active(public_addr(i)));
    REQUIRE(n.members().is_active(addr(2)));
  }
}

TEST_CASE("the passive view's group limit tells IPv6 /48s and IPv4 /24s apart", "[membership]") {
  auto cfg = small_config();
  cfg.membership.view_size_passive = 40;
  cfg.membership.passive_per_group_max = 2;
  recording_host h;
  node n(cfg, addr(1), 7, h);
  n.start(micros{0});
  fill_active(n, 1);
  // 2001:db8:G:S::H, port 7000: G names the /48, S and H vary inside it.
  const auto v6 = [](std::uint16_t g, std::uint16_t subnet, std::uint8_t host) {
    peer_addr a;
    a.ip = {0x20, 0x01, 0x0d, 0xb8, static_cast<std::uint8_t>(g >> 8), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(subnet >> 8),
            static_cast<std::uint8_t>(subnet), 0, 0, 0, 0, 0, 0, 0, host};
    a.port = 7000;
    return a;
  };
  std::vector<peer_addr> offered;
  for (std::uint8_t k = 1; k <= 5; ++k) offered.push_back(v6(7, k, k));         // one /48, five /64s
  for (std::uint8_t k = 1; k <= 3; ++k) offered.push_back(v6(8, 0, k));         // another /48
  for (std::uint8_t k = 1; k <= 3; ++k) offered.push_back(public_addr(9, k));   // one /24
  n.remember_peers(offered);
  // An IPv6 address whose last eight bytes are those of an IPv4-mapped one in the full /24
  // (::ffff:203.0.9.77) is in its own /48, not in that /24.
  peer_addr tricky = v6(0, 0, 1);
  tricky.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 9, 77};
  n.remember_peers(std::vector<peer_addr>{tricky});
  auto in_group = [&](const peer_addr& like) {
    std::size_t c = 0;
    for (const auto& p : n.members().passive()) c += network_group(p) == network_group(like) ? 1u : 0u;
    return c;
  };
  CHECK(in_group(v6(7, 1, 1)) == 2);
  CHECK(in_group(v6(8, 0, 1)) == 2);
  CHECK(in_group(public_addr(9, 1)) == 2);
  CHECK(n.members().is_passive(tricky));
  CHECK(in_group(public_addr(9, 1)) == 2);
  CHECK(n.members().passive().size() == 7);
}

namespace {
// A node (address 1, view 5) with the newcomer rules set as given, started with no seed.
struct rules_node {
  rules_node(std::uint32_t per_group, std::uint32_t protect, micros interval) {
    cfg.membership.active_per_group_max = per_group;
    cfg.membership.active_protected = protect;
    cfg.membership.active_admit_interval = interval;
    n.emplace(cfg, addr(1), 7, h);
    n->start(micros{0});
    h.clear();
  }
  bool accepted_neighbor(micros now, const peer_addr& from, bool high) {
    h.clear();
    n->on_message(now, from, msg_neighbor{high});
    const auto replies = h.sent_of<msg_neighbor_reply>();
    REQUIRE(replies.size() == 1);
    return replies[0].second.accepted;
  }
  node_config cfg;
  recording_host h;
  std::optional<node> n;
};
}  // namespace

TEST_CASE("active view: one entry per network group, private ranges exempt, and repairs ask other groups",
          "[membership]") {
  for (const std::uint32_t per_group : {1u, 0u}) {
    INFO("active_per_group_max " << per_group);
    rules_node r(per_group, 0, micros{0});
    node& n = *r.n;
    REQUIRE(r.accepted_neighbor(micros{1'000}, public_addr(9, 1), true));
    // A JOIN from the same /24: kept in reserve, not answered, and its walks still go out.
    r.h.clear();
    n.on_message(micros{2'000}, public_addr(9, 2), msg_join{});
    const bool second_in = n.members().is_active(public_addr(9, 2));
    // A NEIGHBOR request of high priority from it: refused (another group would be taken in).
    const bool third_in = r.accepted_neighbor(micros{3'000}, public_addr(9, 3), true);
    const bool other_in = r.accepted_neighbor(micros{4'000}, public_addr(10, 1), true);
    // Private addresses (one test network) are not limited.
    const bool private_in = r.accepted_neighbor(micros{5'000}, addr(50), true);
    CHECK(other_in);
    CHECK(private_in);
    if (per_group == 1) {
      CHECK_FALSE(second_in);
      CHECK(n.members().is_passive(public_addr(9, 2)));
      CHECK_FALSE(third_in);
      CHECK_FALSE(n.members().is_active(public_addr(9, 3)));
    } else {
      CHECK(second_in);
      CHECK(third_in);
    }
    // Repairs: passive peers of the groups present are not asked.
    rules_node fresh(per_group, 0, micros{0});
    REQUIRE(fresh.accepted_neighbor(micros{1'000}, public_addr(9, 1), true));
    REQUIRE(fresh.accepted_neighbor(micros{2'000}, public_addr(10, 1), true));
    std::vector<peer_addr> reserve;
    for (std::uint32_t k = 10; k < 13; ++k) reserve.push_back(public_addr(9, k));
    for (std::uint32_t k = 10; k < 13; ++k) reserve.push_back(public_addr(10, k));
    reserve.push_back(public_addr(11, 1));
    fresh.n->remember_peers(reserve);
    std::size_t asked = 0, asked_present = 0;
    for (std::uint32_t tick = 1; tick <= 20; ++tick) {
      const micros at{10'000'000 * tick};
      fresh.h.clear();
      fresh.n->on_timer(at, {timer_kind::repair, 0});
      for (const auto& [to, m] : fresh.h.sent_of<msg_neighbor>()) {
        ++asked;
        if (network_group(to) == network_group(public_addr(9)) || network_group(to) == network_group(public_addr(10))) {
          ++asked_present;
        }
        fresh.n->on_message(at + micros{1}, to, msg_neighbor_reply{false});  // refused: the view stays short
      }
    }
    CHECK(asked > 0);
    if (per_group == 1) {
      CHECK(asked_present == 0);
    } else {
      CHECK(asked_present > 0);
    }
  }
}

TEST_CASE("active view: newcomers cannot evict the inbound entries held longest", "[membership]") {
  for (const std::uint32_t protect : {2u, 0u}) {
    INFO("active_protected " << protect);
    outbound_node o(2, 1, true);  // outbound: the contact and 400
    node& n = *o.n;
    o.cfg.membership.active_protected = protect;  // (the node keeps a reference to cfg)
    o.cfg.membership.active_admit_interval = micros{0};
    // Three peers that came in first: 500, 501, 502 (private: no group rule).
    for (std::uint32_t k = 0; k < 3; ++k) n.on_message(micros{50'000'000 + k}, addr(500 + k), msg_neighbor{true});
    REQUIRE(n.members().active().size() == 5);
    // Then a flood of newcomers from two hundred groups: JOINs and high-priority NEIGHBORs.
    for (std::uint32_t i = 0; i < 200; ++i) {
      const micros at{100'000'000 + 1'000 * i};
      if (i % 2 == 0) {
        n.on_message(at, public_addr(i), msg_join{});
      } else {
        n.on_message(at, public_addr(i), msg_neighbor{true});
      }
      REQUIRE(n.members().is_active(public_addr(i)));  // every one is still taken in...
      REQUIRE(n.members().active().size() == 5);
    }
    CHECK(n.members().is_active(addr(2)));  // (outbound places)
    CHECK(n.members().is_active(addr(400)));
    if (protect == 2) {
      // ...in the one place left: the two oldest inbound entries never leave.
      CHECK(n.members().is_active(addr(500)));
      CHECK(n.members().is_active(addr(501)));
      CHECK_FALSE(n.members().is_active(addr(502)));
    } else {
      CHECK_FALSE(n.members().is_active(addr(500)));
      CHECK_FALSE(n.members().is_active(addr(501)));
    }
  }
}

TEST_CASE("active view: newcomers into a full view are taken at most once per admission interval", "[membership]") {
  for (const micros interval : {micros{5'000'000}, micros{0}}) {
    INFO("active_admit_interval " << interval.count() << " us");
    rules_node r(1, 0, interval);
    node& n = *r.n;
    // A view with room takes newcomers whenever they come.
    for (std::uint32_t k = 0; k < 5; ++k) REQUIRE(r.accepted_neighbor(micros{1'000 + k}, public_addr(k), true));
    REQUIRE(n.members().active().size() == 5);
    // Full: the first newcomer is taken in (evicting one)...
    REQUIRE(r.accepted_neighbor(micros{10'000'000}, public_addr(20), true));
    // ...the next ones within the interval are not: a high-priority NEIGHBOR is refused, a
    // JOIN is kept in reserve and its walks go on, a walk's end does not take the joiner.
    const bool neighbor_in = r.accepted_neighbor(micros{11'000'000}, public_addr(21), true);
    r.h.clear();
    n.on_message(micros{12'000'000}, public_addr(22), msg_join{});
    const bool join_in = n.members().is_active(public_addr(22));
    const auto walks = r.h.sent_of<msg_forward_join>().size();
    const peer_addr neighbour = n.members().active()[0];
    n.on_message(micros{13'000'000}, neighbour, msg_forward_join{public_addr(23), 0});
    const bool walk_in = n.members().is_active(public_addr(23));
    CHECK(walks == (interval.count() > 0 ? 5u : 4u));  // to every neighbour but the joiner
    if (interval.count() > 0) {
      CHECK_FALSE(neighbor_in);
      CHECK_FALSE(join_in);
      CHECK(n.members().is_passive(public_addr(22)));
      CHECK_FALSE(walk_in);
      // Once the interval has passed, the next newcomer is taken in.
      CHECK(r.accepted_neighbor(micros{15'000'000}, public_addr(24), true));
      CHECK_FALSE(r.accepted_neighbor(micros{15'000'001}, public_addr(25), true));
    } else {
      CHECK(neighbor_in);
      CHECK(join_in);
      CHECK(walk_in);
    }
    CHECK(n.members().active().size() == 5);
  }
}

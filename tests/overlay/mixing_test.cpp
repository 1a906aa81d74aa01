// Mixing (membership_config::mix_period): the four-node swap of two links, the rules each
// step checks, and a small network that mixes for a minute and stays sound.

#include <catch2/catch.hpp>

#include <algorithm>

#include "tests/overlay/recording_host.hpp"

using namespace hearsay;
using hearsay::test::addr;
using hearsay::test::recording_host;
using hearsay::test::single;
using hearsay::test::test_net;

namespace {

node_config mixing_config(std::uint32_t active) {
  node_config cfg;
  cfg.membership.view_size_active = active;
  cfg.membership.view_size_passive = 6;
  cfg.membership.mix_period = micros{1'000'000};
  return cfg;
}

template <typename View>
bool has(const View& v, const peer_addr& p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

// Nodes I = 0, O = 1, C = 2, D = 3 with views of one: links I-O and C-D, and C in I's passive
// view (they were linked, then parted).
struct four {
  explicit four(const node_config& c) : cfg(c), net(cfg) {
    for (std::uint64_t i = 0; i < 4; ++i) net.add_node(900 + i);
    for (std::size_t i = 0; i < 4; ++i) net.at(i).start(net.now());
    net.link(0, 2);
    net.at(0).on_message(net.now(), addr(2), msg_disconnect{});
    net.at(2).on_message(net.now(), addr(0), msg_disconnect{});
    net.link(0, 1);
    net.link(2, 3);
    for (std::size_t i = 0; i < 4; ++i) net.host_of(i).clear();
  }
  std::span<const peer_addr> active(std::size_t i) { return net.at(i).members().active(); }
  const peer_view& passive(std::size_t i) { return net.at(i).members().passive(); }
  void mix(std::size_t i) {
    net.at(i).on_timer(net.now(), {timer_kind::mix, 0});
    net.run();
  }
  node_config cfg;  // (the network's nodes refer to it)
  test_net net;
};

}  // namespace

TEST_CASE("mixing: I-O and C-D become I-C and D-O, every view keeping its size", "[membership][mixing]") {
  four f(mixing_config(1));
  REQUIRE(f.active(0).size() == 1);
  REQUIRE(has(f.active(0), addr(1)));
  REQUIRE(has(f.active(2), addr(3)));
  REQUIRE(has(f.passive(0), addr(2)));
  f.mix(0);
  // The chain: offer to C, replace to D, switch to O, and three answers back.
  REQUIRE(f.net.host_of(0).sent_of<msg_mix_offer>().size() == 1);
  CHECK(f.net.host_of(0).sent_of<msg_mix_offer>()[0].first == addr(2));
  CHECK(f.net.host_of(0).sent_of<msg_mix_offer>()[0].second.old == addr(1));
  REQUIRE(f.net.host_of(2).sent_of<msg_mix_replace>().size() == 1);
  CHECK(f.net.host_of(2).sent_of<msg_mix_replace>()[0].first == addr(3));
  REQUIRE(f.net.host_of(3).sent_of<msg_mix_switch>().size() == 1);
  CHECK(f.net.host_of(3).sent_of<msg_mix_switch>()[0].first == addr(1));
  CHECK(f.net.host_of(1).sent_of<msg_mix_answer>().at(0).second.accepted);

  CHECK((f.active(0).size() == 1 && has(f.active(0), addr(2))));
  CHECK((f.active(2).size() == 1 && has(f.active(2), addr(0))));
  CHECK((f.active(3).size() == 1 && has(f.active(3), addr(1))));
  CHECK((f.active(1).size() == 1 && has(f.active(1), addr(3))));
  // The links given up are kept in reserve.
  CHECK(has(f.passive(0), addr(1)));
  CHECK(has(f.passive(1), addr(0)));
  CHECK(has(f.passive(2), addr(3)));
  CHECK(has(f.passive(3), addr(2)));
  // No DISCONNECT: each end knows from the swap. Of each link, the end that lets it go last
  // closes it (I closes I-O, C closes C-D); the first keeps it open, since a link closed under
  // a peer that still counts it is a failure there.
  for (std::size_t i = 0; i < 4; ++i) CHECK(f.net.host_of(i).sent_of<msg_disconnect>().empty());
  CHECK(f.net.host_of(0).disconnected == std::vector<peer_addr>{addr(1)});
  CHECK(f.net.host_of(2).disconnected == std::vector<peer_addr>{addr(3)});
  CHECK(f.net.host_of(1).disconnected.empty());
  CHECK(f.net.host_of(3).disconnected.empty());
  CHECK(f.net.at(0).stats().mixes_started == 1);
  CHECK(f.net.at(0).stats().mixes_done == 1);
}

TEST_CASE("mixing: a candidate with room takes the initiator in at once, and O is told", "[membership][mixing]") {
  auto cfg = mixing_config(1);
  cfg.membership.repair = false;  // C's view stays short until the offer comes
  four f(cfg);
  // C loses D: it has room, so the offer is answered directly.
  f.net.at(2).on_message(f.net.now(), addr(3), msg_disconnect{});
  f.net.at(3).on_message(f.net.now(), addr(2), msg_disconnect{});
  f.net.host_of(2).clear();
  f.mix(0);
  CHECK(f.net.host_of(2).sent_of<msg_mix_replace>().empty());
  CHECK(has(f.active(0), addr(2)));
  CHECK(has(f.active(2), addr(0)));
  // O was not part of it: DISCONNECT, and it is left to repair.
  REQUIRE(f.net.host_of(0).sent_of<msg_disconnect>().size() == 1);
  CHECK(f.net.host_of(0).sent_of<msg_disconnect>()[0].first == addr(1));
  CHECK(f.active(1).empty());
  CHECK(f.net.at(0).stats().mixes_done == 1);
}

TEST_CASE("mixing: off, a node neither offers nor takes part", "[membership][mixing]") {
  auto cfg = mixing_config(1);
  cfg.membership.mix_period = micros{0};
  four f(cfg);
  f.mix(0);  // a stray timer: nothing is offered
  CHECK(f.net.host_of(0).sent_of<msg_mix_offer>().empty());

  single s(cfg, 1);
  s.n.on_message(micros{0}, addr(9), msg_mix_offer{addr(100), 77});
  s.n.on_message(micros{0}, addr(9), msg_mix_switch{addr(100), 78});
  s.n.on_message(micros{0}, addr(100), msg_mix_replace{addr(7), addr(8), 79});
  const auto answers = s.h.sent_of<msg_mix_answer>();
  REQUIRE(answers.size() == 3);
  for (const auto& [to, a] : answers) CHECK_FALSE(a.accepted);
  CHECK(s.n.members().active().size() == 1);
  CHECK(has(s.n.members().active(), addr(100)));
  CHECK(s.h.sent_of<msg_mix_switch>().empty());
}

TEST_CASE("mixing: a switch never takes a protected member, and a newcomer passes admission", "[membership][mixing]") {
  auto cfg = mixing_config(5);
  cfg.membership.active_outbound_min = 2;
  cfg.membership.active_protected = 2;
  single s(cfg, 5);  // 100 .. 104, all inbound: 100 and 101 are the oldest, protected
  s.n.on_message(micros{0}, addr(9), msg_mix_switch{addr(100), 50});
  s.n.on_message(micros{0}, addr(9), msg_mix_switch{addr(101), 51});
  s.n.on_message(micros{0}, addr(9), msg_mix_switch{addr(77), 52});  // not a member at all
  CHECK(s.n.members().active().size() == 5);
  CHECK_FALSE(has(s.n.members().active(), addr(9)));
  s.n.on_message(micros{0}, addr(9), msg_mix_switch{addr(103), 53});
  CHECK(has(s.n.members().active(), addr(9)));
  CHECK_FALSE(has(s.n.members().active(), addr(103)));
  CHECK(has(s.n.members().passive(), addr(103)));
  CHECK(s.n.members().active().size() == 5);
  const auto answers = s.h.sent_of<msg_mix_answer>();
  REQUIRE(answers.size() == 4);
  CHECK_FALSE(answers[0].second.accepted);
  CHECK_FALSE(answers[1].second.accepted);
  CHECK_FALSE(answers[2].second.accepted);
  CHECK(answers[3].second.accepted);

  // With an admission interval, a second newcomer within it is refused.
  auto slow = mixing_config(5);
  slow.membership.active_outbound_min = 0;
  slow.membership.active_protected = 0;
  slow.membership.active_admit_interval = micros{5'000'000};
  single t(slow, 5);
  t.n.on_message(micros{1'000}, addr(9), msg_mix_switch{addr(103), 60});
  t.n.on_message(micros{2'000}, addr(8), msg_mix_switch{addr(104), 61});
  CHECK(has(t.n.members().active(), addr(9)));
  CHECK_FALSE(has(t.n.members().active(), addr(8)));
  CHECK(has(t.n.members().active(), addr(104)));
}

TEST_CASE("mixing: a replace is taken only from an active neighbour, an answer only from whom it is awaited",
          "[membership][mixing]") {
  single s(mixing_config(5), 5);
  s.n.on_message(micros{0}, addr(9), msg_mix_replace{addr(7), addr(8), 70});  // 9 is no neighbour
  CHECK(s.h.sent_of<msg_mix_switch>().empty());
  CHECK_FALSE(s.h.sent_of<msg_mix_answer>().at(0).second.accepted);

  const auto before = s.n.stats().messages_unexpected;
  for (auto step : {mix_step::offer, mix_step::replace, mix_step::swap}) {
    s.n.on_message(micros{0}, addr(100), msg_mix_answer{step, true, false, 1234});
  }
  CHECK(s.n.stats().messages_unexpected == before + 3);
  CHECK(s.n.members().active().size() == 5);

  // The node's own offer: the answer counts from the candidate only, with its nonce.
  four f(mixing_config(1));
  f.net.at(0).on_timer(f.net.now(), {timer_kind::mix, 0});  // the offer is queued, not delivered
  const auto offer = f.net.host_of(0).sent_of<msg_mix_offer>().at(0).second;
  f.net.at(0).on_message(f.net.now(), addr(3), msg_mix_answer{mix_step::offer, true, true, offer.nonce});
  f.net.at(0).on_message(f.net.now(), addr(2), msg_mix_answer{mix_step::offer, true, true, offer.nonce + 1});
  CHECK(has(f.active(0), addr(1)));
  CHECK(f.net.at(0).stats().mixes_done == 0);
}

TEST_CASE("forty nodes that mix for a minute stay connected and symmetric, with full views", "[membership][mixing]") {
  node_config cfg;  // paper defaults: active 5, passive 30; the eviction rules on
  cfg.seeds = {addr(0)};
  cfg.membership.mix_period = micros{1'000'000};
  test_net net(cfg);
  for (std::uint64_t i = 0; i < 40; ++i) {
    net.add_node(3000 + i);
    net.at(i).start(net.now());
    net.run();
  }
  net.run_until(micros{60'000'000});

  std::uint64_t started = 0, done = 0;
  std::size_t full = 0;
  for (std::size_t i = 0; i < net.size(); ++i) {
    const auto active = net.at(i).members().active();
    INFO("node " << i);
    CHECK(active.size() >= 1);
    CHECK(active.size() <= cfg.membership.view_size_active);
    full += active.size() == cfg.membership.view_size_active ? 1u : 0u;
    for (const auto& p : active) CHECK(has(net.at(test_net::index_of(p)).members().active(), addr(static_cast<std::uint32_t>(i))));
    started += net.at(i).stats().mixes_started;
    done += net.at(i).stats().mixes_done;
  }
  CHECK(full >= 36);
  // Every full node offers once a second: most offers are made, and many swap.
  CHECK(started > 40 * 30);
  CHECK(done > started / 10);
  CHECK(net.reachable_from(0).size() == net.size());
}

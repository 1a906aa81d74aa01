// A node on the open internet, attacked the ways it was: seeds that refuse connections,
// connections that trickle a byte now and then, and floods of connections from a handful of
// addresses. Real nodes on 127.0.0.1 (the whole 127/8 is loopback: an attacker's "other
// addresses" are 127.0.0.2, 127.0.0.3 ...).

#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "overlay/codec.hpp"
#include "tests/transport/cluster.hpp"
#include "tests/transport/tls_peer.hpp"
#include "transport/net_node.hpp"
#include "transport/sha256.hpp"

using namespace hearsay;
using namespace hearsay::net;
using namespace hearsay::net::testing;

namespace {

std::vector<std::uint8_t> hello_from(const peer_addr& me, const std::string& network) {
  return codec::encode_frame(me, msg_hello{network, me, "attacker", false});
}

// A port nothing listens on: bound, then closed.
std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  return port;
}

}  // namespace

TEST_CASE("a seed that refuses connections is dialled on a backoff, with a line at info level", "[net][abuse]") {
  const auto dead_seed = *peer_addr::parse("127.0.0.1:" + std::to_string(closed_port()));
  std::FILE* log_file = std::tmpfile();
  REQUIRE(log_file != nullptr);
  logger log(log_level::info, log_file);
  asio::io_context io;
  temp_dir dir("backoff");
  net_config cfg;
  cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
  cfg.overlay.seeds = {dead_seed};
  cfg.overlay.membership.request_timeout = micros{500'000};  // the overlay asks again often
  net_node n(io, cfg, log);
  REQUIRE(n.start());
  io.run_for(std::chrono::milliseconds(6'500));
  // Without a backoff the node dialled as fast as refusals came back (a busy loop); with it,
  // the dials follow 1 s, 2 s, 4 s steps (each between half and all of its step): at most
  // one at start and four more in 6.5 s, and at least two in all.
  const auto dials = n.stats().connections_dialled;
  CHECK(dials >= 2);
  CHECK(dials <= 5);
  std::fflush(log_file);
  std::rewind(log_file);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), log_file));
  std::fclose(log_file);
  CHECK(text.find(" info  cannot reach " + dead_seed.to_string() + ": Connection refused; next try in ") !=
        std::string::npos);
}

TEST_CASE("a connection that trickles bytes is closed when idle, as if it sent nothing", "[net][abuse]") {
  cluster c("trickle-conn");
  c.tweak = [](net_config& cfg) { cfg.limits.idle_timeout = micros{1'500'000}; };
  c.add();
  const auto me = *peer_addr::parse("127.0.0.2:9");
  tls_peer s(c.io, c.nodes[0]->address(), *identity::ephemeral(), tls_peer::from("127.0.0.2"));
  s.start_reading();
  REQUIRE_FALSE(s.send(hello_from(me, "test")));
  // Then the first bytes of a frame, one every 300 ms (each in a TLS record of its own), never
  // a whole frame.
  const std::uint8_t prefix[] = {0x00, 0x10, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::size_t trickled = 0;
  bool write_failed = false;
  for (; trickled < sizeof prefix && !s.closed && !write_failed; ++trickled) {
    write_failed = static_cast<bool>(s.send(std::span(&prefix[trickled], 1)));
    c.run_for(std::chrono::milliseconds(300));
  }
  // Closed well before the trickle ended (16 bytes, 4.8 s).
  CHECK(s.closed_by_node(std::chrono::milliseconds(100)));
  CHECK(trickled < sizeof prefix);
}

TEST_CASE("a flood of connections from a few addresses cannot cut honest peers off", "[net][abuse]") {
  cluster c("flood");
  c.tweak = [](net_config& cfg) {
    cfg.limits.connections_max = 64;
    cfg.limits.connections_per_ip_max = 12;
    cfg.limits.connections_outbound_reserved = 16;
    cfg.limits.idle_timeout = micros{60'000'000};
  };
  c.add();
  c.add();
  REQUIRE(c.run_until([&] { return c.nodes[0]->overlay().members().active().size() == 1; }));
  const auto content = pattern(400'000, 41);
  write_file(c.configs[1].shared_dir / "wanted.bin", content);
  REQUIRE(c.nodes[1]->rescan());

  // 10 addresses, 12 connections each (each sends a HELLO, then nothing): more than the holder
  // takes from strangers. Each connection has a key of its own and claims a port of its own:
  // the holder knows an inbound link by its source IP and its HELLO's port, and refuses a
  // second key claiming an address it already knows another key at, so connections that
  // all claimed port 9 would be closed at their HELLO instead of holding slots.
  std::vector<std::unique_ptr<tls_peer>> flood;
  for (int a = 2; a < 12; ++a) {
    const std::string source = "127.0.0." + std::to_string(a);
    for (int k = 0; k < 12; ++k) {
      // A connection the holder refuses is closed before its handshake completes.
      auto s = tls_peer::try_connect(c.io, c.nodes[1]->address(), tls_peer::from(source));
      if (!s) continue;
      s->send(hello_from(*peer_addr::parse(source + ":" + std::to_string(9 + k)), "test"));
      flood.push_back(std::move(s));
    }
    c.run_for(std::chrono::milliseconds(20));
  }
  c.run_for(std::chrono::milliseconds(300));
  CHECK(c.nodes[1]->stats().connections_refused > 0);  // strangers past the inbound share
  CHECK(flood.size() < 10u * 12u);
  CHECK(c.nodes[1]->stats().connections_plaintext == 0);

  // The honest peer still fetches from it: its connection takes a reserved slot.
  fetch_status last;
  c.nodes[0]->fetch({"wanted.bin", content.size(), sha256_stream::of(content)}, {c.nodes[1]->address()},
                    [&](const fetch_status& s) { last = s; });
  REQUIRE(c.run_until([&] { return last.st != fetch_status::state::running; }));
  CHECK(last.st == fetch_status::state::done);
  CHECK(read_file(last.path) == content);
}

TEST_CASE("network groups: an IPv4 /24 or an IPv6 /48, private and loopback ranges told apart", "[net][abuse]") {
  const auto a = [](const char* text) { return *peer_addr::parse(text); };
  CHECK(network_group(a("203.0.113.7:1")) == network_group(a("203.0.113.250:2")));
  CHECK(network_group(a("203.0.113.7:1")) != network_group(a("203.0.114.7:1")));
  CHECK(network_group(a("[2001:db8:1::1]:1")) == network_group(a("[2001:db8:1:ffff::2]:1")));
  CHECK(network_group(a("[2001:db8:1::1]:1")) != network_group(a("[2001:db8:2::1]:1")));
  CHECK(network_group(a("1.0.0.1:1")) != network_group(a("[::1]:1")));
  for (const char* p : {"127.0.0.1:1", "10.1.2.3:1", "172.16.0.1:1", "172.31.255.1:1", "192.168.1.1:1",
                        "169.254.0.1:1", "100.64.0.1:1", "[::1]:1", "[fd00::1]:1", "[fe80::1]:1"}) {
    INFO(p);
    CHECK(is_private(a(p)));
  }
  for (const char* p : {"8.8.8.8:1", "172.32.0.1:1", "100.128.0.1:1", "203.0.113.1:1", "[2001:db8::1]:1"}) {
    INFO(p);
    CHECK_FALSE(is_private(a(p)));
  }
}

TEST_CASE("a fetching peer that hangs up mid-transfer costs the holder that transfer only", "[net][abuse]") {
  // A write into a connection the other side has reset raises SIGPIPE, which ends a process
  // that does not expect it: this test's process would die here. (Ranges were written with
  // sendfile(2) before TLS; they now go through TLS, and the same holds of those writes.)
  cluster c("hangup");
  c.add();
  const auto big = pattern(32u << 20, 43);
  write_file(c.configs[0].shared_dir / "big.iso", big);
  REQUIRE(c.nodes[0]->rescan());
  const auto me = *peer_addr::parse("127.0.0.1:9");
  for (int round = 0; round < 5; ++round) {
    tls_peer s(c.io, c.nodes[0]->address());
    auto frame = codec::encode_frame(me, msg_hello{"test", me, "hangs up", true});
    const auto request = codec::encode_frame(me, msg_fetch_request{sha256_stream::of(big), 0, 0});
    frame.insert(frame.end(), request.begin(), request.end());
    REQUIRE_FALSE(s.send(frame));
    REQUIRE(c.run_until([&] { return c.nodes[0]->stats().fetches_served == static_cast<std::uint64_t>(round + 1); }));
    s.start_reading(false);  // the answer's raw bytes are no frames
    REQUIRE(c.run_until([&] { return s.bytes_received > 0; }));
    s.reset();  // a reset, not a graceful close
    c.run_for(std::chrono::milliseconds(200));
  }
  CHECK(c.nodes[0]->stats().fetch_bytes_served < 5 * big.size());
  // Still serving: an ordinary fetch of a small file works.
  c.add();
  const auto small = pattern(3'000, 44);
  write_file(c.configs[0].shared_dir / "small.txt", small);
  REQUIRE(c.nodes[0]->rescan());
  fetch_status last;
  c.nodes[1]->fetch({"small.txt", small.size(), sha256_stream::of(small)}, {c.nodes[0]->address()},
                    [&](const fetch_status& st) { last = st; });
  REQUIRE(c.run_until([&] { return last.st != fetch_status::state::running; }));
  CHECK(last.st == fetch_status::state::done);
}

TEST_CASE("strangers' JOINs and a SHUFFLE from a non-neighbour neither take a node's own links nor its reserve", "[net][abuse]") {
  // The attack of the eclipse report, against a real node: connections that claim made-up
  // addresses in HELLO and send JOIN, and one that sends a SHUFFLE full of made-up addresses
  // without having joined.
  cluster c("eclipse-attempt");
  auto& seed = c.add();
  auto& victim = c.add();
  REQUIRE(c.run_until([&] { return victim.overlay().members().is_active(seed.address()); }));
  REQUIRE(victim.overlay().members().is_outbound(seed.address()));  // its join contact: its own choice
  const auto passive_before = victim.overlay().members().passive();

  std::vector<std::unique_ptr<tls_peer>> strangers;
  for (int i = 0; i < 10; ++i) {
    auto s = std::make_unique<tls_peer>(c.io, victim.address());
    s->start_reading();
    const auto claimed = *peer_addr::parse("198.51.100." + std::to_string(10 + i) + ":" + std::to_string(20000 + i));
    // The JOIN speaks as the address the node knows the link by (its source IP and the HELLO's
    // port), as a careful attacker would: a frame in the made-up address's name is dropped.
    const auto as_seen = *peer_addr::parse("127.0.0.1:" + std::to_string(20000 + i));
    auto bytes = hello_from(claimed, "test");
    const auto join = codec::encode_frame(as_seen, msg_join{});
    bytes.insert(bytes.end(), join.begin(), join.end());
    REQUIRE_FALSE(s->send(bytes));
    strangers.push_back(std::move(s));
    c.run_for(std::chrono::milliseconds(20));
  }
  // A SHUFFLE walk from a connection that never joined, listing 30 made-up addresses.
  tls_peer shuffler(c.io, victim.address());
  shuffler.start_reading();
  const auto origin = *peer_addr::parse("127.0.0.1:29999");
  msg_shuffle walk{origin, 3, {}, 77};
  for (int i = 0; i < 30; ++i) walk.nodes.push_back(*peer_addr::parse("198.51.100." + std::to_string(100 + i) + ":7000"));
  auto bytes = hello_from(origin, "test");
  const auto shuffle = codec::encode_frame(origin, walk);
  bytes.insert(bytes.end(), shuffle.begin(), shuffle.end());
  REQUIRE_FALSE(shuffler.send(bytes));
  c.run_for(std::chrono::milliseconds(500));

  const auto& m = victim.overlay().members();
  CHECK(m.is_active(seed.address()));  // ten newcomers did not evict the link it chose
  CHECK(m.active().size() <= 5);
  std::size_t strangers_active = 0;
  for (int i = 0; i < 10; ++i) {
    strangers_active += m.is_active(*peer_addr::parse("127.0.0.1:" + std::to_string(20000 + i))) ? 1u : 0u;
  }
  CHECK(strangers_active >= 1);  // the JOINs were taken: the test exercised the eviction rule
  auto made_up = [](const peer_addr& p) { return p.to_string().rfind("198.51.100.", 0) == 0; };
  for (const auto& p : m.active()) CHECK_FALSE(made_up(p));  // strangers are known by where they came from
  for (const auto& p : m.passive()) CHECK_FALSE(made_up(p));
  CHECK(m.passive().size() <= passive_before.size() + 10);  // at most the strangers, evicted into reserve
  // The walk was not served: no SHUFFLE-REPLY came back to it.
  for (const auto& f : shuffler.frames) CHECK_FALSE(std::holds_alternative<msg_shuffle_reply>(f.msg));
}

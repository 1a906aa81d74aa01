// Frames over a real socket: a hand-driven peer speaks to a node byte by byte, with wrong
// networks, oversize prefixes and frames before HELLO. Each bad connection is dropped alone;
// the node's real neighbour link never notices.

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "overlay/codec.hpp"
#include "transport/net_node.hpp"

using namespace hearsay;
using namespace hearsay::net;

namespace {

// Two nodes that are neighbours, and raw sockets on the same loop standing in for peers.
struct pair_fixture {
  pair_fixture() : log(log_level::error) {
    for (int i = 0; i < 2; ++i) {
      net_config cfg;
      cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
      cfg.network = "frames";
      cfg.seed = 11 + static_cast<std::uint64_t>(i);
      if (i == 1) cfg.overlay.seeds = {nodes[0]->address()};
      nodes.push_back(std::make_unique<net_node>(io, cfg, log));
      REQUIRE_FALSE(nodes.back()->start());
    }
    REQUIRE(run_until([&] { return nodes[0]->overlay().members().active().size() == 1; }));
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_for(std::chrono::milliseconds(2));
      if (io.stopped()) io.restart();
    }
    return true;
  }

  asio::ip::tcp::socket dial() {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), nodes[0]->address().port});
    return s;
  }

  // Reads whatever the node sent; false once the node has closed the connection.
  static bool drain(asio::ip::tcp::socket& s, codec::frame_reader& reader, std::vector<message>& got) {
    std::error_code ec;
    while (s.available(ec) > 0 && !ec) {
      std::array<std::uint8_t, 4096> buf{};
      const auto n = s.read_some(asio::buffer(buf), ec);
      if (ec) return false;
      REQUIRE(reader.feed(std::span(buf.data(), n)));
      for (auto f = reader.next(); !f.empty(); f = reader.next()) {
        auto r = codec::decode(f, codec::limits{});
        REQUIRE(r.ok());
        got.push_back(r.value.msg);
      }
    }
    // available() is 0 both when nothing arrived and when the peer closed: peek to tell.
    s.non_blocking(true);
    std::array<std::uint8_t, 1> probe{};
    s.receive(asio::buffer(probe), asio::socket_base::message_peek, ec);
    s.non_blocking(false);
    return !(ec == asio::error::eof || ec == asio::error::connection_reset);
  }

  bool closed_by_node(asio::ip::tcp::socket& s) {
    codec::frame_reader reader{codec::limits{}};
    std::vector<message> ignored;
    return run_until([&] { return !drain(s, reader, ignored); });
  }

  // The node's real neighbour is still there, on one overlay link.
  void neighbour_unharmed() {
    CHECK(nodes[0]->overlay().members().active().size() == 1);
    CHECK(nodes[0]->overlay().members().is_active(nodes[1]->address()));
    CHECK(nodes[0]->links() >= 1);
  }

  logger log;
  asio::io_context io;
  std::vector<std::unique_ptr<net_node>> nodes;
};

void write_bytewise(asio::ip::tcp::socket& s, const std::vector<std::uint8_t>& bytes) {
  for (auto b : bytes) asio::write(s, asio::buffer(&b, 1));
}

const peer_addr fake_peer = *peer_addr::parse("127.0.0.1:9");

}  // namespace

TEST_CASE("frames sent one byte at a time are read whole", "[net]") {
  pair_fixture f;
  auto s = f.dial();
  // Every byte in its own segment, each one read by the node before the next is sent: the
  // HELLO, then a PING that must be answered.
  s.set_option(asio::ip::tcp::no_delay(true));
  auto bytes = codec::encode_frame(fake_peer, msg_hello{"frames", fake_peer, "test", false});
  const auto ping = codec::encode_frame(fake_peer, msg_ping{42});
  bytes.insert(bytes.end(), ping.begin(), ping.end());
  for (auto b : bytes) {
    const auto before = f.nodes[0]->stats().bytes_in;
    asio::write(s, asio::buffer(&b, 1));
    REQUIRE(f.run_until([&] { return f.nodes[0]->stats().bytes_in > before; }));
  }
  codec::frame_reader reader{codec::limits{}};
  std::vector<message> got;
  auto pong_seen = [&] {
    for (const auto& m : got) {
      if (auto* p = std::get_if<msg_pong>(&m)) return p->nonce == 42;
    }
    return false;
  };
  REQUIRE(f.run_until([&] {
    REQUIRE(f.drain(s, reader, got));
    return pong_seen();
  }));
  REQUIRE_FALSE(got.empty());
  REQUIRE(std::holds_alternative<msg_hello>(got.front()));
  CHECK(std::get<msg_hello>(got.front()).network == "frames");
  CHECK(std::get<msg_hello>(got.front()).listen == f.nodes[0]->address());
  CHECK(f.nodes[0]->stats().frames_bad == 0);
  f.neighbour_unharmed();
}

TEST_CASE("an oversize length prefix drops the connection before any body arrives", "[net]") {
  pair_fixture f;
  const auto bad_before = f.nodes[0]->stats().frames_bad;
  auto s = f.dial();
  // 4 GiB announced; nothing follows. The node must not wait for (or buffer) the body.
  const std::vector<std::uint8_t> prefix{0xff, 0xff, 0xff, 0xff};
  asio::write(s, asio::buffer(prefix));
  CHECK(f.closed_by_node(s));
  CHECK(f.nodes[0]->stats().frames_bad == bad_before + 1);
  f.neighbour_unharmed();
}

TEST_CASE("a peer of another network is refused", "[net]") {
  pair_fixture f;
  auto s = f.dial();
  asio::write(s, asio::buffer(codec::encode_frame(fake_peer, msg_hello{"elsewhere", fake_peer, "test", false})));
  CHECK(f.closed_by_node(s));
  f.neighbour_unharmed();
}

TEST_CASE("a message before HELLO drops the connection", "[net]") {
  pair_fixture f;
  auto s = f.dial();
  asio::write(s, asio::buffer(codec::encode_frame(fake_peer, msg_ping{1})));
  CHECK(f.closed_by_node(s));
  f.neighbour_unharmed();
}

TEST_CASE("garbage after a good HELLO drops that connection and counts it", "[net]") {
  pair_fixture f;
  const auto bad_before = f.nodes[0]->stats().frames_bad;
  auto s = f.dial();
  asio::write(s, asio::buffer(codec::encode_frame(fake_peer, msg_hello{"frames", fake_peer, "test", false})));
  // A plausible length (16 bytes) with a body that is no FlatBuffers frame at all.
  std::vector<std::uint8_t> junk{16, 0, 0, 0};
  for (int i = 0; i < 16; ++i) junk.push_back(static_cast<std::uint8_t>(0xa5 ^ i));
  write_bytewise(s, junk);
  CHECK(f.closed_by_node(s));
  CHECK(f.nodes[0]->stats().frames_bad == bad_before + 1);
  f.neighbour_unharmed();
}

TEST_CASE("a frame claiming another sender than the link's HELLO is dropped and counted", "[net]") {
  pair_fixture f;
  const auto bad_before = f.nodes[0]->stats().frames_bad;
  auto s = f.dial();
  asio::write(s, asio::buffer(codec::encode_frame(fake_peer, msg_hello{"frames", fake_peer, "test", false})));
  // A DISCONNECT in the name of the real neighbour must not cut the neighbour off.
  asio::write(s, asio::buffer(codec::encode_frame(f.nodes[1]->address(), msg_disconnect{})));
  REQUIRE(f.run_until([&] { return f.nodes[0]->stats().frames_bad == bad_before + 1; }));
  f.run_until([] { return false; }, std::chrono::milliseconds(50));
  f.neighbour_unharmed();
}

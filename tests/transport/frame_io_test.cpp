// Frames over a real connection: a hand-driven peer (tests/transport/tls_peer.hpp) speaks to
// a node inside TLS, byte by byte, with wrong networks, oversize prefixes and frames before
// HELLO; and a peer of protocol 1 speaks plaintext. Each bad connection is dropped alone; the
// node's real neighbour link never notices.

#include <catch2/catch.hpp>

#include <algorithm>
#include <asio.hpp>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "overlay/codec.hpp"
#include "tests/transport/tls_peer.hpp"
#include "transport/net_node.hpp"

using namespace hearsay;
using namespace hearsay::net;
using hearsay::net::testing::tls_peer;

namespace {

// Two nodes that are neighbours, and hand-driven peers on the same loop.
struct pair_fixture {
  pair_fixture() : log(log_level::error) {
    for (int i = 0; i < 2; ++i) {
      net_config cfg;
      cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
      cfg.network = "frames";
      cfg.seed = 11 + static_cast<std::uint64_t>(i);
      if (i == 1) cfg.overlay.seeds = {nodes[0]->address()};
      nodes.push_back(std::make_unique<net_node>(io, cfg, log));
      REQUIRE(nodes.back()->start());
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

  // A peer that has completed its TLS handshake with node 0 (and has sent nothing yet).
  tls_peer dial() { return tls_peer(io, nodes[0]->address()); }

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

// The peers' HELLO says they listen at port 9. A link the peer dialled is known by its source
// IP with that port, so the node knows these peers as 127.0.0.1:9, the sender their frames
// must name.
const peer_addr fake_peer = *peer_addr::parse("127.0.0.1:9");

}  // namespace

TEST_CASE("frames sent one byte at a time are read whole", "[net]") {
  pair_fixture f;
  auto s = f.dial();
  // Every byte in its own TLS record (so its own segment), each one read by the node before
  // the next is sent: the HELLO, then a PING that must be answered.
  s.socket().set_option(asio::ip::tcp::no_delay(true));
  s.start_reading();
  auto bytes = codec::encode_frame(fake_peer, msg_hello{"frames", fake_peer, "test", false});
  const auto ping = codec::encode_frame(fake_peer, msg_ping{42});
  bytes.insert(bytes.end(), ping.begin(), ping.end());
  for (auto b : bytes) {
    const auto before = f.nodes[0]->stats().bytes_in;
    REQUIRE_FALSE(s.send(std::span(&b, 1)));
    REQUIRE(f.run_until([&] { return f.nodes[0]->stats().bytes_in > before; }));
  }
  auto pong_seen = [&] {
    for (const auto& d : s.frames) {
      if (auto* p = std::get_if<msg_pong>(&d.msg)) return p->nonce == 42;
    }
    return false;
  };
  REQUIRE(f.run_until(pong_seen));
  CHECK_FALSE(s.closed);
  CHECK(s.undecodable == 0);
  REQUIRE_FALSE(s.frames.empty());
  REQUIRE(std::holds_alternative<msg_hello>(s.frames.front().msg));
  CHECK(std::get<msg_hello>(s.frames.front().msg).network() == "frames");
  CHECK(std::get<msg_hello>(s.frames.front().msg).listen == f.nodes[0]->address());
  CHECK(s.node == f.nodes[0]->id());  // the handshake proved the node's key
  CHECK(f.nodes[0]->stats().frames_bad == 0);
  f.neighbour_unharmed();
}

TEST_CASE("an oversize length prefix drops the connection before any body arrives", "[net]") {
  pair_fixture f;
  const auto bad_before = f.nodes[0]->stats().frames_bad;
  auto s = f.dial();
  // 4 GiB announced; nothing follows. The node must not wait for (or buffer) the body.
  const std::vector<std::uint8_t> prefix{0xff, 0xff, 0xff, 0xff};
  REQUIRE_FALSE(s.send(prefix));
  CHECK(s.closed_by_node());
  CHECK(f.nodes[0]->stats().frames_bad == bad_before + 1);
  f.neighbour_unharmed();
}

TEST_CASE("a peer of another network is refused", "[net]") {
  pair_fixture f;
  const auto failed_before = f.nodes[0]->stats().connections_failed;
  auto s = f.dial();
  REQUIRE_FALSE(s.send(codec::encode_frame(fake_peer, msg_hello{"elsewhere", fake_peer, "test", false})));
  CHECK(s.closed_by_node());
  CHECK(f.nodes[0]->stats().connections_failed == failed_before + 1);
  CHECK(f.nodes[0]->stats().connections_plaintext == 0);  // refused for its network, inside TLS
  f.neighbour_unharmed();
}

TEST_CASE("a message before HELLO drops the connection", "[net]") {
  pair_fixture f;
  const auto failed_before = f.nodes[0]->stats().connections_failed;
  auto s = f.dial();
  REQUIRE_FALSE(s.send(codec::encode_frame(fake_peer, msg_ping{1})));
  CHECK(s.closed_by_node());
  CHECK(f.nodes[0]->stats().connections_failed == failed_before + 1);
  // Dropped, not answered.
  for (const auto& d : s.frames) CHECK_FALSE(std::holds_alternative<msg_pong>(d.msg));
  CHECK(f.nodes[0]->stats().connections_plaintext == 0);
  f.neighbour_unharmed();
}

TEST_CASE("garbage after a good HELLO drops that connection and counts it", "[net]") {
  pair_fixture f;
  const auto bad_before = f.nodes[0]->stats().frames_bad;
  auto s = f.dial();
  REQUIRE_FALSE(s.send(codec::encode_frame(fake_peer, msg_hello{"frames", fake_peer, "test", false})));
  // A plausible length (16 bytes) with a body that is no FlatBuffers frame at all.
  std::vector<std::uint8_t> junk{16, 0, 0, 0};
  for (int i = 0; i < 16; ++i) junk.push_back(static_cast<std::uint8_t>(0xa5 ^ i));
  s.send_bytewise(junk);  // the last bytes may find the connection closed already
  CHECK(s.closed_by_node());
  CHECK(f.nodes[0]->stats().frames_bad == bad_before + 1);
  f.neighbour_unharmed();
}

TEST_CASE("a frame claiming another sender than the link's HELLO is dropped and counted", "[net]") {
  pair_fixture f;
  const auto bad_before = f.nodes[0]->stats().frames_bad;
  auto s = f.dial();
  s.start_reading();
  // The HELLO claims an address that is not the connection's: the node knows the link as
  // 127.0.0.1:9 all the same (its source IP, the HELLO's port), and only that sender is the
  // link's (before TLS the HELLO's own address was).
  const auto claimed = *peer_addr::parse("10.1.2.3:9");
  REQUIRE_FALSE(s.send(codec::encode_frame(claimed, msg_hello{"frames", claimed, "test", false})));
  // A DISCONNECT in the name of the real neighbour must not cut the neighbour off.
  REQUIRE_FALSE(s.send(codec::encode_frame(f.nodes[1]->address(), msg_disconnect{})));
  REQUIRE(f.run_until([&] { return f.nodes[0]->stats().frames_bad == bad_before + 1; }));
  // Nor is a frame in the name of the address the HELLO claimed taken as the link's.
  REQUIRE_FALSE(s.send(codec::encode_frame(claimed, msg_ping{7})));
  REQUIRE(f.run_until([&] { return f.nodes[0]->stats().frames_bad == bad_before + 2; }));
  // The link itself is still good: a PING in its own name is answered.
  REQUIRE_FALSE(s.send(codec::encode_frame(fake_peer, msg_ping{8})));
  REQUIRE(f.run_until([&] {
    return std::any_of(s.frames.begin(), s.frames.end(), [](const codec::decoded& d) {
      return std::holds_alternative<msg_pong>(d.msg) && std::get<msg_pong>(d.msg).nonce == 8;
    });
  }));
  for (const auto& d : s.frames) {
    if (auto* pong = std::get_if<msg_pong>(&d.msg)) CHECK(pong->nonce == 8);  // PING 7 was not answered
  }
  CHECK(f.nodes[0]->stats().frames_bad == bad_before + 2);
  CHECK_FALSE(s.closed);
  f.run_until([] { return false; }, std::chrono::milliseconds(50));
  f.neighbour_unharmed();
}

namespace {

// The same frame as protocol 1 wrote it: frames of the two versions differ only in
// Frame.version (the table's first field, vtable offset 4), which this build writes as 2.
std::vector<std::uint8_t> as_protocol_1(std::vector<std::uint8_t> frame) {
  auto* table = flatbuffers::GetMutableRoot<flatbuffers::Table>(frame.data() + codec::prefix_bytes);
  REQUIRE(table->SetField<std::uint16_t>(4, 1, 0));
  return frame;
}

}  // namespace

TEST_CASE("a plaintext peer of protocol 1 gets a version-2 frame and is closed", "[net]") {
  pair_fixture f;
  const auto frame = as_protocol_1(codec::encode_frame(fake_peer, msg_hello{"frames", fake_peer, "old", false}));
  {
    // What this build makes of the frame it sends: protocol 1, a version it does not speak.
    const auto r = codec::decode(frame, codec::limits{});
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code() == codec::error::unknown_version);
    REQUIRE(r.error().message() == "version 1, this node speaks 2");
  }
  // An old node dials and speaks first, in plaintext, on a plain TCP socket.
  asio::ip::tcp::socket s(f.io);
  s.connect({asio::ip::make_address("127.0.0.1"), f.nodes[0]->address().port});
  asio::write(s, asio::buffer(frame));
  // It reads until the node closes the connection.
  std::vector<std::uint8_t> got;
  std::array<std::uint8_t, 4096> buf{};
  bool closed = false;
  std::error_code end;
  std::function<void()> pull = [&] {
    s.async_read_some(asio::buffer(buf), [&](const std::error_code& ec, std::size_t n) {
      if (ec) {
        closed = true;
        end = ec;
        return;
      }
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      pull();
    });
  };
  pull();
  REQUIRE(f.run_until([&] { return closed; }));
  CHECK((end == asio::error::eof || end == asio::error::connection_reset));
  // One plaintext frame, no more. An old node's decode refuses it as "unknown protocol version
  // (version 2, this node speaks 1)"; this build speaks version 2, so here it decodes, and its
  // version is what the old node is told.
  codec::frame_reader reader{codec::limits{}};
  REQUIRE(reader.feed(got));
  const auto first = reader.next();
  REQUIRE_FALSE(first.empty());
  const auto r = codec::decode(first, codec::limits{});
  REQUIRE(r.ok());
  CHECK(r->version == 2);
  CHECK(r->version == protocol_version);
  CHECK(r->sender == f.nodes[0]->address());
  REQUIRE(std::holds_alternative<msg_hello>(r->msg));
  CHECK(std::get<msg_hello>(r->msg).network() == "frames");
  CHECK(reader.next().empty());
  CHECK(reader.buffered() == 0);
  CHECK(f.nodes[0]->stats().connections_plaintext == 1);
  CHECK(f.nodes[0]->stats().frames_bad == 0);  // refused before any frame was read
  f.neighbour_unharmed();
}

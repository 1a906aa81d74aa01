// The wire codec: round trips, limits, and hostile input.

#include <catch2/catch.hpp>

#include "overlay/codec.hpp"
#include "overlay/rng.hpp"
#include "schemas/hearsay_generated.h"

using namespace hearsay;

namespace {

peer_addr a4(std::uint32_t v, std::uint16_t port = 7000) { return peer_addr::from_ipv4(v, port); }

sha256_digest digest(std::uint8_t seed) {
  sha256_digest d;
  for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = static_cast<std::uint8_t>(seed + i * 7);
  return d;
}

std::vector<message> samples() {
  peer_addr v6;
  v6.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  v6.port = 9000;
  return {
      msg_hello{"mainnet", a4(0x01020304, 4000), "hearsay/0.1", true},
      msg_join{},
      msg_forward_join{a4(0x0a000005), 6},
      msg_join_reply{},
      msg_neighbor{true},
      msg_neighbor_reply{false},
      msg_disconnect{},
      msg_shuffle{a4(0x0a000001), 5, {a4(0x0a000001), v6, a4(0x0a000003)}},
      msg_shuffle_reply{{a4(0x0a000009), a4(0x0a00000a)}},
      msg_query{0x1234567890abcdefULL, v6, 7, 2, true, "holiday photos 2019"},
      msg_query_hit{42, a4(0x0a000002), 3, {{"a.txt", 12, digest(1)}, {"b b.bin", 1ULL << 40, digest(2)}}},
      msg_fetch_request{digest(3), 65536},
      msg_fetch_chunk{digest(4), 10, 100, {1, 2, 3, 4, 5}},
      msg_fetch_error{digest(5), fetch_error_code::busy, "too many transfers"},
      msg_ping{77},
      msg_pong{78},
      msg_query{99, a4(0x0a000003), 100, 9, false, "walk", 2, 0},
      msg_query{98, a4(0x0a000003), 5, 1, false, "gossip", 1, 60},
      msg_walk_check{99},
      msg_walk_status{99, true},
  };
}

bool same(const message& x, const message& y) {
  if (x.index() != y.index()) return false;
  return std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        const T& b = std::get<T>(y);
        if constexpr (std::is_same_v<T, msg_hello>) return a.network == b.network && a.listen == b.listen && a.agent == b.agent && a.fetch_only == b.fetch_only;
        if constexpr (std::is_same_v<T, msg_forward_join>) return a.joiner == b.joiner && a.ttl == b.ttl;
        if constexpr (std::is_same_v<T, msg_neighbor>) return a.high_priority == b.high_priority;
        if constexpr (std::is_same_v<T, msg_neighbor_reply>) return a.accepted == b.accepted;
        if constexpr (std::is_same_v<T, msg_shuffle>) return a.origin == b.origin && a.ttl == b.ttl && a.nodes == b.nodes;
        if constexpr (std::is_same_v<T, msg_shuffle_reply>) return a.nodes == b.nodes;
        if constexpr (std::is_same_v<T, msg_query>) {
          return a.id == b.id && a.origin == b.origin && a.ttl == b.ttl && a.hops == b.hops &&
                 a.reply_direct == b.reply_direct && a.criteria == b.criteria && a.mode == b.mode &&
                 a.gossip_percent == b.gossip_percent;
        }
        if constexpr (std::is_same_v<T, msg_query_hit>) return a.id == b.id && a.holder == b.holder && a.hops == b.hops && a.files == b.files;
        if constexpr (std::is_same_v<T, msg_fetch_request>) return a.sha256 == b.sha256 && a.offset == b.offset;
        if constexpr (std::is_same_v<T, msg_fetch_chunk>) {
          return a.sha256 == b.sha256 && a.offset == b.offset && a.total_size == b.total_size && a.data == b.data;
        }
        if constexpr (std::is_same_v<T, msg_fetch_error>) return a.sha256 == b.sha256 && a.code == b.code && a.message == b.message;
        if constexpr (std::is_same_v<T, msg_ping> || std::is_same_v<T, msg_pong>) return a.nonce == b.nonce;
        if constexpr (std::is_same_v<T, msg_walk_check>) return a.id == b.id;
        if constexpr (std::is_same_v<T, msg_walk_status>) return a.id == b.id && a.go_on == b.go_on;
        return true;  // empty messages
      },
      x);
}

// A frame built by hand with the generated API, for cases the encoder never produces.
std::vector<std::uint8_t> raw_frame(std::uint16_t version, hearsay::wire::Message type, bool with_sender = true) {
  flatbuffers::FlatBufferBuilder fbb;
  flatbuffers::Offset<void> body;
  if (type == hearsay::wire::Message::Join) body = hearsay::wire::CreateJoin(fbb).Union();
  if (type == hearsay::wire::Message::Query) body = hearsay::wire::CreateQuery(fbb, 5, nullptr, 3, 1).Union();
  const auto sender = hearsay::wire::Addr(
      flatbuffers::span<const std::uint8_t, 16>(a4(0x0a000001).ip.data(), 16), 7000);
  const auto frame = hearsay::wire::CreateFrame(fbb, version, with_sender ? &sender : nullptr, type, body);
  hearsay::wire::FinishSizePrefixedFrameBuffer(fbb, frame);
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

}  // namespace

TEST_CASE("every message kind survives encode and decode", "[codec]") {
  codec::encoder enc;
  const auto sender = a4(0xc0a80001, 7001);
  for (const auto& m : samples()) {
    INFO(message_name(m));
    const auto bytes = enc.encode(sender, m);
    const std::vector<std::uint8_t> frame(bytes.begin(), bytes.end());
    auto r = codec::decode(frame, codec::limits{});
    REQUIRE(r.ok());
    CHECK(r.value.version == protocol_version);
    CHECK(r.value.sender == sender);
    CHECK(same(r.value.msg, m));
    // The same frame at an odd address in a buffer decodes the same.
    std::vector<std::uint8_t> shifted(frame.size() + 3);
    std::copy(frame.begin(), frame.end(), shifted.begin() + 3);
    auto s = codec::decode(std::span(shifted).subspan(3), codec::limits{});
    REQUIRE(s.ok());
    CHECK(same(s.value.msg, m));
  }
}

TEST_CASE("every truncation of a valid frame is refused cleanly", "[codec]") {
  for (const auto& m : samples()) {
    const auto frame = codec::encode_frame(a4(0x0a000001), m);
    for (std::size_t n = 0; n < frame.size(); ++n) {
      auto r = codec::decode(std::span(frame).first(n), codec::limits{});
      REQUIRE_FALSE(r.ok());
    }
  }
}

TEST_CASE("random corruption never crashes the decoder", "[codec]") {
  hearsay::rng random(2024);
  std::size_t refused = 0, accepted = 0;
  const auto all = samples();
  for (int round = 0; round < 5'000; ++round) {
    auto frame = codec::encode_frame(a4(0x0a000001), all[random.below(all.size())]);
    const auto flips = 1 + random.below(4);
    for (std::uint64_t f = 0; f < flips; ++f) {
      // Keep the length prefix intact half the time, so corruption reaches the verifier.
      const std::size_t lo = random.chance(0.5) ? 4 : 0;
      const auto at = lo + random.below(frame.size() - lo);
      frame[at] = static_cast<std::uint8_t>(random.next());
    }
    auto r = codec::decode(frame, codec::limits{});
    (r.ok() ? accepted : refused) += 1;
    if (r.ok()) {
      // Whatever got through still satisfies the semantic checks.
      CHECK_FALSE(r.value.sender.is_unspecified());
      if (auto* q = std::get_if<msg_query>(&r.value.msg)) CHECK(q->hops >= 1);
    }
  }
  CHECK(refused > 0);
  CHECK(refused + accepted == 5'000);
}

TEST_CASE("foreign, future and malformed frames are refused with a reason", "[codec]") {
  SECTION("not a hearsay frame") {
    std::vector<std::uint8_t> junk(64, 0x41);
    junk[0] = 60;
    junk[1] = junk[2] = junk[3] = 0;
    CHECK(codec::decode(junk, codec::limits{}).err == codec::error::bad_identifier);
  }
  SECTION("unknown version") {
    auto r = codec::decode(raw_frame(2, hearsay::wire::Message::Join), codec::limits{});
    CHECK(r.err == codec::error::unknown_version);
    CHECK(r.detail.find("version 2") != std::string::npos);
  }
  SECTION("no message") {
    CHECK(codec::decode(raw_frame(1, hearsay::wire::Message::NONE), codec::limits{}).err ==
          codec::error::unknown_message);
  }
  SECTION("missing sender") {
    auto r = codec::decode(raw_frame(1, hearsay::wire::Message::Join, false), codec::limits{});
    CHECK(r.err == codec::error::bad_field);
    CHECK(r.detail == "frame.sender");
  }
  SECTION("query without origin or criteria") {
    auto r = codec::decode(raw_frame(1, hearsay::wire::Message::Query), codec::limits{});
    CHECK(r.err == codec::error::bad_field);
    CHECK(r.detail == "query.origin");
  }
  SECTION("a file name that is a path") {
    msg_query_hit h{1, a4(0x0a000002), 1, {{"../etc/passwd", 1, digest(1)}}};
    auto r = codec::decode(codec::encode_frame(a4(0x0a000001), h), codec::limits{});
    CHECK(r.err == codec::error::bad_field);
    CHECK(r.detail == "files.name");
  }
  SECTION("limits on frames, strings and lists") {
    codec::limits tight;
    tight.string_bytes_max = 8;
    tight.vector_items_max = 2;
    tight.frame_bytes_max = 200;
    auto long_criteria = codec::decode(
        codec::encode_frame(a4(1), msg_query{1, a4(2), 3, 1, false, "a criteria longer than eight"}), tight);
    CHECK(long_criteria.err == codec::error::bad_field);
    auto many = codec::decode(codec::encode_frame(a4(1), msg_shuffle_reply{{a4(2), a4(3), a4(4)}}), tight);
    CHECK(many.err == codec::error::bad_field);
    auto big = codec::decode(
        codec::encode_frame(a4(1), msg_fetch_chunk{digest(1), 0, 1000, std::vector<std::uint8_t>(500, 7)}), tight);
    CHECK(big.err == codec::error::too_large);
  }
  SECTION("a chunk claiming bytes past the file's end") {
    auto r = codec::decode(codec::encode_frame(a4(1), msg_fetch_chunk{digest(1), 98, 100, {1, 2, 3}}), codec::limits{});
    CHECK(r.err == codec::error::bad_field);
  }
}

TEST_CASE("frame_reader splits a stream however it is cut", "[codec]") {
  codec::encoder enc;
  std::vector<std::uint8_t> stream;
  const auto all = samples();
  for (const auto& m : all) {
    const auto f = enc.encode(a4(0x0a000001), m);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  auto read_all = [&](std::size_t chunk) {
    codec::frame_reader reader{codec::limits{}};
    std::vector<message> out;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      REQUIRE(reader.feed(std::span(stream).subspan(at, std::min(chunk, stream.size() - at))));
      for (auto f = reader.next(); !f.empty(); f = reader.next()) {
        auto r = codec::decode(f, codec::limits{});
        REQUIRE(r.ok());
        out.push_back(r.value.msg);
      }
    }
    CHECK(reader.buffered() == 0);
    return out;
  };
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{64}, stream.size()}) {
    INFO("chunk " << chunk);
    const auto got = read_all(chunk);
    REQUIRE(got.size() == all.size());
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(same(got[i], all[i]));
  }
}

TEST_CASE("an oversize length prefix poisons the reader at once", "[codec]") {
  codec::limits lim;
  lim.frame_bytes_max = 1000;
  codec::frame_reader reader{lim};
  const std::uint8_t prefix[] = {0x00, 0x10, 0x00, 0x00};  // 4096 bytes announced
  CHECK_FALSE(reader.feed(std::span(prefix).first(4)));
  CHECK(reader.poisoned());
  CHECK(reader.next().empty());
  const std::uint8_t more[] = {1, 2, 3};
  CHECK_FALSE(reader.feed(more));
  CHECK(reader.buffered() <= 4);  // nothing more is kept
}

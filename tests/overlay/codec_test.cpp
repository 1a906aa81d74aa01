// The wire codec: round trips, limits, and hostile input.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "overlay/codec.hpp"
#include "overlay/rng.hpp"
#include "schemas/hearsay_generated.h"

using namespace hearsay;

namespace {

// What a decode found wrong (none when it succeeded), and its detail.
codec::error err_of(const result<codec::decoded>& r) {
  return r ? codec::error::none : static_cast<codec::error>(r.error().code().value());
}
std::string detail_of(const result<codec::decoded>& r) { return r ? std::string() : r.error().message(); }

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
      // Lists of addresses (18-byte structs) beside 8-byte fields: every length.
      msg_shuffle{a4(0x0a000001), 5, {a4(1), a4(2), a4(3), a4(4), a4(5), a4(6), a4(7), a4(8)}, 0x123456789abcdefULL},
      msg_shuffle{a4(0x0a000001), 5, {a4(1)}, ~std::uint64_t{0}},
      msg_shuffle_reply{{a4(1), a4(2), a4(3)}, 0xfedcba9876543210ULL},
      msg_disconnect{true},
      msg_query{0x1234567890abcdefULL, v6, 7, 2, true, 0, 0, "holiday photos 2019"},
      msg_query_hit{42, a4(0x0a000002), 3, {{"a.txt", 12, digest(1)}, {"b b.bin", 1ULL << 40, digest(2)}}},
      msg_fetch_request{digest(3), 65536, 1u << 20},
      msg_fetch_data{digest(4), 10, 90, 100},
      msg_fetch_error{digest(5), fetch_error_code::busy, "too many transfers"},
      msg_ping{77},
      msg_pong{78},
      msg_query{99, a4(0x0a000003), 100, 9, false, 2, 0, "walk"},
      msg_query{98, a4(0x0a000003), 5, 1, false, 1, 60, "gossip"},
      msg_walk_check{99},
      msg_walk_status{99, true},
      msg_mix_offer{a4(0x0a000007), 0x1122334455667788ULL},
      msg_mix_replace{v6, a4(0x0a000008), 5},
      msg_mix_switch{a4(0x0a000009), ~std::uint64_t{0}},
      msg_mix_answer{mix_step::replace, true, false, 6},
      msg_mix_answer{mix_step::offer, true, true, 7},
  };
}

bool same(const message& x, const message& y) {
  if (x.index() != y.index()) return false;
  return std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        const T& b = std::get<T>(y);
        if constexpr (std::is_same_v<T, msg_hello>) return a.network() == b.network() && a.listen == b.listen && a.agent() == b.agent() && a.fetch_only == b.fetch_only;
        if constexpr (std::is_same_v<T, msg_forward_join>) return a.joiner == b.joiner && a.ttl == b.ttl;
        if constexpr (std::is_same_v<T, msg_neighbor>) return a.high_priority == b.high_priority;
        if constexpr (std::is_same_v<T, msg_neighbor_reply>) return a.accepted == b.accepted;
        if constexpr (std::is_same_v<T, msg_shuffle>) {
          return a.origin == b.origin && a.ttl == b.ttl && a.nodes == b.nodes && a.nonce == b.nonce;
        }
        if constexpr (std::is_same_v<T, msg_shuffle_reply>) return a.nodes == b.nodes && a.nonce == b.nonce;
        if constexpr (std::is_same_v<T, msg_disconnect>) return a.leaving == b.leaving;
        if constexpr (std::is_same_v<T, msg_query>) {
          return a.id == b.id && a.origin == b.origin && a.ttl == b.ttl && a.hops == b.hops &&
                 a.reply_direct == b.reply_direct && a.criteria == b.criteria && a.mode == b.mode &&
                 a.gossip_percent == b.gossip_percent;
        }
        if constexpr (std::is_same_v<T, msg_query_hit>) return a.id == b.id && a.holder == b.holder && a.hops == b.hops && a.files == b.files;
        if constexpr (std::is_same_v<T, msg_fetch_request>) {
          return a.sha256 == b.sha256 && a.offset == b.offset && a.length == b.length;
        }
        if constexpr (std::is_same_v<T, msg_fetch_data>) {
          return a.sha256 == b.sha256 && a.offset == b.offset && a.length == b.length && a.total_size == b.total_size;
        }
        if constexpr (std::is_same_v<T, msg_fetch_error>) return a.sha256 == b.sha256 && a.code == b.code && a.text() == b.text();
        if constexpr (std::is_same_v<T, msg_ping> || std::is_same_v<T, msg_pong>) return a.nonce == b.nonce;
        if constexpr (std::is_same_v<T, msg_walk_check>) return a.id == b.id;
        if constexpr (std::is_same_v<T, msg_walk_status>) return a.id == b.id && a.go_on == b.go_on;
        if constexpr (std::is_same_v<T, msg_mix_offer>) return a.old == b.old && a.nonce == b.nonce;
        if constexpr (std::is_same_v<T, msg_mix_replace>) {
          return a.initiator == b.initiator && a.old == b.old && a.nonce == b.nonce;
        }
        if constexpr (std::is_same_v<T, msg_mix_switch>) return a.initiator == b.initiator && a.nonce == b.nonce;
        if constexpr (std::is_same_v<T, msg_mix_answer>) {
          return a.step == b.step && a.accepted == b.accepted && a.direct == b.direct && a.nonce == b.nonce;
        }
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

// A frame around a body built by the caller with the generated API.
template <typename Body>
std::vector<std::uint8_t> hand_frame(hearsay::wire::Message type, Body&& body) {
  flatbuffers::FlatBufferBuilder fbb;
  const flatbuffers::Offset<void> offset = body(fbb);
  const auto sender = hearsay::wire::Addr(
      flatbuffers::span<const std::uint8_t, 16>(a4(0x0a000001).ip.data(), 16), 7000);
  const auto frame = hearsay::wire::CreateFrame(fbb, protocol_version, &sender, type, offset);
  hearsay::wire::FinishSizePrefixedFrameBuffer(fbb, frame);
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

std::vector<std::uint8_t> concat(const std::vector<message>& all, const peer_addr& sender) {
  std::vector<std::uint8_t> stream;
  for (const auto& m : all) {
    const auto f = codec::encode_frame(sender, m);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  return stream;
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
    CHECK(r->version == protocol_version);
    CHECK(r->sender == sender);
    CHECK(same(r->msg, m));
    // The same frame at an odd address in a buffer decodes the same.
    std::vector<std::uint8_t> shifted(frame.size() + 3);
    std::copy(frame.begin(), frame.end(), shifted.begin() + 3);
    auto s = codec::decode(std::span(shifted).subspan(3), codec::limits{});
    REQUIRE(s.ok());
    CHECK(same(s->msg, m));
  }
}

TEST_CASE("a hello's and a fetch error's texts are values: copies read the same, defaults are empty", "[codec]") {
  const msg_hello none;
  CHECK(none.network().empty());
  CHECK(none.agent().empty());
  msg_hello hello{"mainnet", a4(1), "hearsay/0.1", true};
  const msg_hello copy = hello;
  hello = msg_hello{"testnet", a4(2), "other", false};
  CHECK(copy.network() == "mainnet");
  CHECK(copy.agent() == "hearsay/0.1");
  CHECK(copy.listen == a4(1));
  CHECK(copy.fetch_only);
  CHECK(hello.network() == "testnet");
  CHECK(msg_fetch_error{}.text().empty());
  const msg_fetch_error error{digest(3), fetch_error_code::read_failed, "disk"};
  const message held = error;
  CHECK(std::get<msg_fetch_error>(held).text() == "disk");
  CHECK(std::get<msg_fetch_error>(held).code == fetch_error_code::read_failed);
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
      // Whatever got through still satisfies the semantic checks, and is a message this
      // node could have sent itself: it encodes and decodes to the same value.
      CHECK_FALSE(r->sender.is_unspecified());
      if (auto* q = std::get_if<msg_query>(&r->msg)) CHECK((q->hops >= 1 && q->ttl >= 1));
      auto again = codec::decode(codec::encode_frame(r->sender, r->msg), codec::limits{});
      REQUIRE(again.ok());
      CHECK(same(again->msg, r->msg));
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
    CHECK(err_of(codec::decode(junk, codec::limits{})) == codec::error::bad_identifier);
  }
  SECTION("unknown version: a newer one, and version 1 (plaintext links, before TLS)") {
    const auto newer = static_cast<std::uint16_t>(protocol_version + 1);
    auto r = codec::decode(raw_frame(newer, hearsay::wire::Message::Join), codec::limits{});
    CHECK(err_of(r) == codec::error::unknown_version);
    CHECK(detail_of(r).find("version " + std::to_string(newer)) != std::string::npos);
    auto old = codec::decode(raw_frame(1, hearsay::wire::Message::Join), codec::limits{});
    CHECK(err_of(old) == codec::error::unknown_version);
    CHECK(detail_of(old) == "version 1, this node speaks 2");
  }
  SECTION("no message") {
    CHECK(err_of(codec::decode(raw_frame(protocol_version, hearsay::wire::Message::NONE), codec::limits{})) ==
          codec::error::unknown_message);
  }
  SECTION("missing sender") {
    auto r = codec::decode(raw_frame(protocol_version, hearsay::wire::Message::Join, false), codec::limits{});
    CHECK(err_of(r) == codec::error::bad_field);
    CHECK(detail_of(r) == "frame.sender");
  }
  SECTION("query without origin or criteria") {
    auto r = codec::decode(raw_frame(protocol_version, hearsay::wire::Message::Query), codec::limits{});
    CHECK(err_of(r) == codec::error::bad_field);
    CHECK(detail_of(r) == "query.origin");
  }
  SECTION("a file name that is a path") {
    msg_query_hit h{1, a4(0x0a000002), 1, {{"../etc/passwd", 1, digest(1)}}};
    auto r = codec::decode(codec::encode_frame(a4(0x0a000001), h), codec::limits{});
    CHECK(err_of(r) == codec::error::bad_field);
    CHECK(detail_of(r) == "files.name");
  }
  SECTION("limits on frames, strings and lists") {
    codec::limits tight;
    tight.string_bytes_max = 8;
    tight.vector_items_max = 2;
    tight.frame_bytes_max = 200;
    auto long_criteria = codec::decode(
        codec::encode_frame(a4(1), msg_query{1, a4(2), 3, 1, false, 0, 0, "a criteria longer than eight"}), tight);
    CHECK(err_of(long_criteria) == codec::error::bad_field);
    auto many = codec::decode(codec::encode_frame(a4(1), msg_shuffle_reply{{a4(2), a4(3), a4(4)}}), tight);
    CHECK(err_of(many) == codec::error::bad_field);
    auto big = codec::decode(
        codec::encode_frame(a4(1), msg_query_hit{1, a4(2), 1, {{std::string(150, 'x'), 1, digest(1)}}}), tight);
    CHECK(err_of(big) == codec::error::too_large);
  }
  SECTION("data claiming bytes past the file's end") {
    auto r = codec::decode(codec::encode_frame(a4(1), msg_fetch_data{digest(1), 98, 3, 100}), codec::limits{});
    CHECK(err_of(r) == codec::error::bad_field);
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
        out.push_back(r->msg);
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

TEST_CASE("one encoder serves many messages, each frame as a fresh encoder makes it", "[codec]") {
  codec::encoder enc;
  hearsay::rng random(7);
  auto all = samples();
  // A large message first and last, so the builder's buffer grows and then shrinks back.
  all.push_back(msg_query_hit{7, a4(2), 1, std::vector<file_info>(200, file_info{std::string(200, 'n'), 9, digest(9)})});
  for (int round = 0; round < 4'000; ++round) {
    const auto& m = all[random.below(all.size())];
    const auto sender = a4(static_cast<std::uint32_t>(random.below(1u << 31)) | 1u,
                           static_cast<std::uint16_t>(1 + random.below(65535)));
    const auto bytes = enc.encode(sender, m);
    const auto fresh = codec::encode_frame(sender, m);
    REQUIRE(std::equal(bytes.begin(), bytes.end(), fresh.begin(), fresh.end()));
    // The prefix is the little-endian length of the body.
    const std::uint32_t length = std::uint32_t{bytes[0]} | (std::uint32_t{bytes[1]} << 8) |
                                 (std::uint32_t{bytes[2]} << 16) | (std::uint32_t{bytes[3]} << 24);
    REQUIRE(length + codec::prefix_bytes == bytes.size());
    auto r = codec::decode(bytes, codec::limits{});
    REQUIRE(r.ok());
    CHECK(r->sender == sender);
    CHECK(same(r->msg, m));
  }
}

TEST_CASE("frames carry the HRSY identifier after the prefix", "[codec]") {
  const auto frame = codec::encode_frame(a4(1), msg_ping{1});
  REQUIRE(frame.size() >= 12);
  CHECK(std::string(frame.begin() + 8, frame.begin() + 12) == "HRSY");
  auto wrong = frame;
  wrong[8] = 'X';
  CHECK(err_of(codec::decode(wrong, codec::limits{})) == codec::error::bad_identifier);
}

TEST_CASE("union types this build does not know, and types without a table", "[codec]") {
  namespace w = hearsay::wire;
  SECTION("a type number past the last message") {
    const auto frame = hand_frame(static_cast<w::Message>(77), [](auto& fbb) { return w::CreateJoin(fbb).Union(); });
    auto r = codec::decode(frame, codec::limits{});
    CHECK(err_of(r) == codec::error::unknown_message);
    CHECK(detail_of(r) == "type 77");
  }
  SECTION("a known type whose table is absent") {
    const auto frame = hand_frame(w::Message::Query, [](auto&) { return flatbuffers::Offset<void>(); });
    auto r = codec::decode(frame, codec::limits{});
    CHECK(err_of(r) == codec::error::bad_field);
    CHECK(detail_of(r) == "frame.message");
  }
  SECTION("a file entry without a digest or a name") {
    auto hit = [](bool with_name, bool with_digest) {
      return hand_frame(w::Message::QueryHit, [=](auto& fbb) {
        const auto name = with_name ? fbb.CreateString("a.txt") : flatbuffers::Offset<flatbuffers::String>();
        const auto d = w::Digest(flatbuffers::span<const std::uint8_t, 32>(digest(1).bytes.data(), 32));
        std::vector<flatbuffers::Offset<w::FileInfo>> files{w::CreateFileInfo(fbb, name, 5, with_digest ? &d : nullptr)};
        const auto vec = fbb.CreateVector(files);
        const auto holder = w::Addr(flatbuffers::span<const std::uint8_t, 16>(a4(2).ip.data(), 16), 7000);
        return w::CreateQueryHit(fbb, 1, &holder, 1, vec).Union();
      });
    };
    CHECK(codec::decode(hit(true, true), codec::limits{}).ok());
    auto no_digest = codec::decode(hit(true, false), codec::limits{});
    CHECK(err_of(no_digest) == codec::error::bad_field);
    CHECK(detail_of(no_digest) == "files.sha256");
    auto no_name = codec::decode(hit(false, true), codec::limits{});
    CHECK(err_of(no_name) == codec::error::bad_field);
    CHECK(detail_of(no_name) == "files.name");
  }
}

TEST_CASE("fields out of range are refused with the field's name", "[codec]") {
  using namespace std::string_literals;
  const auto ok = a4(0x0a000002);
  const std::pair<message, const char*> cases[] = {
      {msg_hello{"main\0net"s, ok, "x", false}, "hello.network"},
      {msg_hello{"main", peer_addr{}, "x", false}, "hello.listen"},
      {msg_hello{"main", ok, "ag\0ent"s, false}, "hello.agent"},
      {msg_forward_join{a4(0x0a000003, 0), 3}, "forward_join.joiner"},
      {msg_shuffle{ok, 2, {ok, a4(0, 7000)}}, "shuffle.nodes"},
      {msg_shuffle{peer_addr{}, 2, {ok}}, "shuffle.origin"},
      {msg_shuffle_reply{{peer_addr{}}}, "shuffle_reply.nodes"},
      {msg_query{0, ok, 3, 1, false, 0, 0, "x"}, "query.id"},
      {msg_query{1, ok, 0, 1, false, 0, 0, "x"}, "query.ttl"},
      {msg_query{1, ok, 3, 0, false, 0, 0, "x"}, "query.hops"},
      {msg_query{1, ok, 3, 1, false, 3, 0, "x"}, "query.mode"},
      {msg_query{1, ok, 3, 1, false, 1, 101, "x"}, "query.gossip_percent"},
      {msg_query{1, peer_addr{}, 3, 1, false, 0, 0, "x"}, "query.origin"},
      {msg_query{1, ok, 3, 1, false, 0, 0, "a\0b"s}, "query.criteria"},
      {msg_query_hit{1, peer_addr{}, 1, {{"a", 1, digest(1)}}}, "query_hit.holder"},
      {msg_query_hit{1, ok, 1, {}}, "query_hit.files"},
      {msg_query_hit{1, ok, 1, {{"", 1, digest(1)}}}, "files.name"},
      {msg_query_hit{1, ok, 1, {{".", 1, digest(1)}}}, "files.name"},
      {msg_query_hit{1, ok, 1, {{"..", 1, digest(1)}}}, "files.name"},
      {msg_query_hit{1, ok, 1, {{"dir/a", 1, digest(1)}}}, "files.name"},
      {msg_query_hit{1, ok, 1, {{"a\0.txt"s, 1, digest(1)}}}, "files.name"},
      {msg_fetch_data{digest(1), 101, 0, 100}, "fetch_data.length"},
      {msg_fetch_data{digest(1), 50, 51, 100}, "fetch_data.length"},
      {msg_fetch_request{digest(1), ~std::uint64_t{0}, 2}, "fetch_request.length"},
      {msg_fetch_error{digest(1), static_cast<fetch_error_code>(9), "x"}, "fetch_error.code"},
      {msg_fetch_error{digest(1), fetch_error_code::busy, "b\0usy"s}, "fetch_error.message"},
      {msg_mix_offer{peer_addr{}, 1}, "mix_offer.old"},
      {msg_mix_offer{ok, 0}, "mix_offer.nonce"},
      {msg_mix_replace{ok, peer_addr{}, 1}, "mix_replace.old"},
      {msg_mix_replace{peer_addr{}, ok, 1}, "mix_replace.initiator"},
      {msg_mix_replace{ok, ok, 0}, "mix_replace.nonce"},
      {msg_mix_switch{peer_addr{}, 1}, "mix_switch.initiator"},
      {msg_mix_switch{ok, 0}, "mix_switch.nonce"},
      {msg_mix_answer{static_cast<mix_step>(3), true, false, 1}, "mix_answer.step"},
      {msg_mix_answer{mix_step::swap, true, false, 0}, "mix_answer.nonce"},
  };
  for (const auto& [m, field] : cases) {
    INFO(message_name(m) << " expecting " << field);
    auto r = codec::decode(codec::encode_frame(a4(1), m), codec::limits{});
    CHECK(err_of(r) == codec::error::bad_field);
    CHECK(detail_of(r) == field);
    CHECK(std::string(codec::describe(err_of(r))) == "bad field");
  }
  // Their neighbours inside the range pass.
  for (const message& m : {message{msg_query{1, ok, 1, 1, false, 2, 100, ""}},
                           message{msg_query_hit{1, ok, 0, {{"..a", 0, digest(1)}, {"a b.c", 1, digest(2)}}}},
                           message{msg_query_hit{1, ok, 0, {{"back\\slash report.txt", 1, digest(1)}}}},
                           message{msg_query_hit{1, ok, 0, {{"\x1b]0;title\x07 caf\xc3\xa9 \xff.txt", 1, digest(1)}}}},
                           message{msg_fetch_data{digest(1), 100, 0, 100}},
                           message{msg_fetch_data{digest(1), 97, 3, 100}},
                           message{msg_fetch_request{digest(1), ~std::uint64_t{0}, 0}},
                           message{msg_hello{"", ok, "", false}}}) {
    INFO(message_name(m));
    CHECK(codec::decode(codec::encode_frame(a4(1), m), codec::limits{}).ok());
  }
}

TEST_CASE("limits hold exactly at their bounds", "[codec]") {
  codec::limits lim;
  lim.string_bytes_max = 16;
  lim.vector_items_max = 3;
  auto decode = [&](const message& m) { return codec::decode(codec::encode_frame(a4(1), m), lim); };
  auto hit = [](std::size_t files, std::size_t name_bytes) {
    msg_query_hit h{1, a4(2), 1, {}};
    for (std::size_t i = 0; i < files; ++i) h.files.push_back({std::string(name_bytes, 'n'), i, digest(1)});
    return h;
  };
  CHECK(decode(hit(3, 16)).ok());
  CHECK(detail_of(decode(hit(4, 1))) == "query_hit.files");
  CHECK(detail_of(decode(hit(1, 17))) == "files.name");
  CHECK(decode(msg_hello{std::string(16, 'n'), a4(2), std::string(16, 'a'), false}).ok());
  CHECK(detail_of(decode(msg_hello{"n", a4(2), std::string(17, 'a'), false})) == "hello.agent");
  CHECK(detail_of(decode(msg_fetch_error{digest(1), fetch_error_code::busy, std::string(17, 'e')})) ==
        "fetch_error.message");
  CHECK(detail_of(decode(msg_shuffle{a4(2), 1, {a4(3), a4(4), a4(5), a4(6)}})) == "shuffle.nodes");
  // A transfer's bytes travel after its frame, not in it: the frame stays small.
  CHECK(decode(msg_fetch_data{digest(1), 0, 1u << 30, 1u << 30}).ok());

  SECTION("frame size") {
    const auto frame = codec::encode_frame(a4(1), msg_ping{5});
    codec::limits exact;
    exact.frame_bytes_max = static_cast<std::uint32_t>(frame.size() - codec::prefix_bytes);
    CHECK(codec::decode(frame, exact).ok());
    exact.frame_bytes_max -= 1;
    auto r = codec::decode(frame, exact);
    CHECK(err_of(r) == codec::error::too_large);
  }
  SECTION("verifier depth and table count") {
    const auto frame = codec::encode_frame(a4(1), hit(3, 4));
    codec::limits few_tables;
    few_tables.tables_max = 3;  // frame, hit and three file entries are five
    CHECK(err_of(codec::decode(frame, few_tables)) == codec::error::verify_failed);
    codec::limits shallow;
    shallow.depth_max = 2;  // frame -> hit -> files -> file entry is deeper
    CHECK(err_of(codec::decode(frame, shallow)) == codec::error::verify_failed);
  }
}

TEST_CASE("a length prefix that disagrees with the body is refused", "[codec]") {
  auto frame = codec::encode_frame(a4(1), msg_pong{3});
  auto longer = frame;
  longer[0] = static_cast<std::uint8_t>(longer[0] + 1);
  CHECK(err_of(codec::decode(longer, codec::limits{})) == codec::error::truncated);
  auto shorter = frame;
  shorter[0] = static_cast<std::uint8_t>(shorter[0] - 1);
  CHECK(err_of(codec::decode(shorter, codec::limits{})) == codec::error::truncated);
  auto padded = frame;
  padded.push_back(0);
  CHECK(err_of(codec::decode(padded, codec::limits{})) == codec::error::truncated);
  CHECK(err_of(codec::decode({}, codec::limits{})) == codec::error::truncated);
}

TEST_CASE("frame_reader poisons on an oversize prefix however it arrives", "[codec]") {
  codec::limits lim;
  lim.frame_bytes_max = 256;
  const auto good = codec::encode_frame(a4(1), msg_query{1, a4(2), 3, 1, false, 0, 0, "abc"});
  REQUIRE(good.size() - codec::prefix_bytes <= lim.frame_bytes_max);
  const std::uint8_t oversize[] = {0x01, 0x01, 0x00, 0x00};  // 257 bytes announced

  SECTION("one byte at a time: reported on the prefix's last byte, before any body") {
    codec::frame_reader reader{lim};
    for (std::size_t i = 0; i < 3; ++i) CHECK(reader.feed(std::span(oversize).subspan(i, 1)));
    CHECK_FALSE(reader.poisoned());
    CHECK_FALSE(reader.feed(std::span(oversize).subspan(3, 1)));
    CHECK(reader.poisoned());
  }
  SECTION("behind a good frame in the same read: the good frame is still delivered") {
    // What follows a frame is judged only when the next frame is asked for (it may be raw
    // bytes the frame announced, taken with take_raw instead).
    codec::frame_reader reader{lim};
    std::vector<std::uint8_t> bytes = good;
    bytes.insert(bytes.end(), std::begin(oversize), std::end(oversize));
    CHECK(reader.feed(bytes));
    const auto first = reader.next();
    REQUIRE(first.size() == good.size());
    CHECK(codec::decode(first, lim).ok());
    CHECK_FALSE(reader.poisoned());
    CHECK(reader.next().empty());
    CHECK(reader.poisoned());
    CHECK_FALSE(reader.feed(good));
  }
  SECTION("raw bytes a frame announced are taken out, and the frame after them is read") {
    // The transport's way: raw bytes that came in the same read as their frame are taken
    // from the reader; the rest it reads itself, and then feeds the frames after them.
    codec::frame_reader reader{lim};
    std::vector<std::uint8_t> bytes = good;
    bytes.insert(bytes.end(), std::begin(oversize), std::end(oversize));  // raw, not a prefix
    CHECK(reader.feed(std::span(bytes).first(good.size() + 2)));
    REQUIRE(reader.next().size() == good.size());
    const auto part = reader.take_raw(4);
    CHECK(part.size() == 2);  // what has arrived of the four
    CHECK(part[0] == 0x01);
    CHECK(reader.buffered() == 0);
    CHECK(reader.feed(good));
    CHECK(reader.next().size() == good.size());
    CHECK_FALSE(reader.poisoned());
    SECTION("all of them in the same read, with the next frame behind") {
      codec::frame_reader whole{lim};
      bytes.insert(bytes.end(), good.begin(), good.end());
      CHECK(whole.feed(bytes));
      REQUIRE(whole.next().size() == good.size());
      CHECK(whole.take_raw(4).size() == 4);
      CHECK(whole.next().size() == good.size());
      CHECK_FALSE(whole.poisoned());
      CHECK(whole.buffered() == 0);
    }
  }
  SECTION("a frame exactly at the limit passes") {
    codec::limits exact = lim;
    exact.frame_bytes_max = static_cast<std::uint32_t>(good.size() - codec::prefix_bytes);
    codec::frame_reader reader{exact};
    CHECK(reader.feed(good));
    CHECK(reader.next().size() == good.size());
    CHECK_FALSE(reader.poisoned());
  }
}

TEST_CASE("frame_reader keeps no more than one frame and hands out empty frames for decode to refuse",
          "[codec]") {
  codec::limits lim;
  const std::vector<file_info> big_files(250, file_info{std::string(230, 'b'), 60'000, digest(1)});
  const auto big = codec::encode_frame(a4(1), msg_query_hit{1, a4(2), 1, big_files});
  codec::frame_reader reader{lim};
  std::size_t most = 0;
  for (int copy = 0; copy < 3; ++copy) {
    for (std::size_t at = 0; at < big.size(); ++at) {
      REQUIRE(reader.feed(std::span(big).subspan(at, 1)));
      most = std::max(most, reader.buffered());
      const auto f = reader.next();
      if (at + 1 < big.size()) {
        REQUIRE(f.empty());
      } else {
        REQUIRE(f.size() == big.size());
        auto r = codec::decode(f, lim);
        REQUIRE(r.ok());
        CHECK(std::get<msg_query_hit>(r->msg).files == big_files);
      }
    }
  }
  CHECK(most == big.size());
  CHECK(reader.buffered() == 0);

  // A zero length prefix is a frame of nothing: the reader passes it on, decode refuses it,
  // and the stream stays in step for the frame after it.
  const std::uint8_t empty[] = {0, 0, 0, 0};
  CHECK(reader.feed(empty));
  const auto nothing = reader.next();
  CHECK(nothing.size() == codec::prefix_bytes);
  CHECK(err_of(codec::decode(nothing, lim)) == codec::error::truncated);
}

TEST_CASE("frame_reader yields the same frames from one large batch and from single bytes", "[codec]") {
  const auto stream = concat(samples(), a4(0x0a000001));
  auto frames_of = [&](std::size_t chunk) {
    codec::frame_reader reader{codec::limits{}};
    std::vector<std::vector<std::uint8_t>> out;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      REQUIRE(reader.feed(std::span(stream).subspan(at, std::min(chunk, stream.size() - at))));
      for (auto f = reader.next(); !f.empty(); f = reader.next()) out.emplace_back(f.begin(), f.end());
    }
    return out;
  };
  const auto whole = frames_of(stream.size());
  CHECK(whole.size() == samples().size());
  CHECK(frames_of(1) == whole);
  CHECK(frames_of(7) == whole);
  std::vector<std::uint8_t> joined;
  for (const auto& f : whole) joined.insert(joined.end(), f.begin(), f.end());
  CHECK(joined == stream);
}

TEST_CASE("file names are data: any name a POSIX system allows; an entry that is a path is left out", "[codec]") {
  const auto ok = a4(0x0a000002);
  auto decode = [](const message& m) { return codec::decode(codec::encode_frame(a4(1), m), codec::limits{}); };
  // Backslashes, escape sequences, bytes that are not UTF-8: names, as far as the wire goes.
  const std::vector<std::string> names = {"back\\slash report.txt", "\x1b[31mred", "\xff\xfe", "a:b*c?.txt", "..a"};
  for (const auto& name : names) {
    INFO(name);
    auto r = decode(msg_query_hit{1, ok, 1, {{name, 3, digest(1)}}});
    REQUIRE(r.ok());
    CHECK(std::get<msg_query_hit>(r->msg).files.at(0).name == name);
  }
  // Entries that are not names are left out; the rest of the hit stands.
  auto r = decode(msg_query_hit{1, ok, 1, {{"dir/a", 1, digest(1)}, {"fine", 2, digest(2)}, {"..", 3, digest(3)}}});
  REQUIRE(r.ok());
  const auto& files = std::get<msg_query_hit>(r->msg).files;
  REQUIRE(files.size() == 1);
  CHECK(files[0].name == "fine");
  // With none left, there is nothing to offer.
  CHECK(detail_of(decode(msg_query_hit{1, ok, 1, {{"/etc/passwd", 1, digest(1)}}})) == "files.name");
}

// SHA-256 against the FIPS 180-4 / NIST example vectors, and incremental use.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "overlay/sha256.hpp"

using hearsay::sha256;

namespace {
std::string hex_of(std::string_view text) {
  sha256 h;
  h.update(text);
  return h.finish().to_hex();
}
}  // namespace

TEST_CASE("SHA-256 matches the NIST vectors", "[sha256]") {
  CHECK(hex_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(hex_of(std::string(1'000'000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 gives the same digest however the input is split", "[sha256]") {
  std::vector<std::uint8_t> data(200);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31 + 7);
  const auto whole = sha256::of(data);
  for (std::size_t cut = 0; cut <= data.size(); ++cut) {
    sha256 h;
    h.update(std::span(data).first(cut));
    h.update(std::span(data).subspan(cut));
    REQUIRE(h.finish() == whole);
  }
  sha256 bytewise;
  for (auto b : data) bytewise.update(std::span(&b, 1));
  CHECK(bytewise.finish() == whole);
}

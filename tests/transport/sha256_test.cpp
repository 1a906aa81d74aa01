// SHA-256 (OpenSSL through transport/sha256.hpp) against the FIPS 180-4 / NIST example
// vectors, incremental use, and whole files.

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <filesystem>
#include <fstream>

#include "transport/sha256.hpp"

using sha256 = hearsay::net::sha256_stream;

namespace {
std::string hex_of(std::string_view text) { return sha256::of(text).to_hex(); }
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

TEST_CASE("SHA-256 pads correctly at the block boundaries", "[sha256]") {
  // Lengths where the padding needs one block or two, checked against an independent
  // implementation (coreutils sha256sum over runs of 'a').
  const std::pair<std::size_t, const char*> vectors[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
      {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
  };
  for (const auto& [length, expected] : vectors) {
    INFO("length " << length);
    CHECK(hex_of(std::string(length, 'a')) == expected);
  }
}

TEST_CASE("SHA-256 starts over after finish, and text and bytes agree", "[sha256]") {
  sha256 h;
  const std::uint8_t abc[] = {'a', 'b', 'c'};
  h.update(abc);
  const auto first = h.finish();
  CHECK(first.to_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The object is fresh again: nothing of "abc" is left in it.
  CHECK(h.finish().to_hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256::of(std::string_view("abc")) == first);

  // Three-way splits of a multi-block input, including pieces that leave the internal
  // buffer partly filled before a run of whole blocks.
  std::vector<std::uint8_t> data(300);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i ^ (i >> 3));
  const auto whole = sha256::of(data);
  for (std::size_t a = 0; a <= data.size(); a += 7) {
    for (std::size_t b = a; b <= data.size(); b += 13) {
      sha256 g;
      g.update(std::span(data).first(a));
      g.update(std::span(data).subspan(a, b - a));
      g.update(std::span(data).subspan(b));
      REQUIRE(g.finish() == whole);
    }
  }
}

TEST_CASE("a whole file hashes as its bytes do, and a missing one says why", "[sha256]") {
  const auto path = std::filesystem::absolute("sha256-test.bin");
  std::string text(3'000'000, 'x');
  for (std::size_t i = 0; i < text.size(); i += 4099) text[i] = static_cast<char>(i);
  std::ofstream(path, std::ios::binary) << text;
  const auto hashed = hearsay::net::hash_file(path);
  REQUIRE(hashed);
  CHECK(hashed->size == text.size());
  CHECK(hashed->digest == sha256::of(std::string_view(text)));
  std::filesystem::remove(path);
  const auto missing = hearsay::net::hash_file(path);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == std::errc::no_such_file_or_directory);
}

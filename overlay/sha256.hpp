#pragma once
// SHA-256 (FIPS 180-4), incremental. Files are named and verified by their SHA-256 digest.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "overlay/types.hpp"

namespace hearsay {

class sha256 {
 public:
  sha256();
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view text) {
    update(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  // The digest of everything updated so far; the object is reset afterwards.
  sha256_digest finish();

  static sha256_digest of(std::span<const std::uint8_t> data) {
    sha256 h;
    h.update(data);
    return h.finish();
  }

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes
};

}  // namespace hearsay

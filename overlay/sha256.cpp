// SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3 and 6.2).
//
// Portable C++: the 64 rounds are unrolled so the eight working variables stay in registers
// and rotate by renaming instead of by moves, and the message schedule is kept as a ring of
// 16 words computed just before each word is needed. Whole 64-byte blocks are compressed
// straight from the caller's buffer; only a partial block at either end is copied.

#include "overlay/sha256.hpp"

#include <algorithm>
#include <cstring>

namespace hearsay {

namespace {

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr std::array<std::uint32_t, 64> k = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
constexpr std::array<std::uint32_t, 8> initial = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr std::size_t block_bytes = 64;
// The message length travels in the last 8 bytes of the last block.
constexpr std::size_t length_offset = block_bytes - 8;

// Compilers recognise this pattern as a single rotate instruction.
inline std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// SHA-256 is defined on big-endian words; assembling them byte by byte keeps the code
// independent of the host's byte order (and compiles to a load and a byte swap).
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

inline std::uint32_t big_sigma0(std::uint32_t x) { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
inline std::uint32_t big_sigma1(std::uint32_t x) { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
inline std::uint32_t small_sigma0(std::uint32_t x) { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); }
inline std::uint32_t small_sigma1(std::uint32_t x) { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); }
// Ch and Maj in the forms with one operation fewer than the standard's text.
inline std::uint32_t choose(std::uint32_t e, std::uint32_t f, std::uint32_t g) { return g ^ (e & (f ^ g)); }
inline std::uint32_t majority(std::uint32_t a, std::uint32_t b, std::uint32_t c) { return (a & b) | (c & (a | b)); }

// One round. Instead of shifting all eight variables down by one, the caller passes them in
// rotated order, so a round only writes d and h (the new e and the new a).
inline void round_step(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t& d, std::uint32_t e,
                       std::uint32_t f, std::uint32_t g, std::uint32_t& h, std::uint32_t k_plus_w) {
  const std::uint32_t t1 = h + big_sigma1(e) + choose(e, f, g) + k_plus_w;
  const std::uint32_t t2 = big_sigma0(a) + majority(a, b, c);
  d += t1;
  h = t1 + t2;
}

// Eight rounds starting at round i, with the schedule words w[i..i+7] (mod 16) ready.
inline void eight_rounds(std::uint32_t (&v)[8], const std::uint32_t (&w)[16], std::size_t i) {
  round_step(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], k[i + 0] + w[(i + 0) & 15]);
  round_step(v[7], v[0], v[1], v[2], v[3], v[4], v[5], v[6], k[i + 1] + w[(i + 1) & 15]);
  round_step(v[6], v[7], v[0], v[1], v[2], v[3], v[4], v[5], k[i + 2] + w[(i + 2) & 15]);
  round_step(v[5], v[6], v[7], v[0], v[1], v[2], v[3], v[4], k[i + 3] + w[(i + 3) & 15]);
  round_step(v[4], v[5], v[6], v[7], v[0], v[1], v[2], v[3], k[i + 4] + w[(i + 4) & 15]);
  round_step(v[3], v[4], v[5], v[6], v[7], v[0], v[1], v[2], k[i + 5] + w[(i + 5) & 15]);
  round_step(v[2], v[3], v[4], v[5], v[6], v[7], v[0], v[1], k[i + 6] + w[(i + 6) & 15]);
  round_step(v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[0], k[i + 7] + w[(i + 7) & 15]);
}

// Replaces w[j..j+7] (mod 16) with schedule words j+16..j+23.
inline void expand_eight(std::uint32_t (&w)[16], std::size_t j) {
  for (std::size_t t = j; t < j + 8; ++t) {
    w[t & 15] += small_sigma1(w[(t + 14) & 15]) + w[(t + 9) & 15] + small_sigma0(w[(t + 1) & 15]);
  }
}

}  // namespace

sha256::sha256() : state_(initial) {}

void sha256::compress(const std::uint8_t* block) {
  std::uint32_t w[16];
  for (std::size_t t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
  std::uint32_t v[8];
  std::copy(state_.begin(), state_.end(), v);
  // After eight rounds every variable is back in its own slot, so the blocks of eight
  // chain without moves. All indices are constants once the loops are unrolled.
  eight_rounds(v, w, 0);
  eight_rounds(v, w, 8);
  for (std::size_t i = 16; i < 64; i += 16) {
    expand_eight(w, 0);
    eight_rounds(v, w, i);
    expand_eight(w, 8);
    eight_rounds(v, w, i + 8);
  }
  for (std::size_t i = 0; i < 8; ++i) state_[i] += v[i];
}

void sha256::update(std::span<const std::uint8_t> data) {
  length_ += data.size();
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  if (buffered_ > 0) {
    const std::size_t take = std::min(left, block_bytes - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    left -= take;
    if (buffered_ < block_bytes) return;
    compress(buffer_.data());
    buffered_ = 0;
  }
  // Whole blocks straight from the input, without copying.
  for (; left >= block_bytes; p += block_bytes, left -= block_bytes) compress(p);
  if (left > 0) std::memcpy(buffer_.data(), p, left);
  buffered_ = left;
}

sha256_digest sha256::finish() {
  // Padding (section 5.1.1): a one bit, zeros up to 56 bytes into a block, then the length
  // in bits as a big-endian 64-bit number; a second block when the first has no room.
  const std::uint64_t bits = length_ * 8;
  buffer_[buffered_++] = 0x80;
  if (buffered_ > length_offset) {
    std::fill(buffer_.begin() + static_cast<std::ptrdiff_t>(buffered_), buffer_.end(), std::uint8_t{0});
    compress(buffer_.data());
    buffered_ = 0;
  }
  std::fill(buffer_.begin() + static_cast<std::ptrdiff_t>(buffered_),
            buffer_.begin() + static_cast<std::ptrdiff_t>(length_offset), std::uint8_t{0});
  store_be32(buffer_.data() + length_offset, static_cast<std::uint32_t>(bits >> 32));
  store_be32(buffer_.data() + length_offset + 4, static_cast<std::uint32_t>(bits));
  compress(buffer_.data());

  sha256_digest out;
  for (std::size_t i = 0; i < 8; ++i) store_be32(out.bytes.data() + 4 * i, state_[i]);
  *this = sha256();
  return out;
}

}  // namespace hearsay

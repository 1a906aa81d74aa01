#pragma once
// A list of peers (a HyParView view) that answers "is p a member?" without comparing whole
// addresses: beside each member it keeps a 16-bit tag, a hash of the address, and a lookup
// scans the tags (one cache line for a view of 32, eight at a time) and compares addresses
// only where a tag matches. A shuffle merges up to eight peers into a passive view of 30, and
// checks each against both views first: byte-wise, that was most of a shuffle's cost.
//
// Order is kept (members stay in insertion order; erase shifts the rest down), so that code
// which draws "the i-th member" at random sees the same list a plain vector would give.

#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "overlay/small_vector.hpp"
#include "overlay/types.hpp"

namespace hearsay {

class peer_view {
 public:
  static constexpr std::size_t npos = ~std::size_t{0};

  std::size_t size() const { return addrs_.size(); }
  bool empty() const { return addrs_.empty(); }
  const peer_addr* begin() const { return addrs_.data(); }
  const peer_addr* end() const { return addrs_.data() + addrs_.size(); }
  const peer_addr* data() const { return addrs_.data(); }

  static std::uint16_t tag_of(const peer_addr& p) {
    std::uint64_t a, b;
    std::memcpy(&a, p.ip.data(), 8);
    std::memcpy(&b, p.ip.data() + 8, 8);
    const std::uint64_t h = (b ^ (a * 0x9e3779b97f4a7c15ULL) ^ p.port) * 0xff51afd7ed558ccdULL;
    return static_cast<std::uint16_t>(h >> 48);
  }

  // The position of p, or npos.
  std::size_t find(const peer_addr& p) const {
    const std::uint16_t t = tag_of(p);
    const std::uint16_t* tags = tags_.data();
    const std::size_t n = tags_.size();
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi16(static_cast<short>(t));
    for (; i + 8 <= n; i += 8) {
      const __m128i have = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tags + i));
      // Two mask bits per 16-bit lane; keep one.
      auto bits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi16(have, want))) & 0x5555u;
      while (bits != 0) {
        const std::size_t k = i + static_cast<std::size_t>(__builtin_ctz(bits)) / 2;
        if (addrs_[k] == p) return k;
        bits &= bits - 1;
      }
    }
#endif
    for (; i < n; ++i) {
      if (tags[i] == t && addrs_[i] == p) return i;
    }
    return npos;
  }
  bool contains(const peer_addr& p) const { return find(p) != npos; }

  // Room for n members without growing (a view that fills up at once grows only once).
  void reserve(std::size_t n) { addrs_.reserve(n); }
  void push_back(const peer_addr& p) {
    addrs_.push_back(p);
    tags_.push_back(tag_of(p));
  }
  void erase_at(std::size_t i) {
    addrs_.erase(addrs_.begin() + static_cast<std::ptrdiff_t>(i));
    tags_.erase(tags_.begin() + i);
  }
  // Removes p if it is a member; whether it was.
  bool erase(const peer_addr& p) {
    const std::size_t i = find(p);
    if (i == npos) return false;
    erase_at(i);
    return true;
  }

 private:
  std::vector<peer_addr> addrs_;
  small_vector<std::uint16_t, 32> tags_;  // inline up to 32 (the default passive view is 30)
};

}  // namespace hearsay

#pragma once
// The project's own pseudo-random generator and the few distributions the overlay needs.
//
// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018),
// seeded through splitmix64. The standard library's engines are fine, but its distributions
// differ between implementations; a seed must replay a run byte for byte on any machine, so
// every draw goes through the functions below.

#include <cstdint>
#include <span>
#include <utility>

#include "overlay/assert.hpp"
#include "overlay/prefetch.hpp"

namespace hearsay {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class rng {
 public:
  explicit rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  // An independent stream for a sub-component: derived from this seed and a stream number,
  // so adding a stream never shifts the draws of another.
  static rng stream(std::uint64_t seed, std::uint64_t stream_no) {
    std::uint64_t sm = seed ^ (stream_no * 0xd1342543de82ef95ULL);
    splitmix64(sm);
    return rng(splitmix64(sm) ^ stream_no);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound), unbiased (Lemire, "Fast random integer generation in an
  // interval", 2019). bound must be > 0.
  std::uint64_t below(std::uint64_t bound) {
    HEARSAY_ASSERT(bound > 0);
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [0, 1) with 53 bits of precision.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool chance(double p) { return uniform01() < p; }

  // Fisher-Yates shuffle. On a span larger than the caches (the simulator shuffles millions of
  // stubs to draw a random graph) each swap's far item is a cache miss: there the positions
  // are drawn `ahead` steps early, in the same order, and their lines asked for, so that many
  // misses are in flight at once. The draws and the swaps, and so the result, are the same.
  template <typename T>
  void shuffle(std::span<T> items) {
    constexpr std::size_t ahead = 16, large = std::size_t{1} << 16;
    const std::size_t n = items.size();
    if (n > large) {
      // Slot k of the ring holds the position for the steps t with t % ahead == k, the step
      // with bound b being t = n - b.
      std::size_t ring[ahead];
      for (std::size_t k = 0; k < ahead; ++k) {
        ring[k] = static_cast<std::size_t>(below(n - k));
        prefetch_line(&items[ring[k]]);
      }
      std::size_t k = 0;
      for (std::size_t b = n; b > 1; --b) {
        const std::size_t j = ring[k];
        if (b > ahead + 1) {
          ring[k] = static_cast<std::size_t>(below(b - ahead));
          prefetch_line(&items[ring[k]]);
        }
        k = k + 1 == ahead ? 0 : k + 1;
        std::swap(items[b - 1], items[j]);
      }
      return;
    }
    for (std::size_t i = n; i > 1; --i) {
      const auto j = static_cast<std::size_t>(below(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace hearsay

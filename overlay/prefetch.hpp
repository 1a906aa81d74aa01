#pragma once
// Software prefetch: a hint that memory will be read soon, so that a driver which knows its
// next events (the simulator) can overlap the cache misses of many peers' state instead of
// taking them one after another. Hints never change behaviour.
//
// On x86 the hints are written as instructions the compiler must keep: GCC may otherwise
// drop a __builtin_prefetch along with a call it finds has no effect (a function that only
// prefetches is such a call), and the driver's look-ahead then silently does nothing.

#include <cstddef>
#include <cstdint>

namespace hearsay {

inline void prefetch_line(const void* p) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__)
  __builtin_prefetch(p, 0, 3);
#else
  static_cast<void>(p);
#endif
}

// Every cache line of [p, p + bytes).
inline void prefetch_range(const void* p, std::size_t bytes) {
  constexpr std::uintptr_t line = 64;
  auto a = reinterpret_cast<std::uintptr_t>(p) & ~(line - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  for (; a < end; a += line) prefetch_line(reinterpret_cast<const void*>(a));
}

// Every cache line of an object of Bytes bytes at p, unrolled: as many prefetches as the
// object can touch lines (one past its end when it does not start on a line, which is
// harmless: a prefetch never faults), and no loop to count.
template <std::size_t Bytes>
inline void prefetch_object(const void* p) {
  constexpr std::size_t line = 64;
  const auto* a = reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{line - 1});
#pragma GCC unroll 64
  for (std::size_t k = 0; k < (Bytes + line - 1) / line + 1; ++k) prefetch_line(a + k * line);
}

}  // namespace hearsay

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

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

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

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
namespace detail {
// PREFETCHW (CPUID 8000_0001h, ECX bit 8): every AMD64 processor has it, Intel's since
// Broadwell; older ones may fault on it, so it is used only where the processor says so.
inline bool processor_has_prefetchw() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0;
}
inline const bool has_prefetchw = processor_has_prefetchw();
}  // namespace detail
#endif

// A hint that the line at p will be written soon: it arrives ready for writing, so a line
// another core holds is taken over before the write needs it (where the processor cannot
// say so, an ordinary prefetch still brings it near).
inline void prefetch_line_for_write(const void* p) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (!detail::has_prefetchw) return prefetch_line(p);
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__)
  __builtin_prefetch(p, 1, 3);
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

// Every cache line of an object of Bytes bytes that starts on a line, for writing (see
// prefetch_line_for_write): exactly its own lines, since a line past its end may be another
// object's that another core is using.
template <std::size_t Bytes>
inline void prefetch_aligned_for_write(const void* p) {
  constexpr std::size_t line = 64;
  const auto* a = static_cast<const char*>(p);
#pragma GCC unroll 64
  for (std::size_t k = 0; k < (Bytes + line - 1) / line; ++k) prefetch_line_for_write(a + k * line);
}

}  // namespace hearsay

#pragma once
// Prefetches for writing: the simulator's event loop prefetches the slab slot the next event
// will be written to, so that a line another core holds is taken over before the write needs
// it. Kept here, not in overlay/prefetch.hpp, because only the simulator's own storage uses
// them, and because they ask the processor once, at start-up, whether it has PREFETCHW.

#include <cstddef>
#include <cstdint>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

#include "overlay/prefetch.hpp"

namespace hearsay::sim {

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

}  // namespace hearsay::sim

#pragma once
// Assertions that stay on in release builds: a broken invariant is a bug, and a bug must
// stop the process loudly rather than corrupt a simulation or a peer's state. Never use
// these on peer input; peer input is verified, dropped and counted, never asserted on.

#include <cstdio>
#include <cstdlib>

namespace hearsay::detail {
[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "hearsay: assertion failed: %s (%s:%d)\n", expr, file, line);
  std::abort();
}
}  // namespace hearsay::detail

#define HEARSAY_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::hearsay::detail::assert_fail(#expr, __FILE__, __LINE__))

// Set in builds with AddressSanitizer, whichever the compiler: GCC defines
// __SANITIZE_ADDRESS__, clang answers __has_feature (the fuzz targets are built with clang).
#if defined(__SANITIZE_ADDRESS__)
#define HEARSAY_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEARSAY_ADDRESS_SANITIZER 1
#endif
#endif

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

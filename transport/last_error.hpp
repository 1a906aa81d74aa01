#pragma once
// The error of the last failed system call (errno) as an std::error_code, for a failure.

#include <cerrno>
#include <system_error>

namespace hearsay::net {

inline std::error_code last_error() { return {errno, std::generic_category()}; }

}  // namespace hearsay::net

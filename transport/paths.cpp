// Default folders (see paths.hpp).

#include "transport/paths.hpp"

#include <cstdlib>

namespace hearsay::net {

namespace {
std::filesystem::path from_env(const char* xdg, const char* home_relative) {
  if (const char* v = std::getenv(xdg); v != nullptr && v[0] == '/') return std::filesystem::path(v) / "hearsay";
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return std::filesystem::path(home) / home_relative / "hearsay";
  }
  return {};
}
}  // namespace

std::filesystem::path default_state_dir() { return from_env("XDG_STATE_HOME", ".local/state"); }
std::filesystem::path default_data_dir() { return from_env("XDG_DATA_HOME", ".local/share"); }

}  // namespace hearsay::net

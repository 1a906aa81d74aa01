#pragma once
// Log lines for operators: "2026-11-24T15:04:05.123Z info  message", one event per line, on
// stderr (journald keeps them with the unit's name). No colours: logs end up in files.
//
// Written through spdlog, with fmt format strings checked at compile time: a line below the
// level is never formatted, so a debug line costs a comparison when debug is off (its
// arguments are still evaluated: pass values, and let fmt turn them into text). Text from
// remote peers goes through printable() (transport/text.hpp) before it is logged.

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include "overlay/result.hpp"
#include "overlay/types.hpp"

namespace hearsay::net {

enum class log_level : int { error = 0, warn = 1, info = 2, debug = 3 };

// Parses "error", "warn", "info", "debug".
result<log_level> parse_log_level(std::string_view text);

class logger {
 public:
  explicit logger(log_level level = log_level::info, std::FILE* to = stderr);
  void set_level(log_level level);
  bool enabled(log_level level) const { return static_cast<int>(level) <= static_cast<int>(level_); }

  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    out_->error(format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    out_->warn(format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    out_->info(format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    out_->debug(format, std::forward<Args>(args)...);
  }

 private:
  log_level level_;
  std::shared_ptr<spdlog::logger> out_;
};

}  // namespace hearsay::net

// A peer address in a log line, formatted only when the line is written.
template <>
struct fmt::formatter<hearsay::peer_addr> : fmt::formatter<std::string_view> {
  auto format(const hearsay::peer_addr& a, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
  }
};

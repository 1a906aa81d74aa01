#pragma once
// Log lines for operators: "2026-11-24T15:04:05.123Z info  message", one event per line, on
// stderr (journald keeps them with the unit's name). No colours: logs end up in files.

#include <cstdio>
#include <string>
#include <string_view>

#include "overlay/result.hpp"

namespace hearsay::net {

enum class log_level : int { error = 0, warn = 1, info = 2, debug = 3 };

// Parses "error", "warn", "info", "debug".
result<log_level> parse_log_level(std::string_view text);

class logger {
 public:
  explicit logger(log_level level = log_level::info, std::FILE* to = stderr) : level_(level), to_(to) {}
  void set_level(log_level level) { level_ = level; }
  bool enabled(log_level level) const { return static_cast<int>(level) <= static_cast<int>(level_); }
  void write(log_level level, std::string_view text) const;

  void error(std::string_view t) const { write(log_level::error, t); }
  void warn(std::string_view t) const { write(log_level::warn, t); }
  void info(std::string_view t) const { write(log_level::info, t); }
  void debug(std::string_view t) const {
    if (enabled(log_level::debug)) write(log_level::debug, t);
  }

 private:
  log_level level_;
  std::FILE* to_;
};

}  // namespace hearsay::net

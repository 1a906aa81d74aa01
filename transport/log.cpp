// Timestamped log lines (see log.hpp).

#include "transport/log.hpp"

#include <chrono>
#include <ctime>

namespace hearsay::net {

result<log_level> parse_log_level(std::string_view text) {
  if (text == "error") return log_level::error;
  if (text == "warn") return log_level::warn;
  if (text == "info") return log_level::info;
  if (text == "debug") return log_level::debug;
  return failure("must be error, warn, info or debug");
}

void logger::write(log_level level, std::string_view text) const {
  if (!enabled(level) || to_ == nullptr) return;
  static constexpr const char* names[] = {"error", "warn ", "info ", "debug"};
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(to_, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms), names[static_cast<int>(level)],
               static_cast<int>(text.size()), text.data());
  std::fflush(to_);
}

}  // namespace hearsay::net

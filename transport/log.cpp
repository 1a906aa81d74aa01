// Timestamped log lines through spdlog (see log.hpp).

#include "transport/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace hearsay::net {

namespace {

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::error: return spdlog::level::err;
    case log_level::warn: return spdlog::level::warn;
    case log_level::info: return spdlog::level::info;
    case log_level::debug: return spdlog::level::debug;
  }
  return spdlog::level::info;
}

// The level as the node has always written it ("warn ", not spdlog's "warning"), five
// characters wide, so that scripts and people reading old and new logs see one format.
class level_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view name = "info ";
    switch (msg.level) {
      case spdlog::level::err:
      case spdlog::level::critical: name = "error"; break;
      case spdlog::level::warn: name = "warn "; break;
      case spdlog::level::debug:
      case spdlog::level::trace: name = "debug"; break;
      default: break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<level_flag>(); }
};

}  // namespace

result<log_level> parse_log_level(std::string_view text) {
  if (text == "error") return log_level::error;
  if (text == "warn") return log_level::warn;
  if (text == "info") return log_level::info;
  if (text == "debug") return log_level::debug;
  return failure("must be error, warn, info or debug");
}

logger::logger(log_level level, std::FILE* to) : level_(level) {
  // A sink of its own per logger, on the FILE* given (stderr, or a test's file), flushed
  // after every line; the logger is not registered in spdlog's global registry, so that
  // several nodes of one process (the tests) each keep their own.
  std::vector<spdlog::sink_ptr> sinks;
  if (to != nullptr) sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_base<spdlog::details::console_mutex>>(to));
  out_ = std::make_shared<spdlog::logger>("hearsay", sinks.begin(), sinks.end());
  // UTC with milliseconds, as "2026-11-24T15:04:05.123Z info  message".
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<level_flag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %* %v");
  out_->set_formatter(std::move(formatter));
  set_level(level);
}

void logger::set_level(log_level level) {
  level_ = level;
  out_->set_level(to_spdlog(level));
}

}  // namespace hearsay::net

// The node's log lines: their format, their levels, and no formatting below the level.

#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>
#include <string>

#include "transport/log.hpp"

using namespace hearsay;
using namespace hearsay::net;

namespace {

// Counts how often it is turned into text.
struct counted {
  int* formatted;
};

std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  return text;
}

}  // namespace

template <>
struct fmt::formatter<counted> : fmt::formatter<std::string_view> {
  auto format(const counted& c, fmt::format_context& ctx) const {
    ++*c.formatted;
    return fmt::formatter<std::string_view>::format("counted", ctx);
  }
};

TEST_CASE("log lines: UTC time, the level, the message; nothing below the level is formatted", "[log]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  int formatted = 0;
  {
    logger log(log_level::info, f);
    log.info("hello {} at {}", "world", *peer_addr::parse("[::1]:7000"));
    log.warn("{} left", 3);
    log.error("plain");
    log.debug("hidden {}", counted{&formatted});
    CHECK(formatted == 0);
    CHECK_FALSE(log.enabled(log_level::debug));
    log.set_level(log_level::debug);
    log.debug("shown {}", counted{&formatted});
    CHECK(formatted == 1);
    log.set_level(log_level::error);
    log.warn("dropped");
  }
  const std::string text = read_all(f);
  std::fclose(f);
  const std::regex expected(
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z info  hello world at \\[::1\\]:7000\n"
      "[0-9T:.-]{23}Z warn  3 left\n"
      "[0-9T:.-]{23}Z error plain\n"
      "[0-9T:.-]{23}Z debug shown counted\n");
  CHECK(std::regex_match(text, expected));
  CHECK(parse_log_level("warn").value() == log_level::warn);
  CHECK_FALSE(parse_log_level("warning"));
}

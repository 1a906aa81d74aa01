// The node's log lines: their format, their levels, and no formatting below the level.

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

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
  // Each line: a UTC timestamp to the millisecond ("2026-12-07T03:19:06.563Z"), the level
  // padded to five, the message. (Checked by hand: std::regex draws GCC 12's false
  // -Wmaybe-uninitialized warnings in the sanitizer build.)
  const auto timestamp = [](std::string_view t) {
    if (t.size() != 24 || t[23] != 'Z') return false;
    for (std::size_t i = 0; i < 23; ++i) {
      const char want = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : i == 19 ? '.' : '0';
      if (want == '0' ? std::isdigit(static_cast<unsigned char>(t[i])) == 0 : t[i] != want) return false;
    }
    return true;
  };
  const std::vector<std::string> messages = {"info  hello world at [::1]:7000", "warn  3 left", "error plain",
                                             "debug shown counted"};
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    REQUIRE(end != std::string::npos);  // every line ends
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  REQUIRE(lines.size() == messages.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    REQUIRE(lines[i].size() > 25);
    CHECK(timestamp(std::string_view(lines[i]).substr(0, 24)));
    CHECK(lines[i][24] == ' ');
    CHECK(lines[i].substr(25) == messages[i]);
  }
  CHECK(parse_log_level("warn").value() == log_level::warn);
  CHECK_FALSE(parse_log_level("warning"));
}

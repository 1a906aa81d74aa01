// hearsay::result: the one error type of fallible calls.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <system_error>

#include "overlay/result.hpp"

using hearsay::failure;
using hearsay::result;

namespace {
result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return failure(std::string("not a digit: ") + c);
  return c - '0';
}

result<int> sum_digits(const char* s) {
  int total = 0;
  for (; *s; ++s) {
    auto d = parse_digit(*s);
    if (!d) return d.error().prefix("sum");
    total += *d;
  }
  return total;
}

result<> open_missing() { return hearsay::check(std::make_error_code(std::errc::no_such_file_or_directory), "open peers"); }
}  // namespace

TEST_CASE("a result holds the value or the failure, and a failure passes up unchanged") {
  auto ok = sum_digits("123");
  REQUIRE(ok.ok());
  CHECK(*ok == 6);

  auto bad = sum_digits("1x3");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what() == "sum: not a digit: x");
  CHECK_FALSE(bad.error().code());
}

TEST_CASE("a system failure keeps its error code and says what was being done") {
  auto r = open_missing();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == std::errc::no_such_file_or_directory);
  CHECK(r.error().what().rfind("open peers: ", 0) == 0);
  CHECK(r.error().what().size() > std::string("open peers: ").size());
  CHECK(hearsay::check(std::error_code{}).ok());
}

TEST_CASE("a result can hold a move-only value") {
  auto make = [](bool good) -> result<std::unique_ptr<int>> {
    if (!good) return failure("no");
    return std::make_unique<int>(7);
  };
  auto r = make(true);
  REQUIRE(r);
  std::unique_ptr<int> p = std::move(r).value();
  CHECK(*p == 7);
  CHECK_FALSE(make(false));
}

#pragma once
// Token buckets in integer arithmetic (millionths of a token), for rate limits that must
// behave the same in the simulator and on a real node: `rate` tokens per second, at most
// `burst` saved up. rate 0 means no limit.

#include <algorithm>
#include <cstdint>

#include "overlay/types.hpp"

namespace hearsay {

// A bucket's level without its rate and burst, for limits kept by the thousand that share
// them (one per link in every peer of a simulation): 16 bytes. It starts full.
class token_state {
 public:
  // Takes one token if there is one, refilling first at rate_per_s up to burst (at least 1).
  bool take(micros now, std::uint32_t rate_per_s, std::uint32_t burst) {
    if (rate_per_s == 0) return true;
    const std::int64_t full = unit * std::int64_t{std::max<std::uint32_t>(1, burst)};
    if (tokens_ < 0) {
      tokens_ = full;  // first use: full, as if made now
    } else {
      const std::int64_t elapsed_us = std::max<std::int64_t>(0, (now - at_).count());
      // rate tokens per second = rate millionths of a token per microsecond; an elapsed time
      // at least as long as the capacity refills the bucket whatever the rate (no overflow).
      const std::int64_t gain = elapsed_us >= full ? full : elapsed_us * std::int64_t{rate_per_s};
      tokens_ = std::min(full, tokens_ + gain);
    }
    at_ = now;
    if (tokens_ < unit) return false;
    tokens_ -= unit;
    return true;
  }

 private:
  static constexpr std::int64_t unit = 1'000'000;
  std::int64_t tokens_ = -1;  // -1: not used yet (full)
  micros at_{0};
};

// A bucket with its own rate and burst.
class token_bucket {
 public:
  token_bucket() = default;
  token_bucket(std::uint32_t rate_per_s, std::uint32_t burst) : rate_(rate_per_s), burst_(burst) {}

  // Takes one token if there is one.
  bool take(micros now) { return state_.take(now, rate_, burst_); }

 private:
  std::uint32_t rate_ = 0;
  std::uint32_t burst_ = 1;
  token_state state_;
};

}  // namespace hearsay

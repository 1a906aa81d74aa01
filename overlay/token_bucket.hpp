#pragma once
// A token bucket in integer arithmetic (millionths of a token), for rate limits that must
// behave the same in the simulator and on a real node: `rate` tokens per second, at most
// `burst` saved up. rate 0 means no limit.

#include <algorithm>
#include <cstdint>

#include "overlay/types.hpp"

namespace hearsay {

class token_bucket {
 public:
  token_bucket() = default;
  token_bucket(std::uint32_t rate_per_s, std::uint32_t burst, micros now)
      : rate_(rate_per_s), burst_(std::max<std::uint32_t>(1, burst)), tokens_(cap()), at_(now) {}

  // Takes one token if there is one.
  bool take(micros now) {
    if (rate_ == 0) return true;
    const std::int64_t full = cap();
    const std::int64_t elapsed_us = std::max<std::int64_t>(0, (now - at_).count());
    // rate tokens per second = rate millionths of a token per microsecond; an elapsed time
    // at least as long as the capacity refills the bucket whatever the rate (no overflow).
    const std::int64_t gain = elapsed_us >= full ? full : elapsed_us * std::int64_t{rate_};
    tokens_ = std::min(full, tokens_ + gain);
    at_ = now;
    if (tokens_ < unit) return false;
    tokens_ -= unit;
    return true;
  }

 private:
  static constexpr std::int64_t unit = 1'000'000;
  std::int64_t cap() const { return unit * std::int64_t{burst_}; }

  // 24 bytes: a simulation holds one per neighbour per peer.
  std::uint32_t rate_ = 0;
  std::uint32_t burst_ = 1;
  std::int64_t tokens_ = unit;
  micros at_{0};
};

}  // namespace hearsay

#pragma once
// One-way link latency models. Each model is one row of a table in latency.cpp (name,
// syntax, parameters, check, description, lower bound, link draw); constant and uniform are
// also computed inline in link(), the path of every message.
//
// A link's latency is a property of the pair of peers: it is drawn once per (unordered) pair
// from the model, by hashing the pair with the run's seed, so it needs no memory per link,
// is the same in both directions, and keeps messages on one link in FIFO order (equal
// latencies, ties broken by sequence number) exactly as TCP would.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/result.hpp"
#include "overlay/rng.hpp"
#include "overlay/types.hpp"

namespace hearsay::sim {

struct latency_model {
  enum class kind : std::uint8_t { constant, uniform, lognormal, regions };
  kind shape = kind::uniform;
  micros constant_us{50'000};
  micros min_us{10'000};     // uniform: lower bound
  micros max_us{100'000};    // uniform: upper bound
  micros median_us{50'000};  // lognormal: median = exp(mu)
  double sigma = 0.5;        // lognormal: shape
  micros cap_us{10'000'000}; // lognormal draws are capped, so one link cannot stall a run
  // regions: peer i lives in region i mod R of a region-to-region round-trip matrix; a link's
  // one-way latency is half the pair's RTT, plus up to `jitter` of it (drawn per link).
  std::string region_set;    // "ec2"
  double jitter = 0.1;

  // Parses "constant:MS", "uniform:MIN_MS:MAX_MS", "lognormal:MEDIAN_MS:SIGMA" or
  // "regions:ec2[:JITTER]".
  result<> parse(std::string_view text);
  std::string describe() const;
  // Checks the parameters.
  result<> validate() const;

  // The latency of the link between peers a and b, for this run's seed. Inline for the
  // constant and uniform models: every message sent asks.
  micros link(std::uint64_t seed, std::uint32_t a, std::uint32_t b) const {
    if (shape == kind::constant) return constant_us;
    std::uint64_t state = pair_state(seed, a, b);
    const double u = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    if (shape == kind::uniform) return uniform(u);
    return link_other(state, u, a, b);
  }
  // A lower bound on every link's latency (0 when the model has none above zero, as the
  // lognormal): the parallel event loop's window.
  micros minimum() const;
  // An upper bound on every link's latency (the lognormal's cap): how long a search's copies
  // can travel, for the compact engine's proofs (sim/compact.cpp).
  micros maximum() const;
  // The region of peer i, and the region names (regions model only).
  std::uint32_t region_of(std::uint32_t i) const;

 private:
  static std::uint64_t pair_state(std::uint64_t seed, std::uint32_t a, std::uint32_t b) {
    const std::uint64_t lo = a < b ? a : b;
    const std::uint64_t hi = a < b ? b : a;
    return seed ^ (lo << 32 | hi) * 0x9e3779b97f4a7c15ULL;
  }
  micros uniform(double u) const {
    const auto span = static_cast<double>((max_us - min_us).count() + 1);
    // u * span is never negative, so truncation is its floor: the same value as std::floor,
    // without the library call (which the baseline x86-64 target cannot inline) per message.
    return min_us + micros{static_cast<std::int64_t>(u * span)};
  }
  // link() for the lognormal and regions models: `state` has given u already.
  micros link_other(std::uint64_t state, double u, std::uint32_t a, std::uint32_t b) const;
};

// A published region-to-region round-trip matrix.
struct region_matrix {
  const char* name;
  std::vector<std::string> regions;
  std::vector<double> rtt_ms;  // regions x regions, symmetric, diagonal = intra-region RTT
  double rtt(std::uint32_t a, std::uint32_t b) const { return rtt_ms[a * regions.size() + b]; }
};
const region_matrix* find_region_matrix(std::string_view name);

}  // namespace hearsay::sim

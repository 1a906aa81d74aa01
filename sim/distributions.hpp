#pragma once
// Random draws the simulator's models need, all from hearsay::rng, so a seed replays a run on
// any machine. Each function documents its parameterisation.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/result.hpp"
#include "overlay/rng.hpp"

namespace hearsay::sim {

// Exponential with the given mean (inter-arrival times of a Poisson process of rate 1/mean).
inline double draw_exponential(rng& r, double mean) { return -mean * std::log(1.0 - r.uniform01()); }

// Pareto type I: P(X > x) = (scale / x)^shape for x >= scale; mean scale*shape/(shape-1).
inline double draw_pareto(rng& r, double shape, double scale) {
  return scale / std::pow(1.0 - r.uniform01(), 1.0 / shape);
}

// Weibull: P(X > x) = exp(-(x / scale)^shape); mean scale * Gamma(1 + 1/shape).
inline double draw_weibull(rng& r, double shape, double scale) {
  return scale * std::pow(-std::log(1.0 - r.uniform01()), 1.0 / shape);
}

// Zipf over ranks 0..n-1: P(rank k) proportional to 1 / (k+1)^alpha (alpha 0 is uniform).
// Draws by binary search in the precomputed cumulative distribution.
class zipf {
 public:
  zipf(std::uint32_t n, double alpha);
  std::uint32_t draw(rng& r) const;
  double probability(std::uint32_t k) const;  // of rank k
  std::uint32_t size() const { return static_cast<std::uint32_t>(cdf_.size()); }

 private:
  std::vector<double> cdf_;
};

// A session-length (or any positive duration) distribution, in seconds:
// "exp:MEAN", "pareto:SHAPE:SCALE", "weibull:SHAPE:SCALE", or "constant:VALUE".
struct duration_dist {
  enum class kind : std::uint8_t { constant, exponential, pareto, weibull };
  kind shape = kind::exponential;
  double a = 600, b = 0;

  result<> parse(std::string_view text);
  std::string describe() const;
  double draw(rng& r) const;
  double mean() const;
};

// A per-peer link capacity in Mbit/s (sim/downloads.hpp): "constant:R", "uniform:MIN:MAX",
// "lognormal:MEDIAN:SIGMA", or "classes:ec2", a mix of EC2 instance types at their baseline
// network bandwidth (distributions.cpp). Draws are clamped to [0.008, 100000] Mbit/s.
struct capacity_dist {
  enum class kind : std::uint8_t { constant, uniform, lognormal, ec2_classes };
  kind shape = kind::constant;
  double a = 20, b = 0;

  result<> parse(std::string_view text);
  std::string describe() const;
  // The capacity for uniform variates u, v in [0,1) (v: the lognormal's second) and the
  // peer's instance-class variate c (shared by its upload and download, as an instance's
  // bandwidth applies to both directions), in bytes per second.
  std::uint64_t bytes_per_s(double u, double v, double c) const;
};

// The size of a catalogue file in bytes: "indexed:BASE" (file f has BASE + f bytes: sizes
// about equal, yet distinct), "constant:BYTES", "uniform:MIN:MAX", "lognormal:MEDIAN:SIGMA" or
// "pareto:SHAPE:SCALE" (P(X > x) = (SCALE / x)^SHAPE). Sizes are clamped to [1, 2^40] bytes.
struct size_dist {
  enum class kind : std::uint8_t { indexed, constant, uniform, lognormal, pareto };
  kind shape = kind::indexed;
  double a = 1'000'000, b = 0;

  result<> parse(std::string_view text);
  std::string describe() const;
  // The sizes of files 0..n-1, drawn in index order from r (indexed draws nothing).
  std::vector<std::uint64_t> draw_all(std::uint32_t n, rng& r) const;
  static constexpr std::uint64_t bytes_max = std::uint64_t{1} << 40;
};

}  // namespace hearsay::sim

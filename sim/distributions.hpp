#pragma once
// Random draws the simulator's models need, all from hearsay::rng, so a seed replays a run on
// any machine. Each function documents its parameterisation.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

  std::string parse(std::string_view text);  // error message, empty on success
  std::string describe() const;
  double draw(rng& r) const;
  double mean() const;
};

}  // namespace hearsay::sim

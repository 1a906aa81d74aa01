// Confidence intervals (see tune_stats.hpp). The quantiles are found by bisection on the
// distribution functions, from the standard library's erfc and lgamma only.

#include "apps/sim/tune_stats.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <utility>

namespace hearsay::sim_app {

namespace {

constexpr double pi = 3.14159265358979323846;

// Smallest x in [lo, hi] with tail(x) <= target, for a tail probability that falls with x.
template <typename Tail>
double bisect(Tail tail, double target, double lo, double hi) {
  for (int i = 0; i < 200 && hi - lo > 1e-12 * (1 + hi); ++i) {
    const double mid = (lo + hi) / 2;
    (tail(mid) > target ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// P(|T| > t) for Student's t with df degrees of freedom: twice the integral of its density
// from t to infinity, taken as 1 - 2 * integral from 0 to t (Simpson's rule; the density is
// smooth and the upper limits used here are small).
double t_two_sided_tail(double t, std::uint32_t df) {
  const double v = df;
  const double log_c = std::lgamma((v + 1) / 2) - std::lgamma(v / 2) - 0.5 * std::log(v * pi);
  const auto density = [&](double x) { return std::exp(log_c - (v + 1) / 2 * std::log1p(x * x / v)); };
  constexpr int steps = 4000;  // even
  const double h = t / steps;
  double sum = density(0) + density(t);
  for (int i = 1; i < steps; ++i) sum += density(i * h) * (i % 2 == 1 ? 4 : 2);
  return 1 - 2 * (sum * h / 3);
}

}  // namespace

double normal_quantile(double confidence) {
  return bisect([](double z) { return std::erfc(z / std::sqrt(2.0)); }, 1 - confidence, 0, 40);
}

double t_quantile(double confidence, std::uint32_t df) {
  if (df == 0) return std::numeric_limits<double>::infinity();
  // Beyond a few hundred degrees of freedom t is the normal to well within the bisection's
  // precision, and the integral would need ever finer steps for nothing.
  if (df > 400) return normal_quantile(confidence);
  // Each takes some 10^5 evaluations of the density, and a search asks for the same few again
  // and again: they are kept (tune runs on one thread).
  static std::map<std::pair<double, std::uint32_t>, double> known;
  auto [it, fresh] = known.try_emplace({confidence, df}, 0.0);
  // t's quantile at 99.9 % with one degree of freedom is 636.6: a bracket up to 10^4 holds
  // every confidence this program accepts (at most 0.999).
  if (fresh) it->second = bisect([df](double t) { return t_two_sided_tail(t, df); }, 1 - confidence, 0, 1e4);
  return it->second;
}

interval wilson(double successes, double trials, double confidence) {
  if (!(trials > 0)) return {0, 0, 1};
  const double z = normal_quantile(confidence);
  const double p = successes / trials, z2n = z * z / trials;
  const double centre = (p + z2n / 2) / (1 + z2n);
  const double half = z / (1 + z2n) * std::sqrt(p * (1 - p) / trials + z2n / (4 * trials));
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

interval t_interval(const std::vector<double>& samples, double confidence) {
  const double inf = std::numeric_limits<double>::infinity();
  if (samples.empty()) return {NAN, -inf, inf};
  double sum = 0;
  for (double x : samples) sum += x;
  const double n = static_cast<double>(samples.size());
  const double mean = sum / n;
  if (samples.size() < 2) return {mean, -inf, inf};
  double squares = 0;
  for (double x : samples) squares += (x - mean) * (x - mean);
  const double half =
      t_quantile(confidence, static_cast<std::uint32_t>(samples.size() - 1)) * std::sqrt(squares / (n - 1) / n);
  return {mean, mean - half, mean + half};
}

}  // namespace hearsay::sim_app

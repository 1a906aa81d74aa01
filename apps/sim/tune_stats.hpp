#pragma once
// Confidence intervals for `hearsay-sim tune` (tune.hpp): how sure a few seeds make us of a
// point's success rate, latency or cost, so that seeds are added only while a constraint is
// still undecided.

#include <cstdint>
#include <vector>

namespace hearsay::sim_app {

struct interval {
  double mean = 0;
  double lo = 0;
  double hi = 0;
};

// The two-sided quantile of the standard normal distribution: z with P(|Z| <= z) = confidence.
double normal_quantile(double confidence);
// The same for Student's t with `df` degrees of freedom (df >= 1; 0 gives infinity). Not
// thread-safe: the quantiles computed are kept for the next call.
double t_quantile(double confidence, std::uint32_t df);

// Wilson's score interval for `successes` of `trials` (E. B. Wilson, JASA 1927): unlike the
// normal approximation it stays inside [0, 1] and is not empty when every trial succeeded,
// which is the usual case near a success constraint of 0.99.
interval wilson(double successes, double trials, double confidence);

// The t interval of the mean of independent samples (one per seed). With fewer than two
// samples the interval is unbounded: nothing is known of the spread.
interval t_interval(const std::vector<double>& samples, double confidence);

}  // namespace hearsay::sim_app

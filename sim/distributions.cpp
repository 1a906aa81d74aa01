// Distributions for the simulator's models (see distributions.hpp).

#include "sim/distributions.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace hearsay::sim {

zipf::zipf(std::uint32_t n, double alpha) {
  cdf_.resize(n);
  double sum = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k) + 1.0, alpha);
    cdf_[k] = sum;
  }
  for (auto& c : cdf_) c /= sum;
  if (!cdf_.empty()) cdf_.back() = 1.0;
}

std::uint32_t zipf::draw(rng& r) const {
  const double u = r.uniform01();
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(it - cdf_.begin(), static_cast<std::ptrdiff_t>(cdf_.size()) - 1));
}

double zipf::probability(std::uint32_t k) const { return k == 0 ? cdf_[0] : cdf_[k] - cdf_[k - 1]; }

std::string duration_dist::parse(std::string_view text) {
  std::vector<double> v;
  const auto colon = text.find(':');
  const auto name = text.substr(0, colon);
  auto rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  while (!rest.empty()) {
    const auto next = rest.find(':');
    const auto part = rest.substr(0, next);
    double x = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), x);
    if (ec != std::errc{} || end != part.data() + part.size() || !(x > 0)) {
      return "'" + std::string(part) + "' is not a positive number";
    }
    v.push_back(x);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
  }
  if (name == "constant" && v.size() == 1) {
    shape = kind::constant;
  } else if (name == "exp" && v.size() == 1) {
    shape = kind::exponential;
  } else if (name == "pareto" && v.size() == 2) {
    shape = kind::pareto;
  } else if (name == "weibull" && v.size() == 2) {
    shape = kind::weibull;
  } else {
    return "expected constant:S, exp:MEAN_S, pareto:SHAPE:SCALE_S or weibull:SHAPE:SCALE_S, got '" +
           std::string(text) + "'";
  }
  a = v[0];
  b = v.size() > 1 ? v[1] : 0;
  return {};
}

std::string duration_dist::describe() const {
  char buf[96];
  switch (shape) {
    case kind::constant: std::snprintf(buf, sizeof buf, "constant %g s", a); break;
    case kind::exponential: std::snprintf(buf, sizeof buf, "exponential, mean %g s", a); break;
    case kind::pareto: std::snprintf(buf, sizeof buf, "Pareto, shape %g, scale %g s", a, b); break;
    case kind::weibull: std::snprintf(buf, sizeof buf, "Weibull, shape %g, scale %g s", a, b); break;
  }
  return buf;
}

double duration_dist::draw(rng& r) const {
  switch (shape) {
    case kind::constant: return a;
    case kind::exponential: return draw_exponential(r, a);
    case kind::pareto: return draw_pareto(r, a, b);
    case kind::weibull: return draw_weibull(r, a, b);
  }
  return a;
}

double duration_dist::mean() const {
  switch (shape) {
    case kind::constant: return a;
    case kind::exponential: return a;
    case kind::pareto: return a > 1 ? b * a / (a - 1) : INFINITY;
    case kind::weibull: return b * std::tgamma(1.0 + 1.0 / a);
  }
  return a;
}

}  // namespace hearsay::sim

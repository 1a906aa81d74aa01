// Distributions for the simulator's models (see distributions.hpp).

#include "sim/distributions.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>

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

result<> duration_dist::parse(std::string_view text) {
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
      return failure("'" + std::string(part) + "' is not a positive number");
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
    return failure("expected constant:S, exp:MEAN_S, pareto:SHAPE:SCALE_S or weibull:SHAPE:SCALE_S, got '" +
                   std::string(text) + "'");
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

namespace {

// "name:x:y..." into the name and its numbers; false when a part is not a finite number.
bool split_spec(std::string_view text, std::string_view& name, std::vector<double>& values) {
  const auto colon = text.find(':');
  name = text.substr(0, colon);
  values.clear();
  auto rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  while (colon != std::string_view::npos) {
    const auto next = rest.find(':');
    const auto part = rest.substr(0, next);
    double x = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), x);
    if (ec != std::errc{} || end != part.data() + part.size() || !std::isfinite(x)) return false;
    values.push_back(x);
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  return true;
}

// A standard normal from two uniforms in [0,1) (Box-Muller; 1 - u keeps the log finite).
double standard_normal(double u, double v) {
  return std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(2.0 * 3.14159265358979323846 * v);
}

// EC2 instance classes for "classes:ec2": each type's baseline network bandwidth, which the
// Amazon EC2 Instance Types Guide lists in its network specifications (burstable T3: 0.064,
// 0.128, 0.256 and 0.512 Gbit/s from micro to large; general purpose M5: 0.75 Gbit/s for
// large, 1.25 for xlarge). The bandwidth applies to inbound and outbound traffic alike, so a
// peer's upload and download are the same. Bursts (up to 5 Gbit/s while credits last) are
// left out: a download lasts long enough to use them up. The shares of the mix are an
// illustration of a fleet of small instances, not a measurement.
struct instance_class {
  const char* name;
  double mbit_s;
  double share;
};
constexpr instance_class ec2_classes[] = {
    {"t3.micro", 64, 0.30}, {"t3.small", 128, 0.20}, {"t3.medium", 256, 0.20},
    {"t3.large", 512, 0.10}, {"m5.large", 750, 0.15}, {"m5.xlarge", 1250, 0.05},
};

constexpr double capacity_mbit_s_min = 0.008, capacity_mbit_s_max = 100'000;

}  // namespace

result<> capacity_dist::parse(std::string_view text) {
  std::string_view name;
  std::vector<double> v;
  const std::string expected = "expected constant:MBIT_S, uniform:MIN:MAX, lognormal:MEDIAN:SIGMA or classes:ec2, got '" +
                               std::string(text) + "'";
  if (text == "classes:ec2") {
    shape = kind::ec2_classes;
    a = b = 0;
    return {};
  }
  if (!split_spec(text, name, v)) return failure(expected);
  auto rate_ok = [](double x) { return x >= capacity_mbit_s_min && x <= capacity_mbit_s_max; };
  if (name == "constant" && v.size() == 1) {
    if (!rate_ok(v[0])) return failure("a capacity must be from 0.008 to 100000 Mbit/s");
    shape = kind::constant;
  } else if (name == "uniform" && v.size() == 2) {
    if (!rate_ok(v[0]) || !rate_ok(v[1]) || v[1] < v[0]) return failure("need 0.008 <= MIN <= MAX <= 100000 (Mbit/s)");
    shape = kind::uniform;
  } else if (name == "lognormal" && v.size() == 2) {
    if (!rate_ok(v[0]) || !(v[1] >= 0) || v[1] > 5) return failure("need a median from 0.008 to 100000 Mbit/s and 0 <= SIGMA <= 5");
    shape = kind::lognormal;
  } else {
    return failure(expected);
  }
  a = v[0];
  b = v.size() > 1 ? v[1] : 0;
  return {};
}

std::string capacity_dist::describe() const {
  char buf[96];
  switch (shape) {
    case kind::constant: std::snprintf(buf, sizeof buf, "%g Mbit/s", a); break;
    case kind::uniform: std::snprintf(buf, sizeof buf, "uniform %g..%g Mbit/s", a, b); break;
    case kind::lognormal: std::snprintf(buf, sizeof buf, "lognormal median %g Mbit/s sigma %g", a, b); break;
    case kind::ec2_classes: std::snprintf(buf, sizeof buf, "EC2 classes t3.micro..m5.xlarge"); break;
  }
  return buf;
}

std::uint64_t capacity_dist::bytes_per_s(double u, double v, double c) const {
  double mbit_s = a;
  switch (shape) {
    case kind::constant: break;
    case kind::uniform: mbit_s = a + (b - a) * u; break;
    case kind::lognormal: mbit_s = a * std::exp(b * standard_normal(u, v)); break;
    case kind::ec2_classes: {
      mbit_s = ec2_classes[std::size(ec2_classes) - 1].mbit_s;
      double below = 0;
      for (const auto& k : ec2_classes) {
        below += k.share;
        if (c < below) {
          mbit_s = k.mbit_s;
          break;
        }
      }
      break;
    }
  }
  mbit_s = std::clamp(mbit_s, capacity_mbit_s_min, capacity_mbit_s_max);
  return static_cast<std::uint64_t>(std::llround(mbit_s * 125'000.0));  // 10^6 / 8 bytes per Mbit
}

result<> size_dist::parse(std::string_view text) {
  std::string_view name;
  std::vector<double> v;
  const std::string expected =
      "expected indexed:BASE, constant:BYTES, uniform:MIN:MAX, lognormal:MEDIAN:SIGMA or pareto:SHAPE:SCALE, got '" +
      std::string(text) + "'";
  if (!split_spec(text, name, v)) return failure(expected);
  const auto most = static_cast<double>(bytes_max);
  auto bytes_ok = [&](double x) { return x >= 1 && x <= most; };
  if (name == "indexed" && v.size() == 1) {
    if (!(v[0] >= 0) || v[0] > most / 2) return failure("BASE must be from 0 to 2^39 bytes");
    shape = kind::indexed;
  } else if (name == "constant" && v.size() == 1) {
    if (!bytes_ok(v[0])) return failure("a size must be from 1 to 2^40 bytes");
    shape = kind::constant;
  } else if (name == "uniform" && v.size() == 2) {
    if (!bytes_ok(v[0]) || !bytes_ok(v[1]) || v[1] < v[0]) return failure("need 1 <= MIN <= MAX <= 2^40 (bytes)");
    shape = kind::uniform;
  } else if (name == "lognormal" && v.size() == 2) {
    if (!bytes_ok(v[0]) || !(v[1] >= 0) || v[1] > 5) return failure("need a median from 1 to 2^40 bytes and 0 <= SIGMA <= 5");
    shape = kind::lognormal;
  } else if (name == "pareto" && v.size() == 2) {
    if (!(v[0] > 0) || v[0] > 100 || !bytes_ok(v[1])) return failure("need 0 < SHAPE <= 100 and a SCALE from 1 to 2^40 bytes");
    shape = kind::pareto;
  } else {
    return failure(expected);
  }
  a = v[0];
  b = v.size() > 1 ? v[1] : 0;
  return {};
}

std::string size_dist::describe() const {
  char buf[96];
  switch (shape) {
    case kind::indexed: std::snprintf(buf, sizeof buf, "%.0f + index bytes", a); break;
    case kind::constant: std::snprintf(buf, sizeof buf, "%.0f bytes", a); break;
    case kind::uniform: std::snprintf(buf, sizeof buf, "uniform %.0f..%.0f bytes", a, b); break;
    case kind::lognormal: std::snprintf(buf, sizeof buf, "lognormal median %.0f bytes sigma %g", a, b); break;
    case kind::pareto: std::snprintf(buf, sizeof buf, "Pareto shape %g scale %.0f bytes", a, b); break;
  }
  return buf;
}

std::vector<std::uint64_t> size_dist::draw_all(std::uint32_t n, rng& r) const {
  std::vector<std::uint64_t> sizes(n);
  const auto most = static_cast<double>(bytes_max);
  for (std::uint32_t f = 0; f < n; ++f) {
    double x = a;
    switch (shape) {
      case kind::indexed: x = a + f; break;
      case kind::constant: break;
      case kind::uniform: x = a + (b - a) * r.uniform01(); break;
      case kind::lognormal: {
        const double u = r.uniform01();
        x = a * std::exp(b * standard_normal(u, r.uniform01()));
        break;
      }
      case kind::pareto: x = draw_pareto(r, a, b); break;
    }
    sizes[f] = static_cast<std::uint64_t>(std::llround(std::clamp(x, 1.0, most)));
  }
  return sizes;
}

}  // namespace hearsay::sim

// Link latency models (see latency.hpp).

#include "sim/latency.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

#include "overlay/rng.hpp"

namespace hearsay::sim {

namespace {
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto i = s.find(sep);
    parts.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return parts;
    s.remove_prefix(i + 1);
  }
}
bool to_double(std::string_view s, double& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && std::isfinite(out);
}
micros ms(double v) { return micros{static_cast<std::int64_t>(std::llround(v * 1000.0))}; }
}  // namespace

const region_matrix* find_region_matrix(std::string_view name) {
  // Six EC2 regions. Round-trip times are the averages measured between EC2 instances and
  // published in "Latency Between AWS Global Regions" (2017), as tabulated in "AWS Regions",
  // acomputerscientistlearnsaws.blogspot.com (April 2017); the two directions of each pair
  // are averaged. Within a region, 1 ms: inter-AZ round trips measured between 0.25 and
  // 3.4 ms (best of 50 pings, xkyle.com, "Measuring AWS Region and AZ Latency").
  static const region_matrix ec2{
      "ec2",
      {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1"},
      {
          // us-e1  us-w2  eu-w1  eu-c1  ap-ne1 ap-se1
          1.0,   87.8,  80.5,  88.6,  145.3, 216.7,  // us-east-1 (N. Virginia)
          87.8,  1.0,   137.0, 159.5, 89.1,  161.4,  // us-west-2 (Oregon)
          80.5,  137.0, 1.0,   19.6,  212.4, 238.6,  // eu-west-1 (Ireland)
          88.6,  159.5, 19.6,  1.0,   236.6, 325.9,  // eu-central-1 (Frankfurt)
          145.3, 89.1,  212.4, 236.6, 1.0,   73.8,   // ap-northeast-1 (Tokyo)
          216.7, 161.4, 238.6, 325.9, 73.8,  1.0,    // ap-southeast-1 (Singapore)
      }};
  if (name == "ec2") return &ec2;
  return nullptr;
}

std::uint32_t latency_model::region_of(std::uint32_t i) const {
  const region_matrix* m = find_region_matrix(region_set);
  return m == nullptr ? 0 : i % static_cast<std::uint32_t>(m->regions.size());
}

std::string latency_model::parse(std::string_view text) {
  const auto parts = split(text, ':');
  if (parts[0] == "regions") {
    if (parts.size() < 2 || parts.size() > 3 || find_region_matrix(parts[1]) == nullptr) {
      return "latency: expected regions:ec2[:JITTER], got '" + std::string(text) + "'";
    }
    double j = 0.1;
    if (parts.size() == 3 && (!to_double(parts[2], j) || j < 0 || j > 10)) {
      return "latency: regions jitter must be a number from 0 to 10";
    }
    shape = kind::regions;
    region_set = parts[1];
    jitter = j;
    return {};
  }
  std::vector<double> values;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    double v = 0;
    if (!to_double(parts[i], v)) return "latency: '" + std::string(parts[i]) + "' is not a number";
    values.push_back(v);
  }
  if (parts[0] == "constant" && values.size() == 1) {
    shape = kind::constant;
    constant_us = ms(values[0]);
  } else if (parts[0] == "uniform" && values.size() == 2) {
    shape = kind::uniform;
    min_us = ms(values[0]);
    max_us = ms(values[1]);
  } else if (parts[0] == "lognormal" && values.size() == 2) {
    shape = kind::lognormal;
    median_us = ms(values[0]);
    sigma = values[1];
  } else {
    return "latency: expected constant:MS, uniform:MIN_MS:MAX_MS or lognormal:MEDIAN_MS:SIGMA, got '" +
           std::string(text) + "'";
  }
  return validate();
}

std::string latency_model::validate() const {
  switch (shape) {
    case kind::constant:
      if (constant_us.count() < 0) return "latency: must not be negative";
      break;
    case kind::uniform:
      if (min_us.count() < 0 || max_us < min_us) return "latency: need 0 <= min <= max";
      break;
    case kind::lognormal:
      if (median_us.count() <= 0 || !(sigma >= 0.0) || sigma > 5.0) {
        return "latency: need median > 0 and 0 <= sigma <= 5";
      }
      break;
    case kind::regions:
      if (find_region_matrix(region_set) == nullptr) return "latency: unknown region set";
      break;
  }
  return {};
}

std::string latency_model::describe() const {
  char buf[96];
  switch (shape) {
    case kind::constant:
      std::snprintf(buf, sizeof buf, "constant %.3f ms", static_cast<double>(constant_us.count()) / 1000.0);
      break;
    case kind::uniform:
      std::snprintf(buf, sizeof buf, "uniform %.3f..%.3f ms", static_cast<double>(min_us.count()) / 1000.0,
                    static_cast<double>(max_us.count()) / 1000.0);
      break;
    case kind::lognormal:
      std::snprintf(buf, sizeof buf, "lognormal median %.3f ms sigma %.3f",
                    static_cast<double>(median_us.count()) / 1000.0, sigma);
      break;
    case kind::regions:
      std::snprintf(buf, sizeof buf, "%s regions (%zu), jitter %.0f%%", region_set.c_str(),
                    find_region_matrix(region_set)->regions.size(), 100.0 * jitter);
      break;
  }
  return buf;
}

micros latency_model::draw(double u, double v) const {
  switch (shape) {
    case kind::constant:
      return constant_us;
    case kind::uniform:
      return uniform(u);
    case kind::lognormal: {
      // Box-Muller: a standard normal from two uniforms (u in (0,1] to keep log finite).
      const double z = std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(2.0 * 3.14159265358979323846 * v);
      const double value = static_cast<double>(median_us.count()) * std::exp(sigma * z);
      const double capped = std::fmin(value, static_cast<double>(cap_us.count()));
      return micros{static_cast<std::int64_t>(std::llround(capped))};
    }
    case kind::regions:
      break;  // needs the pair of peers: see link()
  }
  return constant_us;
}

micros latency_model::minimum() const {
  switch (shape) {
    case kind::constant: return constant_us;
    case kind::uniform: return min_us;
    case kind::lognormal: return micros{0};
    case kind::regions: {
      const region_matrix* m = find_region_matrix(region_set);
      if (m == nullptr || m->rtt_ms.empty()) return micros{0};
      const double rtt = *std::min_element(m->rtt_ms.begin(), m->rtt_ms.end());
      // link() rounds rtt/2 x (1 + jitter u) with u >= 0; one microsecond below covers rounding.
      return micros{std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(rtt * 500.0)) - 1)};
    }
  }
  return micros{0};
}

micros latency_model::link_other(std::uint64_t state, double u, std::uint32_t a, std::uint32_t b) const {
  // The second uniform only for the lognormal model (drawn after u from the same stream).
  const double v = shape == kind::lognormal ? static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53 : 0.0;
  if (shape == kind::regions) {
    const region_matrix* m = find_region_matrix(region_set);
    const double rtt = m->rtt(region_of(a), region_of(b));
    return micros{static_cast<std::int64_t>(std::llround(rtt * 500.0 * (1.0 + jitter * u)))};
  }
  return draw(u, v);
}

}  // namespace hearsay::sim

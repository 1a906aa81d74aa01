// Link latency models (see latency.hpp).

#include "sim/latency.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <span>
#include <vector>

#include "overlay/assert.hpp"

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

// ---- the models, one row each ---------------------------------------------------------------
//
// A model is a row of this table: its name and syntax, how its parameters are read and
// checked, how it is described in reports, its lower bound (the parallel loop's window) and,
// for the models link() does not compute inline, a link's latency. A new model is one row
// (and, when its draw is not one of these, a kind and a function here).

namespace {

using args = std::span<const double>;

struct model_row {
  latency_model::kind shape;
  std::string_view name;
  std::string_view syntax;
  std::size_t numbers;  // numeric parameters after the name (regions: see parse_regions)
  void (*set)(latency_model& m, args values);
  const char* (*check)(const latency_model& m);  // nullptr when valid
  void (*describe)(const latency_model& m, char* buf, std::size_t size);
  micros (*minimum)(const latency_model& m);
  micros (*maximum)(const latency_model& m);  // an upper bound on every link's latency
  // A link's latency from the pair's first uniform u and its stream (for more draws); unused
  // for constant and uniform, which link() computes inline.
  micros (*link)(const latency_model& m, std::uint64_t state, double u, std::uint32_t a, std::uint32_t b);
};

double ms_of(micros v) { return static_cast<double>(v.count()) / 1000.0; }

micros lognormal_link(const latency_model& m, std::uint64_t state, double u, std::uint32_t, std::uint32_t) {
  // Box-Muller: a standard normal from two uniforms (u in (0,1] to keep log finite); the
  // second uniform is the next draw of the pair's stream.
  const double v = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
  const double z = std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(2.0 * 3.14159265358979323846 * v);
  const double value = static_cast<double>(m.median_us.count()) * std::exp(m.sigma * z);
  const double capped = std::fmin(value, static_cast<double>(m.cap_us.count()));
  return micros{static_cast<std::int64_t>(std::llround(capped))};
}

micros regions_link(const latency_model& m, std::uint64_t, double u, std::uint32_t a, std::uint32_t b) {
  const region_matrix* r = find_region_matrix(m.region_set);
  const double rtt = r->rtt(m.region_of(a), m.region_of(b));
  return micros{static_cast<std::int64_t>(std::llround(rtt * 500.0 * (1.0 + m.jitter * u)))};
}

micros no_link(const latency_model& m, std::uint64_t, double, std::uint32_t, std::uint32_t) { return m.constant_us; }

const model_row rows[] = {
    {latency_model::kind::constant, "constant", "constant:MS", 1,
     [](latency_model& m, args v) { m.constant_us = ms(v[0]); },
     [](const latency_model& m) -> const char* { return m.constant_us.count() < 0 ? "must not be negative" : nullptr; },
     [](const latency_model& m, char* buf, std::size_t n) { std::snprintf(buf, n, "constant %.3f ms", ms_of(m.constant_us)); },
     [](const latency_model& m) { return m.constant_us; }, [](const latency_model& m) { return m.constant_us; },
     no_link},
    {latency_model::kind::uniform, "uniform", "uniform:MIN_MS:MAX_MS", 2,
     [](latency_model& m, args v) {
       m.min_us = ms(v[0]);
       m.max_us = ms(v[1]);
     },
     [](const latency_model& m) -> const char* {
       return m.min_us.count() < 0 || m.max_us < m.min_us ? "need 0 <= min <= max" : nullptr;
     },
     [](const latency_model& m, char* buf, std::size_t n) {
       std::snprintf(buf, n, "uniform %.3f..%.3f ms", ms_of(m.min_us), ms_of(m.max_us));
     },
     [](const latency_model& m) { return m.min_us; }, [](const latency_model& m) { return m.max_us; }, no_link},
    {latency_model::kind::lognormal, "lognormal", "lognormal:MEDIAN_MS:SIGMA", 2,
     [](latency_model& m, args v) {
       m.median_us = ms(v[0]);
       m.sigma = v[1];
     },
     [](const latency_model& m) -> const char* {
       return m.median_us.count() <= 0 || !(m.sigma >= 0.0) || m.sigma > 5.0 ? "need median > 0 and 0 <= sigma <= 5"
                                                                              : nullptr;
     },
     [](const latency_model& m, char* buf, std::size_t n) {
       std::snprintf(buf, n, "lognormal median %.3f ms sigma %.3f", ms_of(m.median_us), m.sigma);
     },
     [](const latency_model&) { return micros{0}; },
     [](const latency_model& m) { return m.cap_us; },  // draws are capped
     lognormal_link},
    {latency_model::kind::regions, "regions", "regions:ec2[:JITTER]", 0, nullptr,
     [](const latency_model& m) -> const char* {
       return find_region_matrix(m.region_set) == nullptr ? "unknown region set" : nullptr;
     },
     [](const latency_model& m, char* buf, std::size_t n) {
       std::snprintf(buf, n, "%s regions (%zu), jitter %.0f%%", m.region_set.c_str(),
                     find_region_matrix(m.region_set)->regions.size(), 100.0 * m.jitter);
     },
     [](const latency_model& m) {
       const region_matrix* r = find_region_matrix(m.region_set);
       if (r == nullptr || r->rtt_ms.empty()) return micros{0};
       const double rtt = *std::min_element(r->rtt_ms.begin(), r->rtt_ms.end());
       // link() rounds rtt/2 x (1 + jitter u) with u >= 0; one microsecond below covers rounding.
       return micros{std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(rtt * 500.0)) - 1)};
     },
     [](const latency_model& m) {
       const region_matrix* r = find_region_matrix(m.region_set);
       if (r == nullptr || r->rtt_ms.empty()) return micros{0};
       const double rtt = *std::max_element(r->rtt_ms.begin(), r->rtt_ms.end());
       // link() rounds rtt/2 x (1 + jitter u) with u < 1; one microsecond above covers rounding.
       return micros{static_cast<std::int64_t>(std::ceil(rtt * 500.0 * (1.0 + m.jitter))) + 1};
     },
     regions_link},
};

const model_row& row_of(latency_model::kind k) {
  const model_row& r = rows[static_cast<std::size_t>(k)];
  HEARSAY_ASSERT(r.shape == k);  // rows are in the enum's order
  return r;
}

std::string syntaxes() {
  std::string out;
  for (const auto& r : rows) out += (out.empty() ? "" : ", ") + std::string(r.syntax);
  return out;
}

}  // namespace

result<> latency_model::parse(std::string_view text) {
  const auto parts = split(text, ':');
  const model_row* row = nullptr;
  for (const auto& r : rows) row = r.name == parts[0] ? &r : row;
  if (row == nullptr) return failure("latency: expected " + syntaxes() + ", got '" + std::string(text) + "'");
  if (row->shape == kind::regions) {
    // A name and an optional number: not the plain list of numbers of the others.
    if (parts.size() < 2 || parts.size() > 3 || find_region_matrix(parts[1]) == nullptr) {
      return failure("latency: expected " + std::string(row->syntax) + ", got '" + std::string(text) + "'");
    }
    double j = 0.1;
    if (parts.size() == 3 && (!to_double(parts[2], j) || j < 0 || j > 10)) {
      return failure("latency: regions jitter must be a number from 0 to 10");
    }
    shape = kind::regions;
    region_set = parts[1];
    jitter = j;
    return {};
  }
  std::vector<double> values;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    double v = 0;
    if (!to_double(parts[i], v)) return failure("latency: '" + std::string(parts[i]) + "' is not a number");
    values.push_back(v);
  }
  if (values.size() != row->numbers) {
    return failure("latency: expected " + std::string(row->syntax) + ", got '" + std::string(text) + "'");
  }
  shape = row->shape;
  row->set(*this, values);
  return validate();
}

result<> latency_model::validate() const {
  const char* problem = row_of(shape).check(*this);
  if (problem == nullptr) return {};
  return failure("latency: " + std::string(problem));
}

std::string latency_model::describe() const {
  char buf[96];
  row_of(shape).describe(*this, buf, sizeof buf);
  return buf;
}

micros latency_model::minimum() const { return row_of(shape).minimum(*this); }

micros latency_model::maximum() const { return row_of(shape).maximum(*this); }

micros latency_model::link_other(std::uint64_t state, double u, std::uint32_t a, std::uint32_t b) const {
  return row_of(shape).link(*this, state, u, a, b);
}

}  // namespace hearsay::sim

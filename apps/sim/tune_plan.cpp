// The plan of hearsay-sim tune (see tune_plan.hpp and tune.hpp).

#include "apps/sim/tune_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "apps/sim/sweep.hpp"
#include "sim/table.hpp"

namespace hearsay::sim_app::tuning {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::vector<std::string> numeric_columns() {
  const auto header = sim::table::parse(sim::csv_header());
  std::vector<std::string> out;
  for (const auto& c : header->columns) {
    if (c != "point" && c != "topology" && c != "latency" && c != "replication_strategy") out.push_back(c);
  }
  return out;
}

namespace {

// Shares of the queries of a run: their interval is Wilson's over every query of every seed.
bool share_of_queries(const std::string& column) {
  return column == "success_rate" || column == "kth_success_rate" || column == "downloads_done_rate" ||
         column == "downloads_failed_rate" || column == "downloads_abandoned_rate";
}

interval interval_of(const std::string& column, const std::vector<const row*>& rows, double confidence) {
  if (share_of_queries(column)) {
    double successes = 0, trials = 0;
    for (const auto* r : rows) {
      const double q = r->at("queries");
      successes += std::round(r->at(column) * q);
      trials += q;
    }
    return wilson(successes, trials, confidence);
  }
  std::vector<double> samples;
  for (const auto* r : rows) samples.push_back(r->at(column));
  return t_interval(samples, confidence);
}

int decide(const constraint& c, const interval& iv) {
  if (c.at_least) return iv.lo >= c.bound ? 1 : iv.hi < c.bound ? -1 : 0;
  return iv.hi <= c.bound ? 1 : iv.lo > c.bound ? -1 : 0;
}

int decide_by_mean(const constraint& c, double mean) {
  return (c.at_least ? mean >= c.bound : mean <= c.bound) ? 1 : -1;
}

// A constraint's relation to the monotone keys: +1 helped by larger values, -1 hurt, 0 neither.
int direction(const constraint& c) {
  if (!rising_column(c.column)) return 0;
  return c.at_least ? 1 : -1;
}

estimate estimate_of(const tune_spec& spec, const grid_point& at, std::vector<const row*> rows) {
  estimate e;
  e.at = at;
  e.rows = std::move(rows);
  for (const auto& column : shown_columns(spec)) e.metrics[column] = interval_of(column, e.rows, spec.confidence);
  const bool last_seed = e.rows.size() >= spec.seeds_max;
  bool any_failed = false, all_met = true, helped_open = false;
  for (const auto& c : spec.constraints) {
    const interval& iv = e.metrics[c.column];
    int v = decide(c, iv);
    if (v == 0 && last_seed) {
      v = decide_by_mean(c, iv.mean);
      e.by_mean = true;
    }
    e.verdicts.push_back(v);
    any_failed |= v < 0;
    all_met &= v > 0;
    helped_open |= v == 0 && direction(c) != 0;
  }
  e.overall = any_failed ? -1 : all_met ? 1 : 0;
  // Seeds go on while the point is undecided, or while a constraint that tells about other
  // points (through the monotone keys) is: a bisection needs it.
  e.wants_seed = !last_seed && (e.overall == 0 || helped_open);
  return e;
}

// Ranks 0, n-1, then the middles of the intervals between ranked values, coarsest first.
std::vector<std::uint32_t> coarse_ranks(std::size_t n) {
  std::vector<std::uint32_t> rank(n, 0);
  if (n == 0) return rank;
  std::vector<bool> ranked(n, false);
  std::uint32_t next = 0;
  auto take = [&](std::size_t i) {
    if (!ranked[i]) rank[i] = next++, ranked[i] = true;
  };
  take(0);
  take(n - 1);
  std::vector<std::pair<std::size_t, std::size_t>> level{{0, n - 1}};
  while (!level.empty()) {
    std::vector<std::pair<std::size_t, std::size_t>> deeper;
    for (auto [lo, hi] : level) {
      if (hi - lo < 2) continue;
      const std::size_t mid = lo + (hi - lo) / 2;
      take(mid);
      deeper.emplace_back(lo, mid);
      deeper.emplace_back(mid, hi);
    }
    level = std::move(deeper);
  }
  return rank;
}

}  // namespace

std::vector<std::string> point_flags(const tune_spec& spec, const grid_point& at) {
  std::vector<std::string> out;
  for (std::size_t d = 0; d < spec.dims.size(); ++d) {
    out.insert(out.end(), {"--set", spec.dims[d].key + "=" + spec.dims[d].values[at[d]]});
  }
  return out;
}

std::string point_label(const tune_spec& spec, const grid_point& at) {
  std::string out;
  for (std::size_t d = 0; d < spec.dims.size(); ++d) {
    out += (d ? " " : "") + spec.dims[d].key + "=" + spec.dims[d].values[at[d]];
  }
  return out;
}

std::string latency_column(const tune_spec& spec) {
  for (const auto& c : spec.constraints) {
    if (c.column.size() > 3 && c.column.compare(c.column.size() - 3, 3, "_ms") == 0) return c.column;
  }
  if (spec.objective.size() > 3 && spec.objective.compare(spec.objective.size() - 3, 3, "_ms") == 0) {
    return spec.objective;
  }
  return "first_hit_p95_ms";
}

// The columns a point's table shows: the constraints', the objective, then the Pareto front's.
std::vector<std::string> shown_columns(const tune_spec& spec) {
  std::vector<std::string> out;
  auto add = [&](const std::string& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  for (const auto& c : spec.constraints) add(c.column);
  add(spec.objective);
  add("success_rate");
  add(latency_column(spec));
  add("query_messages");
  return out;
}

planner::planner(const tune_spec& s, const std::vector<run_record>& r) : spec(s), runs(r) {
  std::map<grid_point, std::vector<const row*>> rows;
  for (const auto& run : runs) {
    if (run.variant == "search" && run.result) rows[run.at].push_back(&*run.result);
  }
  for (auto& [at, list] : rows) points.emplace(at, estimate_of(spec, at, std::move(list)));
  std::size_t most = 1;
  for (std::size_t d = 0; d < spec.dims.size(); ++d) {
    if (spec.dims[d].monotone && spec.dims[d].values.size() > most) {
      most = spec.dims[d].values.size();
      bisected = static_cast<int>(d);
    }
  }
}

int planner::verdict(const grid_point& q, std::size_t c) const {
  if (auto it = points.find(q); it != points.end() && it->second.verdicts[c] != 0) return it->second.verdicts[c];
  const int dir = direction(spec.constraints[c]);
  if (dir == 0) return 0;
  for (const auto& [at, e] : points) {
    const int v = e.verdicts[c];
    if (v == 0) continue;
    bool below = true, above = true, comparable = true;
    for (std::size_t d = 0; d < spec.dims.size() && comparable; ++d) {
      if (!spec.dims[d].monotone) {
        comparable = at[d] == q[d];
      } else {
        below &= at[d] <= q[d];
        above &= at[d] >= q[d];
      }
    }
    if (!comparable) continue;
    // Helped (dir +1): met below means met here; not met above means not met here. Hurt: the reverse.
    if (below && v == dir) return v;
    if (above && v == -dir) return v;
  }
  return 0;
}

int planner::helped(const grid_point& q) const {
  bool all = true;
  for (std::size_t c = 0; c < spec.constraints.size(); ++c) {
    if (direction(spec.constraints[c]) != 1) continue;
    const int v = verdict(q, c);
    if (v < 0) return -1;
    all &= v > 0;
  }
  return all ? 1 : 0;
}

bool planner::implied_infeasible(const grid_point& q) const {
  for (std::size_t c = 0; c < spec.constraints.size(); ++c) {
    if (verdict(q, c) < 0) return true;
  }
  return false;
}

bool planner::hurt_not_met(const grid_point& q) const {
  for (std::size_t c = 0; c < spec.constraints.size(); ++c) {
    if (direction(spec.constraints[c]) == -1 && verdict(q, c) < 0) return true;
  }
  return false;
}

std::vector<grid_point> planner::slices() const {
  std::vector<std::vector<std::uint32_t>> ranks;
  for (const auto& d : spec.dims) ranks.push_back(coarse_ranks(d.values.size()));
  std::vector<grid_point> out;
  grid_point at(spec.dims.size(), 0);
  while (true) {
    out.push_back(at);
    std::size_t d = spec.dims.size();
    bool wrapped = true;
    while (d > 0) {
      --d;
      if (static_cast<int>(d) == bisected) continue;
      if (++at[d] < spec.dims[d].values.size()) {
        wrapped = false;
        break;
      }
      at[d] = 0;
    }
    if (wrapped) break;
  }
  auto key = [&](const grid_point& p) {
    std::uint32_t worst = 0;
    for (std::size_t d = 0; d < p.size(); ++d) {
      if (static_cast<int>(d) != bisected) worst = std::max(worst, ranks[d][p[d]]);
    }
    return worst;
  };
  std::stable_sort(out.begin(), out.end(), [&](const grid_point& a, const grid_point& b) { return key(a) < key(b); });
  return out;
}

std::optional<grid_point> planner::step(const grid_point& slice) const {
  const std::size_t n = bisected < 0 ? 1 : spec.dims[static_cast<std::size_t>(bisected)].values.size();
  auto at = [&](std::size_t k) {
    grid_point p = slice;
    if (bisected >= 0) p[static_cast<std::size_t>(bisected)] = static_cast<std::uint32_t>(k);
    return p;
  };
  std::ptrdiff_t lo = -1;
  for (std::size_t k = 0; k < n; ++k) {
    if (helped(at(k)) < 0) lo = static_cast<std::ptrdiff_t>(k);
  }
  std::size_t hi = n;
  for (std::size_t k = n; k-- > static_cast<std::size_t>(lo + 1);) {
    if (helped(at(k)) > 0) hi = k;
  }
  if (static_cast<std::ptrdiff_t>(hi) - lo > 1) {
    const std::size_t mid = static_cast<std::size_t>(lo + (static_cast<std::ptrdiff_t>(hi) - lo) / 2);
    // An unknown point already run is one whose seeds ran out undecided: taken as it stands.
    if (!points.count(at(mid))) return at(mid);
  }
  const bool least_is_best = rising_column(spec.objective) && !spec.maximize;
  for (std::size_t k = hi; k < n; ++k) {
    const grid_point p = at(k);
    if (hurt_not_met(p)) break;
    auto it = points.find(p);
    if (it == points.end()) {
      if (implied_infeasible(p)) continue;
      return p;
    }
    if (it->second.overall > 0 && least_is_best) break;
  }
  return std::nullopt;
}

std::vector<run_record> planner::search_round(std::uint32_t reserve) const {
  const std::int64_t left = static_cast<std::int64_t>(spec.budget) - static_cast<std::int64_t>(used()) - reserve;
  std::vector<run_record> out;
  auto room = [&](std::size_t more) { return static_cast<std::int64_t>(out.size() + more) <= left; };
  std::set<grid_point> busy;
  for (const auto& [at, e] : points) {
    if (!e.wants_seed) continue;
    busy.insert(at);
    if (room(1)) out.push_back({at, spec.seed + e.rows.size(), "search", 0, std::nullopt});
  }
  for (const auto& slice : slices()) {
    // A slice with a point still gathering seeds waits for it.
    bool waiting = false;
    for (const auto& at : busy) {
      bool same = true;
      for (std::size_t d = 0; d < at.size(); ++d) same &= static_cast<int>(d) == bisected || at[d] == slice[d];
      waiting |= same;
    }
    if (waiting) continue;
    const auto next = step(slice);
    if (!next || !room(spec.seeds_min)) continue;
    bool planned = false;
    for (const auto& r : out) planned |= r.at == *next;
    if (planned) continue;
    for (std::uint32_t s = 0; s < spec.seeds_min; ++s) out.push_back({*next, spec.seed + s, "search", 0, std::nullopt});
  }
  return out;
}

bool planner::unfinished() const {
  for (const auto& [at, e] : points) {
    if (e.wants_seed) return true;
  }
  for (const auto& slice : slices()) {
    if (step(slice)) return true;
  }
  return false;
}

std::vector<const estimate*> planner::candidates() const {
  std::vector<const estimate*> out;
  for (const auto& [at, e] : points) {
    if (e.overall > 0) out.push_back(&e);
  }
  std::stable_sort(out.begin(), out.end(), [&](const estimate* a, const estimate* b) {
    const double x = a->metrics.at(spec.objective).mean, y = b->metrics.at(spec.objective).mean;
    return spec.maximize ? x > y : x < y;
  });
  return out;
}

std::vector<variant> robust_variants(const tune_spec& spec) {
  std::vector<variant> out;
  const sim::scenario& s = spec.scenario;
  variant churn{"churn x2", {}, {}};
  if (s.crash_fraction > 0 || s.leave_fraction > 0 || s.sessions) {
    if (s.crash_fraction > 0)
      churn.flags.insert(churn.flags.end(),
                         {"--set", "churn.crash_fraction=" + num(std::min(1.0, 2 * s.crash_fraction))});
    if (s.leave_fraction > 0)
      churn.flags.insert(churn.flags.end(),
                         {"--set", "churn.leave_fraction=" + num(std::min(1.0, 2 * s.leave_fraction))});
    if (s.sessions) {
      // Sessions half as long: twice the departures and returns per unit of time.
      const auto& d = s.session_length;
      std::string text;
      using kind = sim::duration_dist::kind;
      if (d.shape == kind::exponential)
        text = "exp:" + num(d.a / 2);
      else if (d.shape == kind::pareto)
        text = "pareto:" + num(d.a) + ":" + num(d.b / 2);
      else if (d.shape == kind::weibull)
        text = "weibull:" + num(d.a) + ":" + num(d.b / 2);
      if (text.empty())
        churn.skipped = "its session lengths have no scale to halve";
      else
        churn.flags.insert(churn.flags.end(), {"--set", "churn.sessions=" + text});
    }
  } else {
    churn.skipped = "the scenario has no churn";
  }
  out.push_back(churn);
  const double peers = s.peers;
  out.push_back({"peers x0.5", {"--peers", std::to_string(static_cast<std::uint64_t>(std::llround(peers * 0.5)))}, {}});
  out.push_back({"peers x1.5", {"--peers", std::to_string(static_cast<std::uint64_t>(std::llround(peers * 1.5)))}, {}});
  for (auto& v : out) {
    if (!v.skipped.empty()) continue;
    auto all = spec.base;
    all.insert(all.end(), v.flags.begin(), v.flags.end());
    sim::scenario check;
    run_options ro;
    if (auto parsed = parse_run_args(all, check, ro); !parsed) v.skipped = parsed.error().what();
  }
  return out;
}

std::uint32_t reserve_of(const tune_spec& spec) {
  std::uint32_t variants = 0;
  if (spec.robust) {
    for (const auto& v : robust_variants(spec)) variants += v.skipped.empty();
  }
  return spec.holdout_seeds * (1 + variants);
}

check_result check_of(const tune_spec& spec, const std::vector<const row*>& rows) {
  check_result out;
  out.runs = rows.size();
  for (const auto& column : shown_columns(spec)) out.metrics[column] = interval_of(column, rows, spec.confidence);
  for (const auto& c : spec.constraints) {
    const bool holds = decide_by_mean(c, out.metrics[c.column].mean) > 0;
    out.holds.push_back(holds);
    out.all &= holds;
  }
  return out;
}

std::vector<const row*> rows_of(const std::vector<run_record>& runs, const std::string& variant,
                                std::uint32_t attempt) {
  std::vector<const row*> out;
  for (const auto& r : runs) {
    if (r.variant == variant && r.attempt == attempt && r.result) out.push_back(&*r.result);
  }
  return out;
}

after_search plan_after(const tune_spec& spec, const planner& p, const std::vector<run_record>& runs) {
  after_search out;
  const auto candidates = p.candidates();
  if (candidates.empty()) return out;
  std::uint32_t attempts = 0;
  bool robust_issued = false;
  for (const auto& r : runs) {
    if (r.variant == "holdout") attempts = std::max(attempts, r.attempt + 1);
    if (r.variant != "holdout" && r.variant != "search") robust_issued = true;
  }
  out.attempts = attempts;
  auto holdout = [&](std::uint32_t attempt) {
    for (std::uint32_t s = 0; s < spec.holdout_seeds; ++s) {
      out.next.push_back(
          {candidates[attempt]->at, spec.seed + fresh_seed_offset + s, "holdout", attempt, std::nullopt});
    }
  };
  if (attempts == 0) {
    holdout(0);
    return out;
  }
  // The first attempt whose hold-out held; failing all, the search's best.
  std::optional<std::uint32_t> held;
  for (std::uint32_t a = 0; a < attempts && !held; ++a) {
    if (check_of(spec, rows_of(runs, "holdout", a)).all) held = a;
  }
  if (!held && !robust_issued) {
    const std::uint32_t robust_runs = reserve_of(spec) - spec.holdout_seeds;
    const std::int64_t left = static_cast<std::int64_t>(spec.budget) - static_cast<std::int64_t>(runs.size());
    if (attempts < candidates.size() && left >= spec.holdout_seeds + robust_runs) {
      holdout(attempts);
      return out;
    }
  }
  out.chosen = held.value_or(0);
  if (spec.robust && !robust_issued) {
    for (const auto& v : robust_variants(spec)) {
      if (!v.skipped.empty()) continue;
      for (std::uint32_t s = 0; s < spec.holdout_seeds; ++s) {
        out.next.push_back(
            {candidates[*out.chosen]->at, spec.seed + fresh_seed_offset + s, v.name, *out.chosen, std::nullopt});
      }
    }
  }
  return out;
}

}  // namespace hearsay::sim_app::tuning

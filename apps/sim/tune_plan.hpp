#pragma once
// The search of hearsay-sim tune (tune.hpp): its definition, the estimates of the points run,
// and the plan of the next runs, a function of the definition and the results alone. Shared by
// the driver and the report (tune.cpp).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apps/sim/tune.hpp"
#include "apps/sim/tune_stats.hpp"
#include "sim/scenario.hpp"

namespace hearsay::sim_app::tuning {

// Hold-out and robustness runs use seeds far from the search's (base seed + 0, 1, 2...).
inline constexpr std::uint64_t fresh_seed_offset = 1'000'000;

// A number as the report and the files write it (%.6g, "inf" and "nan" spelled out).
std::string num(double v);
// Columns of sweep.csv that hold numbers about the run's results or scenario.
std::vector<std::string> numeric_columns();

// A key searched, its values in order, and whether success and cost grow along it.
struct dimension {
  std::string key;
  std::vector<std::string> values;
  bool monotone = false;
};

// The search as its arguments define it (stored in tune.json to resume it).
struct tune_spec {
  std::vector<std::string> args;  // the tune's own arguments, as stored in tune.json
  std::vector<std::string> base;  // the run flags
  sim::scenario scenario;         // what they make
  std::vector<dimension> dims;
  std::vector<constraint> constraints;
  std::string objective = "query_messages";
  bool maximize = false;
  std::uint32_t budget = 60;
  std::uint32_t seeds_min = 2;
  std::uint32_t seeds_max = 6;
  std::uint32_t holdout_seeds = 3;
  double confidence = 0.95;
  bool robust = false;
  std::uint64_t seed = 1;
};

using grid_point = std::vector<std::uint32_t>;  // an index into each dimension's values
using row = std::map<std::string, double>;       // a run's numeric columns

// What a run is for: the search, the hold-out of a candidate, or a robustness variant of it.
struct run_record {
  grid_point at;
  std::uint64_t seed = 0;
  std::string variant = "search";  // "search", "holdout", or a robustness variant's name
  std::uint32_t attempt = 0;       // hold-out and robustness: which candidate
  std::optional<row> result;
};

// Robustness variants: name, and the flags that make them (after the run's own).
struct variant {
  std::string name;
  std::vector<std::string> flags;
  std::string skipped;  // why it is not run, if it is not
};

// The flags that make a point ("--set KEY=VALUE" per dimension), and its label ("KEY=VALUE ...").
std::vector<std::string> point_flags(const tune_spec& spec, const grid_point& at);
std::string point_label(const tune_spec& spec, const grid_point& at);

// A point of the search, from the results of its runs.
struct estimate {
  grid_point at;
  std::vector<const row*> rows;
  std::map<std::string, interval> metrics;  // every column the report and the decisions use
  std::vector<int> verdicts;                // per constraint: +1 met, -1 not met, 0 undecided
  int overall = 0;                          // +1 feasible, -1 not, 0 undecided
  bool by_mean = false;                     // a constraint was decided by its mean at --seeds-max
  bool wants_seed = false;                  // one more seed would decide more
};

// The latency column of the Pareto front: the first constrained or optimised "_ms" column,
// else first_hit_p95_ms.
std::string latency_column(const tune_spec& spec);
// The columns a point's table shows: the constraints', the objective, then the Pareto front's.
std::vector<std::string> shown_columns(const tune_spec& spec);

// What the results so far say, and what to run next. Built afresh from the runs each round.
struct planner {
  const tune_spec& spec;
  const std::vector<run_record>& runs;
  std::map<grid_point, estimate> points;  // the search's points with results
  int bisected = -1;                      // the dimension bisected, if any

  planner(const tune_spec& s, const std::vector<run_record>& r);

  std::size_t used() const { return runs.size(); }

  // What the results say of constraint c at a point: run there, or implied by a point run
  // below or above it along the monotone keys (the other keys equal).
  int verdict(const grid_point& q, std::size_t c) const;

  // +1: every helped constraint met; -1: one is not; 0: unknown.
  int helped(const grid_point& q) const;

  // Some constraint is not met (run or implied); a constraint hurt by the monotone keys is not.
  bool implied_infeasible(const grid_point& q) const;
  bool hurt_not_met(const grid_point& q) const;

  // The slices: every combination of the values of the keys other than the bisected one, coarsest first.
  std::vector<grid_point> slices() const;

  // The next point to run in a slice, if any: bisection for the least value that meets the
  // helped constraints, then upwards from there as long as the objective may still improve.
  std::optional<grid_point> step(const grid_point& slice) const;

  // The search's next runs: more seeds for undecided points, then new points, within budget.
  std::vector<run_record> search_round(std::uint32_t reserve) const;

  // Whether the search would go on with more budget: a point wants a seed, or a slice a point.
  bool unfinished() const;

  // Feasible points, best objective first (ties: grid order).
  std::vector<const estimate*> candidates() const;
};

// The robustness variants of --robust, each with the reason it is not run, if it is not.
std::vector<variant> robust_variants(const tune_spec& spec);
// The runs kept back from the search for the checks of its recommendation.
std::uint32_t reserve_of(const tune_spec& spec);

// A hold-out's (or a variant's) intervals and whether each constraint holds by its mean.
struct check_result {
  std::map<std::string, interval> metrics;
  std::vector<bool> holds;
  bool all = true;
  std::size_t runs = 0;
};

check_result check_of(const tune_spec& spec, const std::vector<const row*>& rows);
// The results of the runs of a variant ("holdout", "peers x0.5"...) for one candidate.
std::vector<const row*> rows_of(const std::vector<run_record>& runs, const std::string& variant, std::uint32_t attempt);

// The phases after the search: hold-out attempts (the best candidate first, the next if it
// fails and the budget allows), then the robustness variants of the one chosen.
struct after_search {
  std::vector<run_record> next;         // runs to issue now (empty: finished)
  std::optional<std::uint32_t> chosen;  // the attempt recommended
  std::uint32_t attempts = 0;
};

after_search plan_after(const tune_spec& spec, const planner& p, const std::vector<run_record>& runs);

}  // namespace hearsay::sim_app::tuning

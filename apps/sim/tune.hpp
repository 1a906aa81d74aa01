#pragma once
// hearsay-sim tune: from a goal to a configuration. The user names the keys to search and
// their values (as for sweep), constraints over the columns of sweep.csv ("success_rate >=
// 0.99") and an objective ("--minimize query_messages"); tune runs simulations, as sweep does
// (one process per run, in parallel or emitted for a cluster), round after round, until its
// budget of runs is spent or the search is over, and recommends the feasible point with the
// best objective, checked again on fresh seeds, as an [overlay] section for hearsay-node.
//
// The search, in short (tune_plan.cpp has the details):
// - Seeds per point: at least --seeds-min; one more while a constraint's confidence interval
//   (Wilson's for shares of queries, Student's t for the rest) still straddles its bound, up to
//   --seeds-max, where the mean decides. (The queries of one run share its overlay, so pooling
//   them takes the runs' spread for less than it is when overlays differ much; the hold-out on
//   fresh seeds is the guard against a choice that held on its own seeds only.)
// - Monotone keys (TTL, fan-out, walkers...): success and cost both grow along them. Results
//   then tell about points not run: a point that meets "success_rate >= X" implies every point
//   above it (same other keys) does; one that fails it, every point below. On the monotone key
//   with the most values, each combination of the other keys is bisected for the least value
//   that meets the success constraints; the others benefit from what is implied.
// - Otherwise the points are run coarsest first (the ends and middle of each range, then the
//   points between).
// The state of a search is DIR/tune.json (its arguments and the runs issued); the runs' results
// are DIR/runs/run-NNNNN.csv. A plan is a function of those alone, so a search resumed, or run
// with any number of jobs, takes the same steps.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "overlay/result.hpp"

namespace hearsay::sim_app {

// "COLUMN >= X" or "COLUMN <= X" over a numeric column of sweep.csv.
struct constraint {
  std::string column;
  bool at_least = true;
  double bound = 0;
  std::string text() const;
};
result<constraint> parse_constraint(const std::string& text);

// Columns that grow with the monotone keys: shares of queries answered, and costs in messages
// and load. A ">=" constraint on one is helped by larger values of those keys, a "<=" one hurt.
bool rising_column(const std::string& column);

// The [overlay] section a node should run with: the overlay keys the run flags set (a
// scenario file's [overlay] table, --set overlay.KEY=V, --fanout, --ttl, in order), then the
// chosen values of the searched keys; only overlay.* keys, in the order of the key table, as
// TOML that hearsay-node reads. Fails when the result is no valid node configuration.
result<std::string> overlay_section(const std::vector<std::string>& run_args,
                                    const std::vector<std::pair<std::string, std::string>>& chosen);

int run_tune(const std::vector<std::string>& args);

// The search run against a model of the results instead of simulations, for tests: the model
// gives a run's columns (missing ones are 0) for a point (key, value pairs), a seed and what the
// run is for ("search", "holdout", or a robustness variant).
using tune_model = std::function<std::map<std::string, double>(
    const std::vector<std::pair<std::string, std::string>>& point, std::uint64_t seed, const std::string& variant)>;
struct model_search {
  std::vector<std::pair<std::string, std::string>> chosen;  // empty: no point met the constraints
  std::size_t seeds = 0;                                    // the chosen point's search seeds
  std::size_t runs = 0;                                     // in all
  std::size_t search_runs = 0;
  std::size_t points = 0;  // points of the grid run
  bool budget_ran_out = false;
};
result<model_search> tune_with_model(const std::vector<std::string>& args, const tune_model& model);

}  // namespace hearsay::sim_app

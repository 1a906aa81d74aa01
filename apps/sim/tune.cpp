// hearsay-sim tune (see tune.hpp): its arguments, its state on disk, the report and the driver of
// its rounds; the plan itself is in tune_plan.cpp.

#include "apps/sim/tune.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "apps/sim/sweep.hpp"
#include "apps/sim/tune_plan.hpp"
#include "apps/sim/tune_stats.hpp"
#include "overlay/config_keys.hpp"
#include "sim/html_report.hpp"
#include "sim/plot.hpp"
#include "sim/processors.hpp"
#include "sim/table.hpp"

namespace hearsay::sim_app {

namespace fs = std::filesystem;
using namespace tuning;

namespace {

constexpr const char* state_format = "hearsay-sim tune 1";

int fail(const std::string& message) {
  std::fprintf(stderr, "hearsay-sim tune: %s\n", message.c_str());
  return 2;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

result<> write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return failure("cannot write " + p.string());
  return {};
}

// The search's page (DIR/index.html): the report with its recommendation, the Pareto chart and
// every point run, to open in a browser.
std::string index_page(const fs::path& dir, const std::string& report) {
  std::ifstream svg_in(dir / "pareto.svg", std::ios::binary), csv_in(dir / "points.csv", std::ios::binary);
  const std::string svg((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  const std::string csv((std::istreambuf_iterator<char>(csv_in)), std::istreambuf_iterator<char>());
  std::vector<sim::html_chart> charts;
  if (!svg.empty()) {
    charts.push_back({svg, "Each dot is a point run (the mean over its seeds); the line joins the points no other "
                           "beats at once on success, latency and messages; the recommended point is marked: higher "
                           "and further left is better."});
  }
  auto points = sim::table::parse(csv);
  return sim::format_sweep_html("hearsay-sim tune", "The search's report, its Pareto front and every point it ran "
                                                    "(points.csv, one row per point, means over its seeds).",
                                charts, points ? *points : sim::table{}, report);
}

// Keys along which success and cost grow, unless --monotone says otherwise.
const std::vector<std::string> default_monotone = {"overlay.ttl", "overlay.fanout", "overlay.walkers",
                                                   "overlay.walk_ttl", "overlay.gossip_percent"};

// A TOML value as the key tables' setters read it.
std::optional<std::string> scalar_text(const toml::node& node) {
  if (auto i64 = node.value_exact<std::int64_t>()) return std::to_string(*i64);
  if (auto b = node.value_exact<bool>()) return std::string(*b ? "true" : "false");
  if (auto s = node.value_exact<std::string>()) return *s;
  return std::nullopt;
}

}  // namespace

std::string constraint::text() const {
  return column + (at_least ? " >= " : " <= ") + num(bound);
}

result<constraint> parse_constraint(const std::string& text) {
  const failure expected("expected 'COLUMN >= X' or 'COLUMN <= X', got '" + text + "'");
  const bool ge = text.find(">=") != std::string::npos, le = text.find("<=") != std::string::npos;
  if (ge == le) return expected;
  const auto op = text.find(ge ? ">=" : "<=");
  auto trim = [](std::string s) {
    const auto a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  };
  constraint c;
  c.column = trim(text.substr(0, op));
  c.at_least = ge;
  const std::string bound = trim(text.substr(op + 2));
  char* end = nullptr;
  c.bound = std::strtod(bound.c_str(), &end);
  if (c.column.empty() || bound.empty() || *end != '\0' || !std::isfinite(c.bound)) return expected;
  const auto columns = numeric_columns();
  if (std::find(columns.begin(), columns.end(), c.column) == columns.end()) {
    return failure("'" + c.column +
                   "' is no numeric column of sweep.csv (e.g. success_rate, first_hit_p95_ms, "
                   "query_messages, load_max)");
  }
  return c;
}

bool rising_column(const std::string& column) {
  static const std::set<std::string> rising = {"success_rate", "kth_success_rate", "coverage",           "reached",
                                               "hits_mean",    "query_messages",   "hit_messages",       "duplicates",
                                               "load_mean",    "load_max",         "downloads_done_rate"};
  return rising.count(column) > 0;
}

result<std::string> overlay_section(const std::vector<std::string>& run_args,
                                    const std::vector<std::pair<std::string, std::string>>& chosen) {
  std::map<std::string, std::string> values;  // key (without "overlay.") -> text
  auto overlay_key = [](const std::string& name) -> std::optional<std::string> {
    if (name.rfind("overlay.", 0) != 0) return std::nullopt;
    return name.substr(8);
  };
  for (std::size_t i = 0; i + 1 < run_args.size(); ++i) {
    const std::string& a = run_args[i];
    const std::string& v = run_args[i + 1];
    if (a == "--fanout") values["fanout"] = v;
    if (a == "--ttl") values["ttl"] = v;
    if (a == "--set") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) continue;
      if (auto k = overlay_key(v.substr(0, eq))) values[*k] = v.substr(eq + 1);
    }
    if (a == "--scenario") {
      toml::table file;
      try {
        file = toml::parse_file(v);
      } catch (const toml::parse_error& e) {
        return failure(v + ": " + std::string(e.description()));
      }
      if (const auto* overlay = file["overlay"].as_table()) {
        for (const auto& [k, node] : *overlay) {
          auto text = scalar_text(node);
          if (!text) return failure(v + ": overlay." + std::string(k.str()) + ": not an integer, boolean or string");
          values[std::string(k.str())] = *text;
        }
      }
    }
  }
  for (const auto& [key, value] : chosen) {
    if (auto k = overlay_key(key)) values[*k] = value;
  }
  node_config cfg;
  std::string out = "[overlay]\n";
  for (const auto& key : overlay_config_keys()) {
    auto it = values.find(key.name);
    if (it == values.end()) continue;
    if (auto set = key.set(cfg, it->second); !set) return set.error().prefix("overlay." + key.name);
    if (key.type == "string") {
      // The values are names from a fixed table (strategies): no character needs escaping.
      out += key.name + " = \"" + it->second + "\"\n";
    } else {
      out += key.name + " = " + it->second + "\n";
    }
    values.erase(it);
  }
  if (!values.empty()) return failure("overlay." + values.begin()->first + ": no such overlay key");
  if (auto valid = validate(cfg); !valid) return valid.error();
  return out;
}

namespace {

struct options {
  fs::path out = "tune-out";
  unsigned jobs = 0;
  bool emit = false;
  std::string resume;
};

// ---- Arguments ----

result<tune_spec> parse_spec(const std::vector<std::string>& args, options* opt, bool* help) {
  CLI::App app{
      "Searches the values of the varied keys for the point that meets every constraint with the best "
      "objective, on a budget of simulation runs, and writes DIR/recommended.toml (an [overlay] section for "
      "hearsay-node), DIR/pareto.csv, DIR/pareto.svg, DIR/points.csv and DIR/index.html (all of it on one "
      "page). Every other flag is a run flag, as for a single run (--scenario, --peers, --set KEY=VALUE...).",
      "hearsay-sim tune"};
  app.allow_extras();
  app.footer(
      "Rounds on a cluster: --emit-commands prints the next round's runs (one shell command a line, also in "
      "DIR/commands.txt) and stops; run them (GNU parallel, a job array), then `hearsay-sim tune --resume DIR "
      "--emit-commands` plans the next round, until it prints nothing; `hearsay-sim tune --resume DIR` prints "
      "the report.");
  std::vector<std::string> vary, constraints, monotone;
  std::string minimize, maximize, out = "tune-out";
  tune_spec spec;
  unsigned jobs = sim::usable_processors();
  bool emit = false;
  std::string resume;
  app.add_option("--vary", vary,
                 "a key to search and its values: KEY=a,b,c or KEY=LO..HI (repeatable; any "
                 "scenario key, e.g. overlay.ttl=2..8, overlay.strategy=flood,gossip)")
      ->type_name("KEY=VALUES")
      ->allow_extra_args(false);
  app.add_option("--constraint", constraints, "'COLUMN >= X' or 'COLUMN <= X' over sweep.csv's columns (repeatable)")
      ->type_name("EXPR")
      ->allow_extra_args(false);
  auto* min_opt =
      app.add_option("--minimize", minimize, "the column to minimise (default query_messages)")->type_name("COLUMN");
  auto* max_opt = app.add_option("--maximize", maximize, "the column to maximise")->type_name("COLUMN");
  min_opt->excludes(max_opt);
  app.add_option("--budget", spec.budget, "simulation runs in all, hold-out and robustness included (default 60)")
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--seeds-min", spec.seeds_min, "seeds of every point run (default 2)")->check(CLI::Range(1u, 100u));
  app.add_option("--seeds-max", spec.seeds_max, "seeds at most, while a constraint is undecided (default 6)")
      ->check(CLI::Range(1u, 100u));
  app.add_option("--holdout-seeds", spec.holdout_seeds, "fresh seeds the recommendation is checked on (default 3)")
      ->check(CLI::Range(1u, 100u));
  app.add_option("--confidence", spec.confidence, "of the intervals (default 0.95)")->check(CLI::Range(0.5, 0.999));
  app.add_flag("--robust", spec.robust, "also check the recommendation at 2x the churn and at 0.5x and 1.5x the peers");
  app.add_option("--monotone", monotone,
                 "the keys along which success and cost grow (default: overlay.ttl, overlay.fanout, overlay.walkers, "
                 "overlay.walk_ttl, overlay.gossip_percent; 'none' for none)")
      ->type_name("KEY")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--out", out, "the search's folder (default tune-out)")->type_name("DIR");
  app.add_option("--jobs", jobs, "runs at once (default: one per processor this process may use)")
      ->check(CLI::Range(1u, 1024u));
  app.add_flag("--emit-commands", emit, "print the next round's runs as commands instead of running them");
  app.add_option("--resume", resume, "continue the search in DIR (with --jobs and --emit-commands only)")
      ->type_name("DIR");
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::CallForHelp&) {
    if (help) *help = true;
    std::printf("%s", app.help().c_str());
    return spec;
  } catch (const CLI::ParseError& e) {
    return failure(e.what());
  }
  if (opt) {
    opt->out = out;
    opt->jobs = jobs;
    opt->emit = emit;
    opt->resume = resume;
  }
  if (!resume.empty()) {
    for (const auto* o : app.get_options()) {
      const std::string name = o->get_name();
      if (o->count() > 0 && name != "--resume" && name != "--jobs" && name != "--emit-commands") {
        return failure(
            "--resume DIR takes only --jobs and --emit-commands (the search's other settings are in "
            "DIR/tune.json), not " +
            name);
      }
    }
    if (!app.remaining().empty()) return failure("--resume DIR takes no run flags: '" + app.remaining()[0] + "'");
    return spec;
  }
  // The arguments that define the search, kept to resume it: not where it is, nor how it runs.
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out" || args[i] == "--jobs") {
      ++i;
      continue;
    }
    if (args[i].rfind("--out=", 0) == 0 || args[i].rfind("--jobs=", 0) == 0 || args[i] == "--emit-commands") continue;
    spec.args.push_back(args[i]);
  }
  spec.base = app.remaining();
  for (const auto& a : spec.base) {
    if (a == "--csv" || a == "--json" || a == "--point" || a == "--per-query" || a == "--queries-csv" ||
        a == "--html") {
      return failure(a + ": tune sets each run's output files itself");
    }
  }
  run_options run_opt;
  if (auto parsed = parse_run_args(spec.base, spec.scenario, run_opt); !parsed) return parsed.error();
  spec.seed = spec.scenario.seed;
  if (spec.seeds_max < spec.seeds_min) return failure("--seeds-max must be at least --seeds-min");
  if (!maximize.empty()) {
    spec.objective = maximize;
    spec.maximize = true;
  } else if (!minimize.empty()) {
    spec.objective = minimize;
  }
  const auto columns = numeric_columns();
  if (std::find(columns.begin(), columns.end(), spec.objective) == columns.end()) {
    return failure("objective: '" + spec.objective + "' is no numeric column of sweep.csv");
  }
  for (const auto& c : constraints) {
    auto parsed = parse_constraint(c);
    if (!parsed) return parsed.error().prefix("--constraint");
    spec.constraints.push_back(*parsed);
  }
  if (vary.empty()) return failure("give at least one --vary KEY=VALUES");
  std::vector<std::string> monotone_keys = default_monotone;
  if (!monotone.empty())
    monotone_keys = monotone == std::vector<std::string>{"none"} ? std::vector<std::string>{} : monotone;
  for (const auto& v : vary) {
    const auto eq = v.find('=');
    if (eq == std::string::npos) return failure("--vary needs KEY=VALUES, got '" + v + "'");
    dimension d;
    d.key = v.substr(0, eq);
    auto values = values_of(v.substr(eq + 1));
    if (!values) return values.error().prefix("--vary " + v);
    d.values = std::move(*values);
    d.monotone = std::find(monotone_keys.begin(), monotone_keys.end(), d.key) != monotone_keys.end();
    for (const auto& other : spec.dims) {
      if (other.key == d.key) return failure("--vary " + d.key + " is given twice");
    }
    spec.dims.push_back(std::move(d));
  }
  // Every point must make a valid run: a mistake is better found now than after an hour.
  std::size_t points = 1;
  for (const auto& d : spec.dims) points *= d.values.size();
  if (points > 1'000'000) return failure("the grid has " + std::to_string(points) + " points, more than 10^6");
  for (std::size_t d = 0; d < spec.dims.size(); ++d) {
    for (const auto& value : spec.dims[d].values) {
      auto all = spec.base;
      all.insert(all.end(), {"--set", spec.dims[d].key + "=" + value});
      sim::scenario check;
      if (auto parsed = parse_run_args(all, check, run_opt); !parsed) {
        return parsed.error().prefix("--vary " + spec.dims[d].key + "=" + value);
      }
    }
  }
  return spec;
}

// ---- State on disk ----

fs::path run_file(const fs::path& dir, std::size_t index, const char* ext) {
  char name[32];
  std::snprintf(name, sizeof name, "run-%05zu.%s", index + 1, ext);
  return dir / "runs" / name;
}

result<> save_state(const fs::path& dir, const tune_spec& spec, const std::vector<run_record>& runs) {
  nlohmann::json j;
  j["format"] = state_format;
  j["args"] = spec.args;
  j["runs"] = nlohmann::json::array();
  for (const auto& r : runs) {
    j["runs"].push_back({{"at", r.at}, {"seed", r.seed}, {"variant", r.variant}, {"attempt", r.attempt}});
  }
  const fs::path tmp = dir / "tune.json.tmp";
  if (auto w = write_text(tmp, j.dump(1) + "\n"); !w) return w;
  std::error_code ec;
  fs::rename(tmp, dir / "tune.json", ec);
  if (ec) return failure(ec, "rename " + tmp.string());
  return {};
}

result<std::vector<run_record>> load_runs(const tune_spec& spec, const nlohmann::json& j) {
  std::vector<run_record> runs;
  for (const auto& item : j.at("runs")) {
    run_record r;
    r.at = item.at("at").get<grid_point>();
    r.seed = item.at("seed").get<std::uint64_t>();
    r.variant = item.at("variant").get<std::string>();
    r.attempt = item.at("attempt").get<std::uint32_t>();
    if (r.at.size() != spec.dims.size()) return failure("tune.json: a run's point does not match the search's keys");
    for (std::size_t d = 0; d < r.at.size(); ++d) {
      if (r.at[d] >= spec.dims[d].values.size()) return failure("tune.json: a run's point is outside the grid");
    }
    runs.push_back(std::move(r));
  }
  return runs;
}

// Reads the results of the runs that have none yet; fails on the first one missing.
result<> read_results(const fs::path& dir, std::vector<run_record>& runs) {
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].result) continue;
    const fs::path csv = run_file(dir, i, "csv");
    std::error_code ec;
    if (!fs::is_regular_file(csv, ec)) {
      return failure("run " + std::to_string(i + 1) + " has no results (" + csv.string() +
                     "): run every command of the last round (" + (dir / "commands.txt").string() +
                     ") first; a run that failed says why in its .err file");
    }
    const auto t = sim::table::parse(read_text(csv));
    if (!t || t->rows.size() != 1) return failure(csv.string() + ": not the results of one run");
    row r;
    for (const auto& column : t->columns) {
      const double v = t->number(0, column);
      if (!std::isnan(v)) r[column] = v;
    }
    for (const auto& column : numeric_columns()) {
      if (!r.count(column)) return failure(csv.string() + ": no number in column " + column);
    }
    runs[i].result = std::move(r);
  }
  return {};
}

std::vector<std::string> command_of(const tune_spec& spec, const fs::path& dir, const run_record& r,
                                    std::size_t index) {
  std::vector<std::string> cmd{self_path(), "--set", "threads=1"};
  cmd.insert(cmd.end(), spec.base.begin(), spec.base.end());
  const auto flags = point_flags(spec, r.at);
  cmd.insert(cmd.end(), flags.begin(), flags.end());
  cmd.insert(cmd.end(), {"--seed", std::to_string(r.seed)});
  for (const auto& v : robust_variants(spec)) {
    if (v.name == r.variant) cmd.insert(cmd.end(), v.flags.begin(), v.flags.end());
  }
  cmd.insert(cmd.end(),
             {"--point", r.variant + " " + point_label(spec, r.at), "--csv", run_file(dir, index, "csv").string()});
  return cmd;
}

// ---- The report ----

std::string scenario_summary(const sim::scenario& s) {
  std::string out = std::to_string(s.peers) + " peers, " +
                    (s.topology.is_static() ? s.topology.describe() : std::string("hyparview")) + ", latency " +
                    s.latency.describe() + ", " + std::to_string(s.queries) + " queries, " + std::to_string(s.files) +
                    " files x " + std::to_string(s.replication);
  if (s.loss > 0) out += ", loss " + num(s.loss);
  if (s.crash_fraction > 0) out += ", crash " + num(s.crash_fraction);
  if (s.leave_fraction > 0) out += ", leave " + num(s.leave_fraction);
  if (s.sessions) out += ", sessions " + s.session_length.describe();
  return out;
}

std::string interval_text(const interval& iv) {
  return num(iv.mean) + " [" + num(iv.lo) + ", " + num(iv.hi) + "]";
}

// Non-dominated points: most success, least latency, fewest messages (means).
std::vector<const estimate*> pareto_front(const tune_spec& spec, const planner& p) {
  const std::string lat = latency_column(spec);
  std::vector<const estimate*> all;
  for (const auto& [at, e] : p.points) all.push_back(&e);
  auto key = [&](const estimate* e) {
    return std::array<double, 3>{-e->metrics.at("success_rate").mean, e->metrics.at(lat).mean,
                                 e->metrics.at("query_messages").mean};
  };
  std::vector<const estimate*> out;
  for (const auto* a : all) {
    bool dominated = false;
    for (const auto* b : all) {
      const auto ka = key(a), kb = key(b);
      bool no_worse = true, better = false;
      for (std::size_t i = 0; i < 3; ++i) {
        no_worse &= kb[i] <= ka[i];
        better |= kb[i] < ka[i];
      }
      dominated |= no_worse && better;
    }
    if (!dominated) out.push_back(a);
  }
  std::stable_sort(out.begin(), out.end(), [&](const estimate* a, const estimate* b) { return key(a)[2] < key(b)[2]; });
  return out;
}

std::string verdict_text(const estimate& e) {
  if (e.overall > 0) return e.by_mean ? "feasible (by mean)" : "feasible";
  if (e.overall < 0) return e.by_mean ? "infeasible (by mean)" : "infeasible";
  return "undecided";
}

std::string points_csv(const tune_spec& spec, const std::vector<const estimate*>& list) {
  std::string out;
  for (const auto& d : spec.dims) out += d.key + ",";
  out += "seeds,verdict";
  for (const auto& c : shown_columns(spec)) out += "," + c + "," + c + "_lo," + c + "_hi";
  out += "\n";
  for (const auto* e : list) {
    for (std::size_t d = 0; d < spec.dims.size(); ++d) out += spec.dims[d].values[e->at[d]] + ",";
    out += std::to_string(e->rows.size()) + "," + verdict_text(*e);
    for (const auto& c : shown_columns(spec)) {
      const auto& iv = e->metrics.at(c);
      out += "," + num(iv.mean) + "," + num(iv.lo) + "," + num(iv.hi);
    }
    out += "\n";
  }
  return out;
}

std::string text_table(const std::vector<std::vector<std::string>>& cells) {
  std::vector<std::size_t> width;
  for (const auto& r : cells) {
    width.resize(std::max(width.size(), r.size()), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : cells) {
    std::string line = " ";
    for (std::size_t i = 0; i < r.size(); ++i) line += " " + r[i] + std::string(width[i] - r[i].size(), ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string grid_text(const tune_spec& spec, int bisected) {
  std::string out;
  std::size_t points = 1;
  for (std::size_t d = 0; d < spec.dims.size(); ++d) {
    const auto& dim = spec.dims[d];
    points *= dim.values.size();
    out += (d ? " x " : "") + dim.key + " " + dim.values.front() +
           (dim.values.size() > 1 ? ".." + dim.values.back() : "") + " (" + std::to_string(dim.values.size()) +
           (static_cast<int>(d) == bisected ? ", bisected"
            : dim.monotone                  ? ", monotone"
                                            : "") +
           ")";
  }
  return out + " = " + std::to_string(points) + " points";
}

std::string goal_text(const tune_spec& spec) {
  std::string out;
  for (std::size_t i = 0; i < spec.constraints.size(); ++i) out += (i ? ", " : "") + spec.constraints[i].text();
  return out + (out.empty() ? "" : "; ") + (spec.maximize ? "maximize " : "minimize ") + spec.objective;
}

std::string checks_text(const tune_spec& spec, const check_result& r, const std::string& indent) {
  std::string out;
  for (std::size_t i = 0; i < spec.constraints.size(); ++i) {
    const auto& c = spec.constraints[i];
    out += indent + c.column + " " + interval_text(r.metrics.at(c.column)) + ": " + c.text() +
           (r.holds[i] ? " holds" : " does NOT hold") + "\n";
  }
  if (std::none_of(spec.constraints.begin(), spec.constraints.end(),
                   [&](const constraint& c) { return c.column == spec.objective; })) {
    out += indent + spec.objective + " " + interval_text(r.metrics.at(spec.objective)) + "\n";
  }
  return out;
}

std::string command_text(const std::vector<std::string>& args) {
  std::string out = "hearsay-sim tune";
  for (const auto& a : args) out += " " + shell_quote(a);
  return out;
}

struct finished {
  std::string report;
  int status = 0;
};

result<finished> finish(const tune_spec& spec, const fs::path& dir, const planner& p,
                        const std::vector<run_record>& runs, const after_search& after) {
  finished out;
  std::string& rep = out.report;
  std::size_t search_runs = 0;
  for (const auto& r : runs) search_runs += r.variant == "search";
  rep += "scenario: " + scenario_summary(spec.scenario) + "\n";
  rep += "searched: " + grid_text(spec, p.bisected) + "\n";
  rep += "goal:     " + goal_text(spec) + " (" + num(spec.confidence * 100) + " % intervals)\n";
  rep += "runs:     " + std::to_string(runs.size()) + " of a budget of " + std::to_string(spec.budget) + ": " +
         std::to_string(search_runs) + " for " + std::to_string(p.points.size()) + " points, " +
         std::to_string(runs.size() - search_runs) + " to check the recommendation\n";
  if (p.unfinished()) {
    rep += "          (the budget ran out before the search was over: a larger --budget may find a better point)\n";
  }

  std::vector<const estimate*> all;
  for (const auto& [at, e] : p.points) all.push_back(&e);
  const auto front = pareto_front(spec, p);
  const std::string lat = latency_column(spec);
  std::vector<std::vector<std::string>> cells;
  {
    std::vector<std::string> head;
    for (const auto& d : spec.dims) head.push_back(d.key);
    head.insert(head.end(), {"seeds", "success_rate", lat, "query_messages", "verdict"});
    cells.push_back(head);
  }
  for (const auto* e : front) {
    std::vector<std::string> r;
    for (std::size_t d = 0; d < spec.dims.size(); ++d) r.push_back(spec.dims[d].values[e->at[d]]);
    r.insert(r.end(), {std::to_string(e->rows.size()), num(e->metrics.at("success_rate").mean),
                       num(e->metrics.at(lat).mean), num(e->metrics.at("query_messages").mean), verdict_text(*e)});
    cells.push_back(r);
  }
  rep += "\nPareto front of the points run (most success, least " + lat + ", fewest query messages; means):\n";
  rep += text_table(cells);

  if (auto w = write_text(dir / "points.csv", points_csv(spec, all)); !w) return w.error();
  if (auto w = write_text(dir / "pareto.csv", points_csv(spec, front)); !w) return w.error();

  const auto candidates = p.candidates();
  const estimate* chosen = after.chosen ? candidates[*after.chosen] : nullptr;
  {
    std::vector<sim::series> data;
    sim::series every{"points run", {}, false}, best{"Pareto front", {}, true}, pick{"recommended", {}, false};
    for (const auto* e : all)
      every.points.emplace_back(e->metrics.at("query_messages").mean, e->metrics.at("success_rate").mean);
    for (const auto* e : front)
      best.points.emplace_back(e->metrics.at("query_messages").mean, e->metrics.at("success_rate").mean);
    data.push_back(every);
    data.push_back(best);
    if (chosen) {
      pick.points.emplace_back(chosen->metrics.at("query_messages").mean, chosen->metrics.at("success_rate").mean);
      data.push_back(pick);
    }
    if (auto w =
            write_text(dir / "pareto.svg", sim::svg_chart("Success rate against query messages, points tuned",
                                                          "query messages per query", "success rate", std::move(data)));
        !w) {
      return w.error();
    }
  }

  if (!chosen) {
    rep += "\nno point run meets every constraint";
    if (!candidates.empty()) rep += " on its hold-out";
    rep += ": widen the ranges, relax the constraints or raise --budget.\n";
    rep += "files: points.csv pareto.csv pareto.svg in " + dir.string() + "\n";
    out.status = 1;
    return out;
  }
  std::vector<std::pair<std::string, std::string>> values;
  for (std::size_t d = 0; d < spec.dims.size(); ++d)
    values.emplace_back(spec.dims[d].key, spec.dims[d].values[chosen->at[d]]);
  rep += "\nrecommended: " + point_label(spec, chosen->at) + "\n";
  rep += "  search, " + std::to_string(chosen->rows.size()) + " seeds" +
         (chosen->by_mean ? " (a constraint decided by its mean)" : "") + ":\n";
  check_result searched;
  searched.metrics = chosen->metrics;
  for (std::size_t i = 0; i < spec.constraints.size(); ++i) searched.holds.push_back(chosen->verdicts[i] > 0);
  rep += checks_text(spec, searched, "    ");
  const auto held = check_of(spec, rows_of(runs, "holdout", *after.chosen));
  rep += "  hold-out, " + std::to_string(held.runs) + " fresh seeds" +
         (held.all ? "" : " (NOT confirmed: treat this recommendation with care)") + ":\n";
  rep += checks_text(spec, held, "    ");
  for (std::uint32_t a = 0; a < after.attempts; ++a) {
    if (a == *after.chosen) continue;
    rep += "  (hold-out of " + point_label(spec, candidates[a]->at) +
           ", better in the search: " + (check_of(spec, rows_of(runs, "holdout", a)).all ? "held" : "did not hold") +
           ")\n";
  }
  std::string robust_text;
  if (spec.robust) {
    for (const auto& v : robust_variants(spec)) {
      if (!v.skipped.empty()) {
        robust_text += "  " + v.name + ": not run (" + v.skipped + ")\n";
        continue;
      }
      const auto r = check_of(spec, rows_of(runs, v.name, *after.chosen));
      std::string flags;
      for (const auto& f : v.flags) flags += (flags.empty() ? "" : " ") + f;
      robust_text += "  " + v.name + " (" + flags + "), " + std::to_string(r.runs) + " seeds: constraints " +
                     (r.all ? "hold" : "do NOT all hold") + "\n" + checks_text(spec, r, "    ");
    }
    rep += robust_text;
  }

  auto section = overlay_section(spec.base, values);
  if (!section) return section.error().prefix("the recommended settings");
  std::string toml = "# hearsay-node settings recommended by hearsay-sim tune.\n#\n";
  auto comment = [&](const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) toml += ("# " + line).substr(0, line.empty() ? 1 : std::string::npos) + "\n";
  };
  comment("scenario: " + scenario_summary(spec.scenario));
  comment("command:  " + command_text(spec.args));
  comment("goal:     " + goal_text(spec));
  comment("searched: " + grid_text(spec, p.bisected) + "; " + std::to_string(p.points.size()) + " run in " +
          std::to_string(search_runs) + " runs, " + std::to_string(runs.size()) + " of a budget of " +
          std::to_string(spec.budget) + " in all");
  comment("evidence, " + std::to_string(chosen->rows.size()) + " seeds (" + num(spec.confidence * 100) +
          " % intervals):");
  comment(checks_text(spec, searched, "  "));
  comment("hold-out, " + std::to_string(held.runs) + " fresh seeds" + (held.all ? ":" : " (NOT confirmed):"));
  comment(checks_text(spec, held, "  "));
  if (spec.robust) {
    comment("robustness:");
    comment(robust_text);
  }
  std::string not_node;
  for (const auto& [key, value] : values) {
    if (key.rfind("overlay.", 0) != 0) not_node += (not_node.empty() ? "" : ", ") + key + "=" + value;
  }
  if (!not_node.empty()) comment("chosen with scenario keys that are no node settings: " + not_node);
  toml += "\n" + *section;
  if (auto w = write_text(dir / "recommended.toml", toml); !w) return w.error();
  rep += "files: recommended.toml points.csv pareto.csv pareto.svg in " + dir.string() + "\n";
  return out;
}

// ---- The driver ----

process process_of(const tune_spec& spec, const fs::path& dir, const std::vector<run_record>& runs, std::size_t i) {
  return {command_of(spec, dir, runs[i], i), run_file(dir, i, "txt").string(), run_file(dir, i, "err").string(),
          "run " + std::to_string(i + 1) + " (" + runs[i].variant + " " + point_label(spec, runs[i].at) + ")"};
}

int drive(const tune_spec& spec, const options& opt, std::vector<run_record> runs) {
  const fs::path& dir = opt.out;
  // Commands name the folder whole: a cluster's jobs need not start where this one did.
  std::error_code ec;
  const fs::path where = fs::absolute(dir, ec);
  if (ec) return fail(dir.string() + ": " + ec.message());
  const std::uint32_t reserve = reserve_of(spec);
  for (std::uint32_t round = 1;; ++round) {
    // Runs issued without results (a round cut short here, or emitted and not all run): run
    // here, unless the rounds are someone else's to run.
    if (!opt.emit) {
      std::vector<process> missing;
      for (std::size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].result || fs::is_regular_file(run_file(dir, i, "csv"), ec)) continue;
        missing.push_back(process_of(spec, where, runs, i));
      }
      if (!missing.empty()) {
        std::fprintf(stderr, "tune: %zu run(s) of the last round have no results; running them\n", missing.size());
        auto failed = run_processes(missing, opt.jobs, "tune", "runs");
        if (!failed) return fail(failed.error().what());
        if (!failed->empty()) return fail(std::to_string(failed->size()) + " run(s) failed");
      }
    }
    if (auto read = read_results(dir, runs); !read) return fail(read.error().what());
    planner p(spec, runs);
    std::vector<run_record> next = p.search_round(reserve);
    std::optional<after_search> after;
    if (next.empty()) {
      after = plan_after(spec, p, runs);
      next = after->next;
    }
    if (next.empty()) {
      auto done = finish(spec, dir, p, runs, *after);
      if (!done) return fail(done.error().what());
      if (auto w = write_text(dir / "report.txt", done->report); !w) return fail(w.error().what());
      if (auto w = write_text(dir / "index.html", index_page(dir, done->report)); !w) return fail(w.error().what());
      if (opt.emit) {
        std::fprintf(stderr, "tune: the search is over; its report is in %s\n", (dir / "report.txt").c_str());
      } else {
        std::fwrite(done->report.data(), 1, done->report.size(), stdout);
      }
      return done->status;
    }
    const std::size_t first = runs.size();
    runs.insert(runs.end(), next.begin(), next.end());
    if (auto saved = save_state(dir, spec, runs); !saved) return fail(saved.error().what());
    std::vector<process> list;
    for (std::size_t i = first; i < runs.size(); ++i) list.push_back(process_of(spec, where, runs, i));
    if (opt.emit) {
      std::string text;
      for (const auto& proc : list) {
        for (std::size_t j = 0; j < proc.argv.size(); ++j) text += (j ? " " : "") + shell_quote(proc.argv[j]);
        text += " > " + shell_quote(proc.stdout_path) + " 2> " + shell_quote(proc.stderr_path) + "\n";
      }
      if (auto w = write_text(dir / "commands.txt", text); !w) return fail(w.error().what());
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
    std::fprintf(stderr, "tune: round %u, %zu runs (%zu of a budget of %u)\n", round, list.size(), runs.size(),
                 spec.budget);
    auto failed = run_processes(list, opt.jobs, "tune", "runs");
    if (!failed) return fail(failed.error().what());
    if (!failed->empty()) {
      return fail(std::to_string(failed->size()) + " run(s) failed; `hearsay-sim tune --resume " + dir.string() +
                  "` runs them again");
    }
  }
}

}  // namespace

result<model_search> tune_with_model(const std::vector<std::string>& args, const tune_model& model) {
  auto spec = parse_spec(args, nullptr, nullptr);
  if (!spec) return spec.error();
  const std::uint32_t reserve = reserve_of(*spec);
  if (spec->budget < spec->seeds_min + reserve) return failure("--budget is too small");
  std::vector<run_record> runs;
  const auto columns = numeric_columns();
  while (true) {
    planner p(*spec, runs);
    std::vector<run_record> next = p.search_round(reserve);
    std::optional<after_search> after;
    if (next.empty()) {
      after = plan_after(*spec, p, runs);
      next = after->next;
    }
    if (next.empty()) {
      model_search out;
      out.runs = runs.size();
      for (const auto& r : runs) out.search_runs += r.variant == "search";
      out.points = p.points.size();
      out.budget_ran_out = p.unfinished();
      if (after->chosen) {
        const auto& at = p.candidates()[*after->chosen]->at;
        for (std::size_t d = 0; d < spec->dims.size(); ++d) {
          out.chosen.emplace_back(spec->dims[d].key, spec->dims[d].values[at[d]]);
        }
        out.seeds = p.candidates()[*after->chosen]->rows.size();
      }
      return out;
    }
    for (auto& r : next) {
      std::vector<std::pair<std::string, std::string>> point;
      for (std::size_t d = 0; d < spec->dims.size(); ++d)
        point.emplace_back(spec->dims[d].key, spec->dims[d].values[r.at[d]]);
      row values = model(point, r.seed, r.variant);
      for (const auto& c : columns) values.try_emplace(c, 0.0);
      r.result = std::move(values);
      runs.push_back(std::move(r));
    }
  }
}

int run_tune(const std::vector<std::string>& args) {
  options opt;
  bool help = false;
  auto spec = parse_spec(args, &opt, &help);
  if (help) return 0;
  if (!spec) return fail(spec.error().what());
  std::vector<run_record> runs;
  if (!opt.resume.empty()) {
    const fs::path dir = opt.resume;
    const std::string text = read_text(dir / "tune.json");
    if (text.empty()) return fail((dir / "tune.json").string() + ": no search to resume there");
    nlohmann::json state;
    try {
      state = nlohmann::json::parse(text);
      if (state.at("format") != state_format)
        return fail((dir / "tune.json").string() + ": written by another version");
      spec = parse_spec(state.at("args").get<std::vector<std::string>>(), nullptr, nullptr);
      if (!spec) return fail((dir / "tune.json").string() + ": " + spec.error().what());
      opt.out = dir;
      auto loaded = load_runs(*spec, state);
      if (!loaded) return fail(loaded.error().what());
      runs = std::move(*loaded);
    } catch (const nlohmann::json::exception& e) {
      return fail((dir / "tune.json").string() + ": " + e.what());
    }
  } else {
    std::error_code ec;
    if (fs::exists(opt.out / "tune.json", ec)) {
      return fail(opt.out.string() + " already holds a search (tune.json): --resume " + opt.out.string() +
                  " continues it, or choose another --out");
    }
    if (spec->budget < spec->seeds_min + reserve_of(*spec)) {
      return fail("--budget " + std::to_string(spec->budget) + " is too small: the recommendation's checks take " +
                  std::to_string(reserve_of(*spec)) + " runs and a point " + std::to_string(spec->seeds_min));
    }
  }
  std::error_code ec;
  fs::create_directories(opt.out / "runs", ec);
  if (ec) return fail(opt.out.string() + ": " + ec.message());
  if (opt.resume.empty()) {
    if (auto saved = save_state(opt.out, *spec, runs); !saved) return fail(saved.error().what());
  }
  return drive(*spec, opt, std::move(runs));
}

}  // namespace hearsay::sim_app

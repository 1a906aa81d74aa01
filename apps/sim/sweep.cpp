// Parameter sweeps over parallel processes (see sweep.hpp).

#include "apps/sim/sweep.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/html_report.hpp"
#include "sim/plot.hpp"
#include "sim/table.hpp"

extern char** environ;

namespace hearsay::sim_app {

namespace fs = std::filesystem;

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "hearsay-sim: %s\n", message.c_str());
  return 2;
}

}  // namespace

// The values of a list, "a,b,c" or "LO..HI" (at most 10,001 integers).
result<std::vector<std::string>> values_of(const std::string& spec) {
  const failure expected("expected a,b,c or LO..HI");
  std::vector<std::string> out;
  const auto dots = spec.find("..");
  if (dots != std::string::npos) {
    const std::string lo_text = spec.substr(0, dots), hi_text = spec.substr(dots + 2);
    char* end = nullptr;
    const long lo = std::strtol(lo_text.c_str(), &end, 10);
    if (lo_text.empty() || *end != '\0') return expected;
    const long hi = std::strtol(hi_text.c_str(), &end, 10);
    if (hi_text.empty() || *end != '\0' || hi < lo || hi - lo > 10'000) return expected;
    for (long v = lo; v <= hi; ++v) out.push_back(std::to_string(v));
    return out;
  }
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) return expected;
    out.push_back(item);
  }
  if (out.empty()) return expected;
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,") ==
                        std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("hearsay-sim") : p.string();
}

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Merges the point files of dir into sweep.csv and draws the standard plots.
int merge(const fs::path& dir, bool quiet) {
  std::vector<fs::path> parts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("point-", 0) == 0 && e.path().extension() == ".csv") parts.push_back(e.path());
  }
  if (ec) return fail(dir.string() + ": " + ec.message());
  if (parts.empty()) return fail("no point-*.csv files in " + dir.string());
  std::sort(parts.begin(), parts.end());
  std::string merged = sim::csv_header();
  for (const auto& p : parts) {
    const std::string text = read_text(p);
    const auto nl = text.find('\n');
    if (nl == std::string::npos || text.substr(0, nl + 1) != sim::csv_header()) {
      return fail(p.string() + ": not a point file of this version of hearsay-sim");
    }
    merged += text.substr(nl + 1);
  }
  std::ofstream(dir / "sweep.csv", std::ios::binary) << merged;
  const auto parsed = sim::table::parse(merged);
  if (!parsed) return fail("sweep.csv: " + parsed.error().what());
  const sim::table& t = *parsed;
  struct chart {
    const char* file;
    const char* title;
    const char* x;
    const char* y;
    const char* group;
    const char* x_label;
    const char* y_label;
    const char* caption;  // how to read it, on the sweep's page
  };
  const chart charts[] = {
      {"success_vs_messages.svg", "Success rate against query messages", "query_messages", "success_rate", "fanout",
       "query messages per query", "success rate",
       "Each line is one fan-out, each point one TTL: the upper left is cheap and successful; where a line "
       "flattens, more messages buy little more success."},
      {"latency_vs_ttl.svg", "Time to first hit (p50) against TTL", "ttl", "first_hit_p50_ms", "fanout", "TTL",
       "time to first hit, p50 (ms)",
       "The median wait for a first hit at each TTL, one line per fan-out: it rises with TTL when farther "
       "holders start to count, and falls with fan-out."},
      {"messages_vs_ttl.svg", "Query messages against TTL", "ttl", "query_messages", "fanout", "TTL",
       "query messages per query",
       "What a search costs at each TTL, one line per fan-out: growth about fan-out^TTL until the flood "
       "covers the overlay, then flat."},
      {"latency_vs_fanout.svg", "Time to first hit (p50) against fan-out", "fanout", "first_hit_p50_ms", "ttl",
       "fan-out", "time to first hit, p50 (ms)",
       "The median wait for a first hit at each fan-out, one line per TTL: wider floods find nearer holders "
       "sooner."},
  };
  std::vector<sim::html_chart> figures;
  for (const auto& c : charts) {
    std::string svg = sim::svg_chart(c.title, c.x_label, c.y_label, sim::series_from(t, c.x, c.y, c.group));
    std::ofstream(dir / c.file, std::ios::binary) << svg;
    figures.push_back({std::move(svg), c.caption});
  }
  // One page with the charts and the table, to open in a browser.
  std::ofstream(dir / "index.html", std::ios::binary) << sim::format_sweep_html(
      "hearsay-sim sweep",
      std::to_string(t.rows.size()) + " runs (sweep.csv, one row per point and seed); the charts average the seeds of "
      "each point.",
      figures, t);
  if (!quiet) {
    std::printf("%zu points merged into %s; plots: success_vs_messages.svg latency_vs_ttl.svg messages_vs_ttl.svg "
                "latency_vs_fanout.svg; all of them with the table: index.html\n",
                t.rows.size(), (dir / "sweep.csv").c_str());
  }
  return 0;
}

}  // namespace

result<std::vector<sweep_point>> expand_sweep(const std::vector<std::pair<std::string, std::string>>& vary,
                                              std::uint32_t seeds, std::uint64_t base_seed) {
  std::vector<std::vector<std::string>> values;
  for (const auto& [key, spec] : vary) {
    auto listed = values_of(spec);
    if (!listed) return listed.error().prefix("--vary " + key + "=" + spec);
    values.push_back(std::move(*listed));
  }
  std::vector<sweep_point> out;
  std::vector<std::size_t> at(vary.size(), 0);
  while (true) {
    for (std::uint32_t s = 0; s < seeds; ++s) {
      sweep_point p;
      for (std::size_t k = 0; k < vary.size(); ++k) {
        p.args.push_back("--set");
        p.args.push_back(vary[k].first + "=" + values[k][at[k]]);
        p.label += vary[k].first + "=" + values[k][at[k]] + " ";
      }
      p.args.push_back("--seed");
      p.args.push_back(std::to_string(base_seed + s));
      p.label += "seed=" + std::to_string(base_seed + s);
      out.push_back(std::move(p));
    }
    // Odometer: the last key changes fastest.
    std::size_t k = vary.size();
    while (k > 0) {
      --k;
      if (++at[k] < values[k].size()) break;
      at[k] = 0;
      if (k == 0) return out;
    }
    if (vary.empty()) return out;
  }
}

int run_sweep(const sweep_options& o) {
  const auto& vary = o.vary;
  const auto& base = o.base;
  const std::uint32_t seeds = o.seeds;
  const unsigned jobs = o.jobs;
  const fs::path out_dir = o.out_dir;
  const bool emit = o.emit_commands;
  if (vary.empty()) return fail("sweep: give at least one --vary KEY=VALUES");
  // Validate the base flags and learn the base seed.
  sim::scenario s;
  run_options opt;
  if (auto parsed = parse_run_args(base, s, opt); !parsed) return fail(parsed.error().what());
  auto expanded = expand_sweep(vary, seeds, s.seed);
  if (!expanded) return fail(expanded.error().what());
  const std::vector<sweep_point>& points = *expanded;
  for (const auto& p : points) {
    sim::scenario check;
    auto all = base;
    all.insert(all.end(), p.args.begin(), p.args.end());
    if (auto parsed = parse_run_args(all, check, opt); !parsed) {
      return fail("point '" + p.label + "': " + parsed.error().what());
    }
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return fail(out_dir.string() + ": " + ec.message());

  const std::string exe = self_path();
  std::vector<std::vector<std::string>> commands;
  for (std::size_t k = 0; k < points.size(); ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "point-%05zu", k + 1);
    // The points already run side by side on every processor: one event-loop thread each,
    // unless the flags or the scenario file ask otherwise (they come after, and win).
    std::vector<std::string> cmd{exe, "--set", "threads=1"};
    cmd.insert(cmd.end(), base.begin(), base.end());
    cmd.insert(cmd.end(), points[k].args.begin(), points[k].args.end());
    cmd.insert(cmd.end(), {"--point", points[k].label, "--csv", (out_dir / (std::string(name) + ".csv")).string()});
    commands.push_back(std::move(cmd));
  }
  if (emit) {
    // One self-contained command per point, for GNU parallel or a job array; afterwards
    // `hearsay-sim merge DIR` builds the table and the plots.
    std::string text;
    for (std::size_t k = 0; k < commands.size(); ++k) {
      for (std::size_t j = 0; j < commands[k].size(); ++j) text += (j ? " " : "") + shell_quote(commands[k][j]);
      char name[32];
      std::snprintf(name, sizeof name, "point-%05zu", k + 1);
      text += " > " + shell_quote((out_dir / (std::string(name) + ".txt")).string()) + "\n";
    }
    std::ofstream(out_dir / "commands.txt") << text;
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }

  std::vector<process> runs;
  for (std::size_t k = 0; k < points.size(); ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "point-%05zu", k + 1);
    runs.push_back({commands[k], (out_dir / (std::string(name) + ".txt")).string(),
                    (out_dir / (std::string(name) + ".err")).string(), points[k].label});
  }
  auto failures = run_processes(runs, jobs, "sweep", "points");
  if (!failures) return fail(failures.error().what());
  const std::size_t failed = failures->size();
  if (failed > 0) return fail(std::to_string(failed) + " point(s) failed");
  return merge(out_dir, false);
}

result<std::vector<std::size_t>> run_processes(const std::vector<process>& list, unsigned jobs,
                                                const std::string& what, const std::string& unit) {
  const auto start = std::chrono::steady_clock::now();
  std::map<pid_t, std::size_t> running;
  std::vector<std::size_t> failed;
  std::size_t next = 0, done = 0;
  auto progress = [&] {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\r%s: %zu/%zu %s done, %zu running, %zu failed, %.1f s", what.c_str(), done, list.size(),
                 unit.c_str(), running.size(), failed.size(), t);
    std::fflush(stderr);
  };
  while (done < list.size()) {
    while (running.size() < jobs && next < list.size()) {
      const process& p = list[next];
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, p.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, p.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      std::vector<std::string> args = p.argv;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_t pid = 0;
      const int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      if (rc != 0) return failure("cannot start " + args[0] + ": " + std::strerror(rc));
      running[pid] = next++;
    }
    progress();
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return failure(std::string("waitpid: ") + std::strerror(errno));
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed.push_back(it->second);
      std::fprintf(stderr, "\n%s: '%s' failed; see %s\n", what.c_str(), list[it->second].label.c_str(),
                   list[it->second].stderr_path.c_str());
    }
    running.erase(it);
    ++done;
  }
  progress();
  std::fprintf(stderr, "\n");
  std::sort(failed.begin(), failed.end());
  return failed;
}

int run_merge(const std::string& dir) { return merge(dir, false); }

int run_plot(const plot_options& o) {
  const std::string &csv = o.csv, &x = o.x, &y = o.y, &out = o.out, &group = o.group;
  std::string title = o.title;
  std::error_code ec;
  if (!fs::is_regular_file(csv, ec)) return fail(csv + ": no such file");
  const auto parsed = sim::table::parse(read_text(csv));
  if (!parsed) return fail(csv + ": " + parsed.error().what());
  const sim::table& t = *parsed;
  if (t.column(x) < 0) return fail(csv + ": no column '" + x + "'");
  const auto listed = values_of(y);
  if (!listed) return fail("plot: bad --y list '" + y + "'");
  const std::vector<std::string>& ys = *listed;
  std::vector<sim::series> data;
  for (const auto& col : ys) {
    if (t.column(col) < 0) return fail(csv + ": no column '" + col + "'");
    if (!group.empty() && t.column(group) < 0) return fail(csv + ": no column '" + group + "'");
    for (auto& s : sim::series_from(t, x, col, group)) {
      if (ys.size() > 1 && !group.empty()) s.name = col + ", " + s.name;
      data.push_back(std::move(s));
    }
  }
  if (title.empty()) title = y + " against " + x;
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << sim::svg_chart(title, o.x_label.empty() ? x : o.x_label, o.y_label.empty() ? y : o.y_label, std::move(data));
  file.close();
  if (!file) return fail(out + ": cannot write");
  return 0;
}

}  // namespace hearsay::sim_app

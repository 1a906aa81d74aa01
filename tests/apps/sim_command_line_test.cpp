// hearsay-sim's command line: flags applied in the order given, errors that name the flag, the
// subcommands' flags, and a --help that lists every flag each command takes.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/command_line.hpp"
#include "apps/sim/sweep.hpp"

using namespace hearsay;

namespace {

std::string error_of(const std::vector<std::string>& args) {
  sim::scenario s;
  sim_app::run_options opt;
  const auto parsed = sim_app::parse_run_args(args, s, opt);
  return parsed ? std::string() : parsed.error().what();
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a scenario file overrides the flags before it, and the flags after it override the file", "[apps]") {
  const auto dir = std::filesystem::absolute("sim-command-line-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "s.toml").string();
  std::ofstream(file) << "peers = 700\nwire_codec = false\n[overlay]\nfanout = 2\n";
  sim::scenario s;
  sim_app::run_options opt;
  REQUIRE(sim_app::parse_run_args({"--peers", "500", "--fanout", "6", "--wire-codec", "--scenario", file, "--fanout",
                                   "3", "--set", "overlay.ttl=4", "--set", "overlay.ttl=6", "--seed=9"},
                                  s, opt));
  CHECK(s.peers == 700);                 // the file's, given after the flag
  CHECK_FALSE(s.wire_codec);             // likewise
  CHECK(s.node.search.fanout == 3);      // the flag after the file
  CHECK(s.node.search.ttl == 6);         // the last of a repeated flag
  CHECK(s.seed == 9);                    // --flag=value as well as --flag value
  std::filesystem::remove_all(dir);
}

TEST_CASE("a run's flags are refused with the flag named", "[apps]") {
  CHECK(error_of({"--nope"}) == "unknown option '--nope'");
  CHECK(error_of({"--peers", "5", "stray"}) == "unexpected argument 'stray'");
  CHECK(error_of({"--peers"}) == "--peers needs a value");
  CHECK(error_of({"--peers", "many"}) == "--peers: peers: 'many' is not a whole number");
  CHECK(error_of({"--wire-codec=false"}) == "--wire-codec takes no value");
  CHECK(error_of({"--set", "overlay.fanout"}) == "--set needs KEY=VALUE, got 'overlay.fanout'");
  CHECK(error_of({"--scenario", "/nonexistent/s.toml"}).rfind("/nonexistent/s.toml", 0) == 0);
  // Every output flag keeps its value; --point labels the CSV row of a sweep point.
  sim::scenario s;
  sim_app::run_options opt;
  REQUIRE(sim_app::parse_run_args({"--json", "a.json", "--csv", "a.csv", "--queries-csv", "q.csv", "--point", "p 1",
                                   "--per-query"},
                                  s, opt));
  CHECK(opt.json_path == "a.json");
  CHECK(opt.csv_path == "a.csv");
  CHECK(opt.queries_csv_path == "q.csv");
  CHECK(opt.point == "p 1");
  CHECK(opt.per_query);
}

TEST_CASE("every command's help lists every flag it takes", "[apps]") {
  const auto app = sim_app::make_command_line();
  const std::string root = app->help();
  for (const char* flag : {"--scenario", "--peers", "--seed", "--fanout", "--ttl", "--queries", "--files",
                           "--replication", "--latency", "--topology", "--set", "--wire-codec", "--json", "--csv",
                           "--queries-csv", "--html", "--point", "--per-query", "--list-keys", "--help-all", "sweep", "merge",
                           "plot", "topology"}) {
    INFO(flag);
    CHECK(root.find(std::string("  ") + flag + " ") != std::string::npos);
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> subcommands = {
      {"sweep", {"--vary", "--seeds", "--jobs", "--out", "--emit-commands", "--scenario", "--peers", "--set"}},
      {"merge", {"DIR"}},
      {"plot", {"FILE.csv", "--x", "--y", "--out", "--group", "--title", "--x-label", "--y-label"}},
      {"topology", {"--convert"}}};
  for (const auto& [name, flags] : subcommands) {
    const std::string help = app->get_subcommand(name)->help();
    for (const auto& flag : flags) {
      INFO(name << " " << flag);
      CHECK(help.find("  " + flag + " ") != std::string::npos);
    }
    // Within 100 columns.
    std::size_t line_start = 0;
    for (std::size_t nl = help.find('\n'); nl != std::string::npos; nl = help.find('\n', line_start)) {
      CHECK(nl - line_start <= 100);
      line_start = nl + 1;
    }
  }
  // The sweep sets these for each point: not offered, and refused.
  const std::string sweep = app->get_subcommand("sweep")->help();
  CHECK(sweep.find("--json") == std::string::npos);
  CHECK(sim_app::run_command({"sweep", "--vary", "overlay.fanout=2", "--json", "x.json"}) == 2);
}

TEST_CASE("subcommands take their flags after their name, and a sweep hands its run flags to every point in order",
          "[apps]") {
  const auto dir = std::filesystem::absolute("sim-command-line-sweep-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    const auto app = sim_app::make_command_line();
    const auto misplaced = apps::parse(*app, {"--peers", "300", "sweep", "--vary", "overlay.fanout=2"});
    REQUIRE_FALSE(misplaced);
    CHECK(misplaced.error().what() == "'--peers' comes before 'sweep': give the options of 'sweep' after it");
  }
  {
    const auto app = sim_app::make_command_line();
    const auto bad = apps::parse(*app, {"sweep", "--vary", "overlay.fanout=2", "--seeds", "0"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what().rfind("--seeds: ", 0) == 0);
  }
  REQUIRE(sim_app::run_command({"sweep", "--peers", "300", "--vary", "overlay.fanout=2,3", "--set",
                                "overlay.ttl=3", "--wire-codec", "--seeds", "2", "--out", dir.string(),
                                "--emit-commands"}) == 0);
  const std::string commands = read_text(dir / "commands.txt");
  CHECK(std::count(commands.begin(), commands.end(), '\n') == 4);
  CHECK(commands.find(" --set threads=1 --peers 300 --set overlay.ttl=3 --wire-codec --set overlay.fanout=2 --seed 1 "
                      "--point 'overlay.fanout=2 seed=1' --csv ") != std::string::npos);
  CHECK(commands.find("--set overlay.fanout=3 --seed 2 --point 'overlay.fanout=3 seed=2'") != std::string::npos);
  // merge and topology read their arguments; a missing one is named.
  CHECK(sim_app::run_command({"merge"}) == 2);
  CHECK(sim_app::run_command({"merge", dir.string(), "extra"}) == 2);
  CHECK(sim_app::run_command({"topology", "--convert", "only-one"}) == 2);
  std::filesystem::remove_all(dir);
}

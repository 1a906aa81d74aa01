#pragma once
// Command lines of hearsay-sim and hearsay-node, read with CLI11: the --help of every program
// and subcommand is generated from the options themselves, and an error names the flag.
//
// Where flags override each other in order (a scenario or settings file, then the flags after
// it), the options are declared without a variable to fill and read back in the order given
// (given_in_order), so that one parser serves the flags, files and --set alike.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "overlay/result.hpp"

namespace hearsay::apps {

// A program's command line with the conventions every hearsay program follows: -h/--help,
// unknown options reported as such, help text in columns wide enough for "--flag VALUE".
void configure(CLI::App& app);

// An option with one value, read back with ->as<T>() (count() says whether it was given);
// `value` is what the help shows for it ("N", "DIR"; "" for a positional argument).
CLI::Option* add_value(CLI::App& app, const std::string& name, const std::string& value,
                       const std::string& description);
// An option with one value that may be given any number of times (each use read in order
// by given_in_order); `value` is what the help shows for it ("N", "KEY=VALUE").
CLI::Option* add_repeatable(CLI::App& app, const std::string& name, const std::string& value,
                            const std::string& description);
// A flag: no value (--flag=value is refused).
CLI::Option* add_switch(CLI::App& app, const std::string& name, const std::string& description);

// What a parsed command line asks for: to run, or nothing more (its help went to stdout).
enum class parsed { run, help_printed };

// Parses args (without the program's name) into app and its subcommands. A failure says
// what is wrong, naming the flag: "unknown option '--nope'", "--seeds: Value 0 not in range
// 1 to 10000", "unexpected argument 'x'".
result<parsed> parse(CLI::App& app, std::vector<std::string> args);

// One option as it was given: its name ("--peers") and value (empty for a flag).
struct given_option {
  std::string name;
  std::string value;
  bool is_flag = false;
};
// The options given to app (not to its subcommands), in the order given.
std::vector<given_option> given_in_order(const CLI::App& app);
// The same, as arguments again ("--peers", "500", "--wire-codec").
std::vector<std::string> as_arguments(const std::vector<given_option>& given);

// The subcommand the command line chose (the deepest one), or app itself.
const CLI::App& chosen(const CLI::App& app);

// Reports a command-line failure on stderr ("hearsay-sim: --seeds: ...", then where to find
// the options: "hearsay-sim sweep --help") and returns the exit status for it, 2.
int refuse(const CLI::App& app, const failure& f);

}  // namespace hearsay::apps

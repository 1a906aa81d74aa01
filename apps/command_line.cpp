// Command lines through CLI11 (see command_line.hpp).

#include "apps/command_line.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace hearsay::apps {

namespace {

// Help within 100 columns: CLI11 2.1 prints each description on one line however long.
constexpr std::size_t help_width = 100;

// text with its lines broken between words to at most `width` characters (a word longer than
// that stays whole); the line breaks it had stay.
std::string wrap(const std::string& text, std::size_t width) {
  std::string out;
  std::size_t line = 0;  // characters on the current line
  std::size_t at = 0;
  while (at < text.size()) {
    if (text[at] == '\n') {
      out += '\n';
      line = 0;
      ++at;
      continue;
    }
    if (text[at] == ' ') {
      ++at;
      continue;
    }
    const std::size_t end = std::min(text.find_first_of(" \n", at), text.size());
    const std::size_t word = end - at;
    if (line > 0 && line + 1 + word > width) {
      out += '\n';
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out.append(text, at, word);
    line += word;
    at = end;
  }
  return out;
}

class wrapping_formatter : public CLI::Formatter {
 public:
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrap(CLI::Formatter::make_option_desc(opt), help_width - get_column_width());
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true),
                             wrap(sub->get_description(), help_width - get_column_width()), get_column_width());
    return out.str();
  }
  std::string make_description(const CLI::App* app) const override {
    return wrap(CLI::Formatter::make_description(app), help_width);
  }
  std::string make_footer(const CLI::App* app) const override {
    return wrap(CLI::Formatter::make_footer(app), help_width);
  }
};

}  // namespace

void configure(CLI::App& app) {
  // Unknown arguments are kept rather than thrown, so that the message can say which kind
  // they are (an option this command lacks, or a stray word).
  app.allow_extras();
  app.set_help_flag("-h,--help", "print this help and exit");
  auto formatter = std::make_shared<wrapping_formatter>();
  formatter->column_width(30);
  app.formatter(formatter);
}

CLI::Option* add_value(CLI::App& app, const std::string& name, const std::string& value,
                       const std::string& description) {
  return app.add_option(name)->description(description)->type_name(value);
}

CLI::Option* add_repeatable(CLI::App& app, const std::string& name, const std::string& value,
                            const std::string& description) {
  return add_value(app, name, value, description)
      ->type_size(1)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* add_switch(CLI::App& app, const std::string& name, const std::string& description) {
  return app.add_flag(name)->description(description)->disable_flag_override();
}

namespace {

// CLI11's wording of a few errors, in ours: "--peers: 1 required N missing" is "--peers needs
// a value", "wire-codec was given a disallowed flag override" is "--wire-codec takes no value".
std::string reworded(const std::string& message) {
  const auto colon = message.find(": 1 required ");
  if (colon != std::string::npos && message.size() > 8 && message.compare(message.size() - 8, 8, " missing") == 0) {
    return message.substr(0, colon) + " needs a value";
  }
  const std::string override_refused = " was given a disallowed flag override";
  if (message.size() > override_refused.size() &&
      message.compare(message.size() - override_refused.size(), override_refused.size(), override_refused) == 0) {
    return "--" + message.substr(0, message.size() - override_refused.size()) + " takes no value";
  }
  return message;
}

// The first option given to a command before the subcommand it chose ("hearsay-sim --peers 5
// sweep ..."), which would otherwise be silently left unused.
std::string before_subcommand(const CLI::App& app) {
  const auto subs = app.get_subcommands();
  if (subs.empty()) return {};
  for (const CLI::Option* o : app.parse_order()) {
    const std::string& sub = subs.front()->get_name();
    return "'" + o->get_name() + "' comes before '" + sub + "': give the options of '" + sub + "' after it";
  }
  return before_subcommand(*subs.front());
}

// The first argument no command took, in the deepest command that has one.
std::string first_extra(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    if (auto extra = first_extra(*sub); !extra.empty()) return extra;
  }
  const auto left = app.remaining(false);
  return left.empty() ? std::string() : left.front();
}

}  // namespace

result<parsed> parse(CLI::App& app, std::vector<std::string> args) {
  // CLI11 takes the arguments last first.
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --help-all arrive as "errors" of exit status 0: CLI11 prints the help of
    // the (sub)command they were given to.
    if (e.get_exit_code() == 0) {
      (void)app.exit(e);
      return parsed::help_printed;
    }
    return failure(reworded(e.what()));
  }
  if (const std::string extra = first_extra(app); !extra.empty()) {
    if (extra.size() > 1 && extra[0] == '-') return failure("unknown option '" + extra + "'");
    return failure("unexpected argument '" + extra + "'");
  }
  if (const std::string misplaced = before_subcommand(app); !misplaced.empty()) return failure(misplaced);
  return parsed::run;
}

std::vector<given_option> given_in_order(const CLI::App& app) {
  std::vector<given_option> out;
  // parse_order() names an option once per value it took; its results() hold the values
  // in the same order.
  std::map<const CLI::Option*, std::size_t> taken;
  for (const CLI::Option* o : app.parse_order()) {
    const std::size_t k = taken[o]++;
    const bool flag = o->get_items_expected_max() == 0;
    const auto& values = o->results();
    out.push_back({o->get_name(), flag || k >= values.size() ? std::string() : values[k], flag});
  }
  return out;
}

std::vector<std::string> as_arguments(const std::vector<given_option>& given) {
  std::vector<std::string> args;
  for (const auto& g : given) {
    args.push_back(g.name);
    if (!g.is_flag) args.push_back(g.value);
  }
  return args;
}

const CLI::App& chosen(const CLI::App& app) {
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
  return *at;
}

int refuse(const CLI::App& app, const failure& f) {
  std::string command = app.get_name();
  for (const CLI::App* at = &app; !at->get_subcommands().empty();) {
    at = at->get_subcommands().front();
    command += " " + at->get_name();
  }
  std::fprintf(stderr, "%s: %s\n(%s --help lists the options)\n", app.get_name().c_str(), f.what().c_str(),
               command.c_str());
  return 2;
}

}  // namespace hearsay::apps

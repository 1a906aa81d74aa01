// hearsay: the command line for a running hearsay-node, over its local control endpoint.
//
// The commands and their options are declared once, with CLI11, which writes --help and
// checks the arguments; the interactive shell reads a line at a time (with libedit's line
// editing and history on a terminal) and parses it with the same declarations. Output and
// exit statuses are documented in apps/cli/README-cli.md.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <editline/readline.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "overlay/result.hpp"
#include "transport/control_client.hpp"
#include "transport/json.hpp"
#include "transport/paths.hpp"
#include "transport/text.hpp"

namespace {

namespace fs = std::filesystem;
using fields = std::map<std::string, std::string>;
using hearsay::net::printable;

// Exit statuses, the same for every command.
enum exit_status : int {
  exit_ok = 0,            // done: the node answered "ok":true
  exit_failed = 1,        // the node refused or failed the command, or a local file could not be read
  exit_usage = 2,         // a bad command line
  exit_unreachable = 3,   // no node at the control endpoint, its token refused, or the connection lost
  exit_interrupted = 130  // Ctrl-C (a foreground download is cancelled)
};

struct options {
  // The node's unix socket in the default state folder; HEARSAY_CONTROL in the environment
  // overrides it, --control overrides both.
  std::string control = hearsay::net::control_socket_in(hearsay::net::default_state_dir()).string();
  // For a TCP endpoint: the file holding its token (default: control.token in the default
  // state folder; HEARSAY_TOKEN_FILE or --token-file override it).
  std::string token_file = hearsay::net::control_token_in(hearsay::net::default_state_dir()).string();
  bool json = false;
  long wait_ms = 3'000;
  long first = 0;  // a search ends once this many results are in (0: no limit)
};

// One command line: the command and its arguments.
struct invocation {
  options opt;
  std::string command;  // empty: the shell
  std::vector<std::string> words;
  std::string target;  // fetch
  bool again = false, detach = false;
  std::string id;    // cancel
  std::string file;  // share
};

// The commands, in the order of --help and of the shell's menu. `ask`: what the menu asks
// for before running a command that needs an argument.
struct command_spec {
  const char* name;
  const char* help;
  const char* ask;
};
constexpr command_spec commands[] = {
    {"search", "search the overlay; hits are printed as they arrive", "words"},
    {"results", "the numbered results of the last search", nullptr},
    {"fetch", "download a file: a result number, a sha256, or a unique prefix of 8+ hex digits of one",
     "result number or sha256 prefix"},
    {"downloads", "running and recent downloads: bytes, speed, ETA, holders", nullptr},
    {"cancel", "cancel a running download (its number in downloads) or all", "download number or all"},
    {"share", "hand a file (opened with your rights) to the node, which copies it into its shared folder",
     "file"},
    {"shared", "the files this node shares", nullptr},
    {"unshare", "stop sharing a file: delete it from the node's shared folder (its sha256, or 8+ hex digits of one)",
     "sha256 or 8+ hex digits of one"},
    {"rescan", "re-index the node's shared folder", nullptr},
    {"peers", "the node's active and passive views, with node ids", nullptr},
    {"status", "node id, address, uptime and counters", nullptr},
    {"webui-url", "print the link that logs a browser in to the node's web interface", nullptr},
    {"shell", "an interactive menu of these commands (also what hearsay with no command runs)", nullptr},
};

// "--wait" in seconds, whole or with up to three decimals ("3", "0.25"), from 0.001 to 120:
// milliseconds.
hearsay::result<long> parse_wait_ms(const std::string& text) {
  const hearsay::failure refused("0.001 to 120 seconds, up to three decimals, not '" + text + "'");
  const auto dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  const auto digits = [](const std::string& t) {
    return std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 3 || !digits(whole) || frac.size() > 3 || !digits(frac)) return refused;
  if (dot != std::string::npos && frac.empty()) return refused;
  long ms = std::stol(whole) * 1000;
  long scale = 100;
  for (char c : frac) {
    ms += (c - '0') * scale;
    scale /= 10;
  }
  if (ms < 1 || ms > 120'000) return refused;
  return ms;
}

bool all_of_class(const std::string& t, int (*is)(int)) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [&](char c) { return is(static_cast<unsigned char>(c)) != 0; });
}

// What fetch accepts: a result number (1 to 6 digits), or 8 to 64 hex digits (a digest or a
// prefix of one). "1.5" or "1abc" is neither.
std::string check_fetch_target(const std::string& t) {
  if (all_of_class(t, std::isdigit) && t.size() <= 6) return {};
  if (all_of_class(t, std::isxdigit) && t.size() >= 8 && t.size() <= 64) return {};
  return "'" + t + "' is neither a result number nor a sha256 (or a prefix of at least 8 hex digits)";
}

std::string check_download_id(const std::string& t) {
  if (t == "all" || (all_of_class(t, std::isdigit) && t.size() <= 18)) return {};
  return "cancel takes a download number (see hearsay downloads) or 'all', not '" + t + "'";
}

// The command line's declarations, filling `inv`.
std::unique_ptr<CLI::App> make_app(invocation& inv) {
  auto app = std::make_unique<CLI::App>(
      "The command line of a running hearsay-node: search the overlay, fetch what it found, share files.\n"
      "It talks to the node over its control endpoint: the unix socket control.sock in the node's state\n"
      "folder, or host:port with the token from the node's control.token file.",
      "hearsay");
  app->set_help_all_flag("--help-all", "Print this help and every command's options, then exit");
  app->failure_message([](const CLI::App* failed, const CLI::Error& e) {
    // The usage to look at: the command's, when one was given.
    std::string usage = "hearsay";
    for (const CLI::App* sub : failed->get_subcommands()) usage += " " + sub->get_name();
    std::string what = e.what();
    if (usage == "hearsay" && dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && !failed->remaining().empty()) {
      what = "unknown command '" + failed->remaining().front() + "'";
    }
    return "hearsay: " + what + "\n(" + usage + " --help shows the usage)\n";
  });
  app->footer(
      "With no command, hearsay runs the shell. --json prints one JSON object per line, the node's events\n"
      "and then an end event {\"event\":\"end\",\"ok\":...}; apps/cli/README-cli.md gives each command's fields.\n"
      "Exit status: 0 done; 1 the node refused or failed the command (or a file to share could not be\n"
      "read); 2 a bad command line; 3 no node at the endpoint, its token refused, or the connection lost;\n"
      "130 interrupted (Ctrl-C; a download in the foreground is cancelled).");
  app->require_subcommand(0, 1);

  const CLI::Validator seconds(
      [](std::string& v) {
        const auto ms = parse_wait_ms(v);
        return ms ? std::string() : ms.error().what();
      },
      "");
  auto add_wait = [&](CLI::App& to) {
    to.add_option_function<std::string>(
          "--wait", [&inv](const std::string& v) { inv.opt.wait_ms = *parse_wait_ms(v); },
          "For search: the longest it waits for hits, in seconds, up to three decimals, 0.001 to 120 [3]")
        ->type_name("SECONDS")
        ->check(seconds);
  };
  auto add_first = [&](CLI::App& to) {
    to.add_option("--first", inv.opt.first,
                  "For search: stop once N results (distinct files) are in; a search also ends when the node "
                  "closes it, or when --wait runs out")
        ->type_name("N")
        ->check(CLI::Range(1, 1000).description(""));
  };
  app->add_option("--control", inv.opt.control,
                  "The node's control endpoint: a unix socket path, or host:port ($HEARSAY_CONTROL)")
      ->type_name("ENDPOINT")
      ->capture_default_str();
  app->add_option("--token-file", inv.opt.token_file,
                  "For a host:port endpoint: the file holding its token ($HEARSAY_TOKEN_FILE)")
      ->type_name("FILE")
      ->capture_default_str();
  app->add_flag("--json", inv.opt.json, "Print the node's JSON lines as they come, for scripts");
  add_wait(*app);
  add_first(*app);

  for (const auto& c : commands) {
    CLI::App* sub = app->add_subcommand(c.name, c.help);
    // Options of the command line as a whole may also come after the command.
    sub->fallthrough();
    sub->callback([&inv, name = std::string(c.name)] { inv.command = name; });
    const std::string name = c.name;
    if (name == "search") {
      sub->add_option("words", inv.words,
                      "What to look for: each word must occur in a file's name, in any case, as a whole word, "
                      "its start or any part of it")
          ->type_name("WORD")
          ->required();
      add_wait(*sub);
      add_first(*sub);
    } else if (name == "fetch") {
      sub->add_option("target", inv.target,
                      "A result number of the last search, a sha256, or a unique prefix of 8+ hex digits of one")
          ->type_name("N|SHA256")
          ->required()
          ->check(CLI::Validator([](std::string& v) { return check_fetch_target(v); }, ""));
      sub->add_flag("--again", inv.again, "Fetch content that is already in the download folder once more");
      sub->add_flag("--detach", inv.detach, "Leave the download running in the node and return at once");
    } else if (name == "cancel") {
      sub->add_option("id", inv.id, "A download number (hearsay downloads) or all")
          ->type_name("ID|all")
          ->required()
          ->check(CLI::Validator([](std::string& v) { return check_download_id(v); }, ""));
    } else if (name == "unshare") {
      sub->add_option("target", inv.target, "The shared file's sha256, or a unique prefix of 8+ hex digits of it")
          ->type_name("SHA256")
          ->required()
          ->check(CLI::Validator(
              [](std::string& v) {
                return all_of_class(v, std::isxdigit) && v.size() >= 8 && v.size() <= 64
                           ? std::string()
                           : "'" + v + "' is not a sha256 or a prefix of at least 8 hex digits of one";
              },
              ""));
    } else if (name == "share") {
      sub->add_option("file", inv.file, "The file to share, under its own name (hearsay shared lists what the node shares)")
          ->type_name("FILE")
          ->required();
    }
  }
  return app;
}

// Parses a command line into `inv` (`args`: argc and argv, or one line the shell read); an
// exit status when there is nothing to run (help was printed, or the line was refused with a
// message).
// Whether a command line asks for --json (read before it is parsed: a refused line may have
// left the flag unset).
bool asks_json(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--json") return true;
  }
  return false;
}
bool asks_json(const std::string& line) {
  std::istringstream words(line);
  for (std::string w; words >> w;) {
    if (w == "--json") return true;
  }
  return false;
}

template <typename... Args>
std::optional<int> parse(invocation& inv, Args&&... args) {
  const bool json = inv.opt.json || asks_json(args...);
  auto app = make_app(inv);
  try {
    app->parse(std::forward<Args>(args)...);
  } catch (const CLI::ParseError& e) {
    const int printed = app->exit(e);
    if (printed == 0) return exit_ok;
    // The reason went to stderr; a script reading --json's lines gets the end event too.
    if (json) {
      std::printf("%s\n",
                  hearsay::net::json::line({{"event", "end"}, {"ok", false}, {"error", std::string(e.what())}}).c_str());
      std::fflush(stdout);
    }
    return exit_usage;
  }
  return std::nullopt;
}

std::string human_size(const std::string& bytes_text) {
  double v = std::atof(bytes_text.c_str());
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string rate_text(const std::string& bytes_per_s) { return human_size(bytes_per_s) + "/s"; }

std::string eta_text(const std::string& seconds_text) {
  const double s = std::atof(seconds_text.c_str());
  if (seconds_text.empty() || s < 0) return "--:--";
  const auto total = static_cast<long>(s + 0.5);
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
  }
  return buf;
}

std::string plural(const std::string& count, const char* noun) {
  return count + " " + noun + (count == "1" ? "" : "s");
}

// What the plain (non-terminal) progress display printed last.
struct progress_state {
  int last_decile = -1;
  std::string holder;
};

// Prints one event (not the end event) for people, at once: a search's hits stream out as
// they arrive, to a terminal or a pipe.
void show(const fields& f, const std::string& line, bool tty, progress_state& progress) {
  const std::string ev = f.count("event") ? f.at("event") : std::string();
  // Everything from the node may come from a remote peer: escaped before it is printed.
  auto get = [&](const char* k) { return f.count(k) ? printable(f.at(k)) : std::string(); };
  if (ev == "hit") {
    std::printf("%3s. %-40s %10s  sha256 %.12s  %s", get("n").c_str(), get("name").c_str(), human_size(get("size")).c_str(),
                get("sha256").c_str(), plural(get("holders"), "holder").c_str());
    if (f.count("holder")) {
      std::printf("  from %s, %s, %s ms", get("holder").c_str(), plural(get("hops"), "hop").c_str(),
                  get("latency_ms").c_str());
    }
    std::printf("\n");
  } else if (ev == "file") {
    std::printf("%-40s %10s  sha256 %.12s  %s\n", get("name").c_str(), human_size(get("size")).c_str(),
                get("sha256").c_str(), get("path").c_str());
  } else if (ev == "progress") {
    const double done = std::atof(get("bytes").c_str()), total = std::max(1.0, std::atof(get("size").c_str()));
    const int pct = std::clamp(static_cast<int>(100.0 * done / total), 0, 100);
    const std::string holders = plural(get("holders"), "holder");
    if (tty) {
      const int width = 24, filled = pct * width / 100;
      std::printf("\r[%s%s] %3d%% %s of %s  %s  ETA %s  %s   ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                  std::string(static_cast<std::size_t>(width - filled), '.').c_str(), pct,
                  human_size(get("bytes")).c_str(), human_size(get("size")).c_str(), rate_text(get("rate")).c_str(),
                  eta_text(get("eta_s")).c_str(), holders.c_str());
    } else if (pct / 10 != progress.last_decile || get("holder") != progress.holder) {
      // Not a terminal (a log, a pipe): a plain line per 10 % and per change of holder.
      progress.last_decile = pct / 10;
      progress.holder = get("holder");
      std::printf("%3d%% %s of %s, %s, ETA %s, %s\n", pct, human_size(get("bytes")).c_str(),
                  human_size(get("size")).c_str(), rate_text(get("rate")).c_str(), eta_text(get("eta_s")).c_str(),
                  holders.c_str());
    }
  } else if (ev == "download") {
    std::printf("%4s  %-9s %-36s %10s of %-10s %12s  ETA %-8s %s/%s holders%s%s\n", get("id").c_str(),
                get("state").c_str(), get("name").substr(0, 36).c_str(), human_size(get("bytes")).c_str(),
                human_size(get("size")).c_str(), rate_text(get("rate")).c_str(), eta_text(get("eta_s")).c_str(),
                get("holders").c_str(), get("holders_known").c_str(), f.count("path") ? ("  " + get("path")).c_str() : "",
                f.count("error") ? ("  " + get("error")).c_str() : "");
  } else if (ev == "peer") {
    // The id's first 16 hex digits tell peers apart; --json gives the whole id.
    const std::string id = get("id").empty() ? "(not yet proven)" : get("id").substr(0, 16);
    // An open link also says how long it has been open and what crossed it.
    const std::string link = f.count("age_s") ? "  open " + get("age_s") + " s, " + human_size(get("bytes_in")) +
                                                    " in, " + human_size(get("bytes_out")) + " out"
                                              : std::string();
    std::printf("%-8s %-16s  %-22s%s\n", get("view").c_str(), id.c_str(), get("addr").c_str(), link.c_str());
  } else if (ev == "status") {
    // In the node's order (address and uptime first), not alphabetically.
    const auto ordered = hearsay::net::json::parse_flat_ordered(line);
    if (!ordered) return;  // not after the client has read the same line
    for (const auto& [k, v] : *ordered) {
      if (k != "event") std::printf("%-22s %s\n", printable(k).c_str(), printable(v).c_str());
    }
  } else if (ev == "warning") {
    std::printf("warning: %s\n", get("text").c_str());
  }
  std::fflush(stdout);
}

// The end event for people: what was done.
void show_end(const std::string& command, fields& end) {
  auto get = [&](const char* k) { return end.count(k) ? printable(end.at(k)) : std::string(); };
  if (end.count("detached")) {
    std::printf("download %s runs on in the node (hearsay downloads shows it)\n", get("id").c_str());
  } else if (command == "fetch" && end["existing"] == "true") {
    std::printf("already here: %s (%s); --again fetches it anyway\n", get("path").c_str(), human_size(get("size")).c_str());
  } else if (command == "fetch") {
    std::printf("saved %s (%s, sha256 verified)\n", get("path").c_str(), human_size(get("size")).c_str());
  } else if (command == "cancel") {
    std::printf("cancelled %s\n", plural(get("cancelled"), "download").c_str());
  } else if (command == "search") {
    std::printf("%s\n", plural(get("results"), "result").c_str());
  } else if (command == "share" && end.count("already")) {
    std::printf("already shared as %s (%s): the same content is not copied again, and keeps its name\n",
                get("name").c_str(), get("path").c_str());
  } else if (command == "share") {
    std::printf("shared %s as %s; sharing %s\n", get("name").c_str(), get("path").c_str(),
                plural(get("files"), "file").c_str());
  } else if (command == "shared") {
    std::printf("sharing %s, %s\n", plural(get("files"), "file").c_str(), human_size(get("bytes")).c_str());
  } else if (command == "webui-url") {
    std::printf("%s\n", get("url").c_str());
  } else if (command == "unshare") {
    std::printf("removed %s (%s); sharing %s\n", get("removed").c_str(), get("path").c_str(),
                plural(get("files"), "file").c_str());
  } else if (command == "rescan") {
    std::printf("sharing %s\n", plural(get("files"), "file").c_str());
  }
}

// Ctrl-C while a command waits for the node: the request is abandoned and its connection
// closed (the node then cancels a download watched in the foreground).
volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

// SIGINT goes to on_interrupt while it lives; the former handling comes back after.
class interrupt_scope {
 public:
  interrupt_scope() {
    interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_);
  }
  ~interrupt_scope() { ::sigaction(SIGINT, &old_, nullptr); }
  interrupt_scope(const interrupt_scope&) = delete;
  interrupt_scope& operator=(const interrupt_scope&) = delete;

 private:
  struct sigaction old_ {};
};

// A failure of the CLI's own (no node answer): a message, and an end event under --json.
int fail(const options& opt, int status, const std::string& error) {
  std::fprintf(stderr, "hearsay: %s\n", error.c_str());
  if (opt.json) {
    std::printf("%s\n", hearsay::net::json::line({{"event", "end"}, {"ok", false}, {"error", error}}).c_str());
    std::fflush(stdout);
  }
  return status;
}

// Sends one request and prints the answer; the exit status follows the end event's "ok".
// share_fd: the open file a share hands to the node.
int request(const options& opt, const std::string& command, const std::string& line, int share_fd = -1) {
  hearsay::net::control_client client;
  if (auto connected = client.connect(opt.control); !connected) return fail(opt, exit_unreachable, connected.error().what());
  if (!hearsay::net::is_unix_socket_path(opt.control)) {
    // A TCP endpoint wants its token first.
    std::ifstream in(opt.token_file);
    std::string token;
    if (!(in >> token)) {
      return fail(opt, exit_unreachable,
                  "the TCP control endpoint " + opt.control + " needs its token: cannot read " + opt.token_file +
                      " (--token-file)");
    }
    if (auto accepted = client.authenticate(token); !accepted) return fail(opt, exit_unreachable, accepted.error().what());
  }
  const bool tty = ::isatty(STDOUT_FILENO) != 0 && !opt.json;
  bool progress_shown = false;
  progress_state progress;
  interrupt_scope scope;
  client.stop_when([] { return interrupted != 0; });
  auto answered = client.request(line, [&](const fields& f, const std::string& text) {
    if (f.count("event") && f.at("event") == "send-fd") {
      // The node asks for the file being shared: it gets the open file, not a path.
      if (share_fd < 0) {
        std::fprintf(stderr, "hearsay: no file to hand over\n");
      } else if (auto sent = client.send_fd(share_fd); !sent) {
        std::fprintf(stderr, "hearsay: %s\n", sent.error().what().c_str());
      }
      return;
    }
    if (opt.json) {
      std::printf("%s\n", text.c_str());
      std::fflush(stdout);
      return;
    }
    const auto ev = f.find("event");
    if (ev == f.end() || ev->second == "end") return;
    if (ev->second == "progress") progress_shown = true;
    show(f, text, tty, progress);
  });
  if (progress_shown && tty) std::printf("\n");
  if (!answered) {
    if (answered.error().code() == std::errc::interrupted) {
      return fail(opt, exit_interrupted,
                  command == "fetch" ? "interrupted; the download is cancelled (fetch --detach leaves it running)"
                                     : "interrupted");
    }
    return fail(opt, exit_unreachable, answered.error().what());
  }
  fields& end = *answered;
  const bool ok = end["ok"] == "true";
  if (!opt.json) {
    if (!ok) {
      std::fprintf(stderr, "hearsay: %s\n", printable(end["error"]).c_str());
    } else {
      show_end(command, end);
    }
    std::fflush(stdout);
  }
  return ok ? exit_ok : exit_failed;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// A path the shell read: "~/..." is the home folder, as a shell would have it.
std::string expand_home(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (path.rfind("~/", 0) == 0 && home != nullptr && *home != '\0') return std::string(home) + path.substr(1);
  return path;
}

int share(const invocation& inv) {
  // Opened here, with the rights of whoever runs the command, and handed to the node open:
  // the node never opens a path on a caller's behalf.
  const int fd = ::open(inv.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(inv.opt, exit_failed, "cannot open " + inv.file + ": " + std::strerror(errno));
  const std::string name = fs::path(inv.file).filename().string();
  const int rc = request(inv.opt, "share", hearsay::net::json::line({{"cmd", "share"}, {"name", name}}), fd);
  ::close(fd);
  return rc;
}

int shell(const options& base);


int run(const invocation& inv) {
  namespace json = hearsay::net::json;
  const options& opt = inv.opt;
  const std::string& cmd = inv.command;
  if (cmd.empty() || cmd == "shell") return shell(opt);
  if (cmd == "search") {
    json::object req = {{"cmd", "search"}, {"words", join(inv.words)}, {"wait_ms", opt.wait_ms}};
    if (opt.first > 0) req["first"] = opt.first;
    return request(opt, cmd, json::line(req));
  }
  if (cmd == "fetch") {
    return request(opt, cmd,
                   json::line({{"cmd", "fetch"}, {"target", inv.target}, {"again", inv.again}, {"detach", inv.detach}}));
  }
  if (cmd == "cancel") return request(opt, cmd, json::line({{"cmd", "cancel"}, {"id", inv.id}}));
  if (cmd == "share") return share(inv);
  if (cmd == "unshare") return request(opt, cmd, json::line({{"cmd", "unshare"}, {"target", inv.target}}));
  return request(opt, cmd, json::line({{"cmd", cmd}}));
}

// ---- the shell ------------------------------------------------------------------------

// Lines typed at a terminal, through libedit (line editing, and a history kept in a file
// between sessions); from anything else, plain lines after a plain prompt.
class line_reader {
 public:
  line_reader() : tty_(::isatty(STDIN_FILENO) != 0) {
    if (!tty_) return;
    using_history();
    stifle_history(1000);
    // HEARSAY_HISTORY names the file ("" keeps none); by default cli-history in the default
    // state folder, when that folder exists.
    if (const char* env = std::getenv("HEARSAY_HISTORY"); env != nullptr) {
      history_ = env;
    } else if (std::error_code ec; fs::is_directory(hearsay::net::default_state_dir(), ec)) {
      history_ = (hearsay::net::default_state_dir() / "cli-history").string();
    }
    if (!history_.empty()) static_cast<void>(read_history(history_.c_str()));
  }
  ~line_reader() {
    if (tty_ && !history_.empty()) static_cast<void>(write_history(history_.c_str()));
  }
  line_reader(const line_reader&) = delete;
  line_reader& operator=(const line_reader&) = delete;

  // The next line, or nothing at the end of the input (Ctrl-D).
  std::optional<std::string> read(const std::string& prompt) {
    if (!tty_) {
      std::printf("%s", prompt.c_str());
      std::fflush(stdout);
      std::string line;
      if (!std::getline(std::cin, line)) return std::nullopt;
      return line;
    }
    // Ctrl-C at the prompt drops the line being typed and gives a new prompt, as shells do;
    // it never ends the shell (q or Ctrl-D do).
    char* got = nullptr;
    {
      interrupt_scope scope;
      got = readline(prompt.c_str());
      if (got == nullptr && interrupted != 0) {
        std::printf("\n");
        return std::string();
      }
    }
    if (got == nullptr) return std::nullopt;
    std::string line(got);
    std::free(got);
    return line;
  }
  // Adds a line to the history (the up arrow brings it back), unless it repeats the last.
  void remember(const std::string& line) {
    if (!tty_ || line == last_) return;
    add_history(line.c_str());
    last_ = line;
  }

 private:
  bool tty_;
  std::string history_;
  std::string last_;
};

std::string trimmed(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

void print_menu(const options& opt) {
  std::printf("\nhearsay shell, node at %s\n", opt.control.c_str());
  int n = 0;
  for (const auto& c : commands) {
    if (std::string(c.name) == "shell") continue;
    std::printf("  %2d  %-10s %s\n", ++n, c.name, c.help);
  }
  std::printf("Type a number, or a command with its arguments (search holiday photos, fetch 2, share ~/notes.txt,\n"
              "--json status); help COMMAND shows its options; arrows and Ctrl-R recall earlier lines on a\n"
              "terminal; Ctrl-C stops a running command or clears the line; q or Ctrl-D leaves.\n");
  std::fflush(stdout);
}

// Runs a command line the shell read: a line as typed (words split at spaces, quotes keeping
// spaces in a word), or words. The shell's own options are the defaults, and the line's
// options apply to it alone.
template <typename... Args>
int run_line(const options& base, Args&&... args) {
  invocation inv;
  inv.opt = base;
  if (auto done = parse(inv, std::forward<Args>(args)...)) return *done;
  if (inv.command.empty() || inv.command == "shell") {
    std::printf("already in the shell\n");
    return exit_usage;
  }
  if (inv.command == "share") inv.file = expand_home(inv.file);
  return run(inv);
}

int shell(const options& base) {
  line_reader in;
  print_menu(base);
  std::vector<const command_spec*> menu;
  for (const auto& c : commands) {
    if (std::string(c.name) != "shell") menu.push_back(&c);
  }
  while (true) {
    const auto got = in.read("hearsay> ");
    if (!got) {
      std::printf("\n");
      return exit_ok;
    }
    const std::string line = trimmed(*got);
    if (line.empty()) continue;
    if (line == "q" || line == "quit" || line == "exit" || line == "0") return exit_ok;
    in.remember(line);
    if (line == "help" || line == "?" || line == "menu") {
      print_menu(base);
      continue;
    }
    if (line.rfind("help ", 0) == 0) {
      run_line(base, trimmed(line.substr(5)) + " --help");
      continue;
    }
    const bool number = std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!number) {
      run_line(base, line);
      continue;
    }
    const std::size_t k = line.size() <= 3 ? std::stoul(line) : 0;
    if (k < 1 || k > menu.size()) {
      std::printf("choose 1 to %zu, or q to leave\n", menu.size());
      continue;
    }
    const command_spec& c = *menu[k - 1];
    // argv as a program gets it; after "--" nothing is taken for an option.
    std::vector<std::string> words{"hearsay", c.name};
    if (c.ask != nullptr) {
      const auto arg = in.read(std::string(c.ask) + ": ");
      if (!arg) return exit_ok;
      const std::string value = trimmed(*arg);
      if (value.empty()) continue;
      words.push_back("--");
      // Search words are words; a file name or a number is one argument, spaces and all.
      if (std::string(c.name) == "search") {
        for (std::size_t at = 0; at < value.size();) {
          const auto space = std::min(value.find(' ', at), value.size());
          if (space > at) words.push_back(value.substr(at, space - at));
          at = space + 1;
        }
      } else {
        words.push_back(value);
      }
    }
    std::vector<const char*> argv;
    for (const auto& w : words) argv.push_back(w.c_str());
    run_line(base, static_cast<int>(argv.size()), argv.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  invocation inv;
  if (const char* env = std::getenv("HEARSAY_CONTROL"); env != nullptr && *env != '\0') inv.opt.control = env;
  if (const char* env = std::getenv("HEARSAY_TOKEN_FILE"); env != nullptr && *env != '\0') inv.opt.token_file = env;
  if (auto done = parse(inv, argc, argv)) return *done;
  return run(inv);
}

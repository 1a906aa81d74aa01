// hearsay: the command line for a running hearsay-node, over its local control endpoint.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "overlay/result.hpp"
#include "transport/control_client.hpp"
#include "transport/paths.hpp"
#include "transport/json.hpp"
#include "transport/text.hpp"

namespace {

using fields = std::map<std::string, std::string>;

struct options {
  // The node's unix socket in the default state folder; HEARSAY_CONTROL in the environment
  // overrides it, --control overrides both.
  std::string control = hearsay::net::control_socket_in(hearsay::net::default_state_dir()).string();
  // For a TCP endpoint: the file holding its token (default: control.token in the default
  // state folder; HEARSAY_TOKEN_FILE or --token-file override it).
  std::string token_file = hearsay::net::control_token_in(hearsay::net::default_state_dir()).string();
  int share_fd = -1;  // a share: the open file handed to the node
  bool json = false;
  long wait_ms = 3'000;
};

// "--wait" in seconds, whole or with up to three decimals ("3", "0.25"), from 0.001 to 120:
// milliseconds.
hearsay::result<long> parse_wait_ms(const std::string& text) {
  const hearsay::failure refused("--wait takes 0.001 to 120 seconds");
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

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: hearsay [--control ENDPOINT] [--token-file FILE] [--json] [--wait SECONDS] COMMAND [ARGS]\n"
               "Talks to a running hearsay-node over its control endpoint: the unix socket control.sock in\n"
               "the node's state folder (default ~/.local/state/hearsay/control.sock, or $HEARSAY_CONTROL),\n"
               "or host:port when the node is set up so, with the token from its control.token file\n"
               "(--token-file, or $HEARSAY_TOKEN_FILE).\n\n"
               "  search WORDS...       search the overlay; prints hits as they arrive for --wait SECONDS\n"
               "                        (default 3; decimals allowed, e.g. 0.5)\n"
               "  fetch SHA256|N        download a file: a result number of the last search, a sha256 or a\n"
               "                        unique prefix of one (8+ hex digits); --again fetches content\n"
               "                        already here; Ctrl-C cancels it unless --detach was given\n"
               "  downloads             running and recent downloads: bytes, speed, ETA, holders\n"
               "  cancel ID|all         cancel a running download (see downloads)\n"
               "  results               the numbered results of the last search\n"
               "  peers                 the node's active and passive views, with node ids\n"
               "  status                node id, address, uptime and counters\n"
               "  share FILE            copy FILE into the shared folder and share it\n"
               "  rescan                re-index the shared folder\n"
               "  shell                 an interactive menu (also when no command is given)\n\n"
               "  --json                print the node's JSON lines as they are, for scripts\n");
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

// What the plain (non-terminal) progress display printed last.
struct progress_state {
  int last_decile = -1;
  std::string holder;
};

// Prints one event (not the end event) for people.
std::string rate_text(const std::string& bytes_per_s) {
  return human_size(bytes_per_s) + "/s";
}

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

void show(const fields& f, const std::string& line, bool tty, progress_state& progress) {
  const std::string ev = f.count("event") ? f.at("event") : std::string();
  // Everything from the node may come from a remote peer: escaped before it is printed.
  auto get = [&](const char* k) { return f.count(k) ? hearsay::net::printable(f.at(k)) : std::string(); };
  if (ev == "hit") {
    std::printf("%3s. %-40s %10s  sha256 %.12s  %s holder%s", get("n").c_str(), get("name").c_str(),
                human_size(get("size")).c_str(), get("sha256").c_str(), get("holders").c_str(),
                get("holders") == "1" ? "" : "s");
    if (f.count("holder")) {
      std::printf("  from %s, %s hop%s, %s ms", get("holder").c_str(), get("hops").c_str(),
                  get("hops") == "1" ? "" : "s", get("latency_ms").c_str());
    }
    std::printf("\n");
  } else if (ev == "progress") {
    const double done = std::atof(get("bytes").c_str()), total = std::max(1.0, std::atof(get("size").c_str()));
    const int pct = std::clamp(static_cast<int>(100.0 * done / total), 0, 100);
    const std::string holders = get("holders") + " holder" + (get("holders") == "1" ? "" : "s");
    if (tty) {
      const int width = 24, filled = pct * width / 100;
      std::printf("\r[%s%s] %3d%% %s of %s  %s  ETA %s  %s   ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                  std::string(static_cast<std::size_t>(width - filled), '.').c_str(), pct,
                  human_size(get("bytes")).c_str(), human_size(get("size")).c_str(), rate_text(get("rate")).c_str(),
                  eta_text(get("eta_s")).c_str(), holders.c_str());
      std::fflush(stdout);
    } else if (pct / 10 != progress.last_decile || get("holder") != progress.holder) {
      // Not a terminal (a log, a pipe): a plain line per 10 % and per change of holder.
      progress.last_decile = pct / 10;
      progress.holder = get("holder");
      std::printf("%3d%% %s of %s, %s, ETA %s, %s\n", pct, human_size(get("bytes")).c_str(),
                  human_size(get("size")).c_str(), rate_text(get("rate")).c_str(), eta_text(get("eta_s")).c_str(),
                  holders.c_str());
      std::fflush(stdout);
    }
  } else if (ev == "download") {
    std::printf("%4s  %-9s %-36s %10s of %-10s %12s  ETA %-8s %s/%s holders%s%s\n", get("id").c_str(), get("state").c_str(),
                get("name").substr(0, 36).c_str(), human_size(get("bytes")).c_str(), human_size(get("size")).c_str(),
                rate_text(get("rate")).c_str(), eta_text(get("eta_s")).c_str(), get("holders").c_str(),
                get("holders_known").c_str(), f.count("path") ? ("  " + get("path")).c_str() : "",
                f.count("error") ? ("  " + get("error")).c_str() : "");
  } else if (ev == "peer") {
    // The id's first 16 hex digits tell peers apart; --json gives the whole id.
    const std::string id = get("id").empty() ? "(not yet proven)" : get("id").substr(0, 16);
    std::printf("%-8s %-16s  %s\n", get("view").c_str(), id.c_str(), get("addr").c_str());
  } else if (ev == "status") {
    // In the node's order (address and uptime first), not alphabetically.
    const auto ordered = hearsay::net::json::parse_flat_ordered(line);
    if (!ordered) return;  // not after the client has read the same line
    for (const auto& [k, v] : *ordered) {
      if (k != "event") std::printf("%-22s %s\n", k.c_str(), v.c_str());
    }
  } else if (ev == "warning") {
    std::printf("warning: %s\n", get("text").c_str());
  }
}

// Sends one request and prints the answer; the exit status follows the end event's "ok".
int request(const options& opt, const std::string& line) {
  hearsay::net::control_client client;
  auto failed = [](const hearsay::failure& f) {
    std::fprintf(stderr, "hearsay: %s\n", f.what().c_str());
    return 1;
  };
  if (auto connected = client.connect(opt.control); !connected) return failed(connected.error());
  if (!hearsay::net::is_unix_socket_path(opt.control)) {
    // A TCP endpoint wants its token first.
    std::ifstream in(opt.token_file);
    std::string token;
    if (!(in >> token)) {
      std::fprintf(stderr, "hearsay: the TCP control endpoint %s needs its token: cannot read %s (--token-file)\n",
                   opt.control.c_str(), opt.token_file.c_str());
      return 1;
    }
    if (auto accepted = client.authenticate(token); !accepted) return failed(accepted.error());
  }
  const bool tty = ::isatty(STDOUT_FILENO) != 0 && !opt.json;
  bool progress_shown = false;
  progress_state progress;
  auto answered = client.request(
      line,
      [&](const fields& f, const std::string& text) {
        if (f.count("event") && f.at("event") == "send-fd") {
          // The node asks for the file being shared: it gets the open file, not a path.
          if (opt.share_fd < 0) {
            std::fprintf(stderr, "hearsay: no file to hand over\n");
          } else if (auto sent = client.send_fd(opt.share_fd); !sent) {
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
  if (!answered) return failed(answered.error());
  fields& end = *answered;
  const bool ok = end["ok"] == "true";
  if (!opt.json) {
    using hearsay::net::printable;
    if (!ok) {
      std::fprintf(stderr, "hearsay: %s\n", printable(end["error"]).c_str());
    } else if (end.count("detached")) {
      std::printf("download %s runs on in the node (hearsay downloads shows it)\n", end["id"].c_str());
    } else if (end.count("path") && end["existing"] == "true") {
      std::printf("already here: %s (%s); --again fetches it anyway\n", printable(end["path"]).c_str(),
                  human_size(end["size"]).c_str());
    } else if (end.count("path")) {
      std::printf("saved %s (%s, sha256 verified)\n", printable(end["path"]).c_str(), human_size(end["size"]).c_str());
    } else if (end.count("cancelled")) {
      std::printf("cancelled %s download%s\n", end["cancelled"].c_str(), end["cancelled"] == "1" ? "" : "s");
    } else if (end.count("results")) {
      std::printf("%s result%s\n", end["results"].c_str(), end["results"] == "1" ? "" : "s");
    } else if (end.count("files")) {
      std::printf("sharing %s file%s\n", end["files"].c_str(), end["files"] == "1" ? "" : "s");
    }
  }
  return ok ? 0 : 1;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

int run_command(const options& opt, const std::string& cmd, const std::vector<std::string>& rest) {
  namespace json = hearsay::net::json;
  if (cmd == "search") {
    if (rest.empty()) {
      std::fprintf(stderr, "hearsay: search needs words\n");
      return 2;
    }
    return request(opt, json::line({{"cmd", "search"}, {"words", join(rest)}, {"wait_ms", opt.wait_ms}}));
  }
  if (cmd == "fetch") {
    std::vector<std::string> targets;
    bool again = false, detach = false;
    for (const auto& a : rest) {
      if (a == "--again") {
        again = true;
      } else if (a == "--detach") {
        detach = true;
      } else {
        targets.push_back(a);
      }
    }
    if (targets.size() != 1) {
      std::fprintf(stderr, "hearsay: fetch needs one result number or digest (and --again, --detach)\n");
      return 2;
    }
    if (!detach) {
      // Ctrl-C: the connection closes with the process, and the node cancels the download
      // (unless another foreground caller watches it too).
      std::signal(SIGINT, [](int) {
        static const char text[] = "\nhearsay: interrupted; the download is cancelled (fetch --detach leaves it running)\n";
        static_cast<void>(::write(STDERR_FILENO, text, sizeof text - 1));
        ::_exit(130);
      });
    }
    return request(opt, json::line({{"cmd", "fetch"}, {"target", targets[0]}, {"again", again}, {"detach", detach}}));
  }
  if (cmd == "cancel") {
    if (rest.size() != 1) {
      std::fprintf(stderr, "hearsay: cancel needs a download number (see hearsay downloads) or 'all'\n");
      return 2;
    }
    return request(opt, json::line({{"cmd", "cancel"}, {"id", rest[0]}}));
  }
  if (cmd == "share") {
    if (rest.size() != 1) {
      std::fprintf(stderr, "hearsay: share needs one file\n");
      return 2;
    }
    // Opened here, with the rights of whoever runs the command, and handed to the node open:
    // the node never opens a path on a caller's behalf.
    const int fd = ::open(rest[0].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "hearsay: cannot open %s: %s\n", rest[0].c_str(), std::strerror(errno));
      return 1;
    }
    options with_file = opt;
    with_file.share_fd = fd;
    const std::string name = std::filesystem::path(rest[0]).filename().string();
    const int rc = request(with_file, json::line({{"cmd", "share"}, {"name", name}}));
    ::close(fd);
    return rc;
  }
  if (cmd == "peers" || cmd == "status" || cmd == "rescan" || cmd == "results" || cmd == "downloads") {
    return request(opt, json::line({{"cmd", cmd}}));
  }
  std::fprintf(stderr, "hearsay: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}

// The original system's menu, for people who prefer it.
int shell(const options& opt) {
  while (true) {
    std::printf("\nhearsay — node %s\n  1. search\n  2. fetch\n  3. downloads\n  4. cancel a download\n  5. peers\n"
                "  6. status\n  7. rescan\n  0. quit\n> ",
                opt.control.c_str());
    std::fflush(stdout);
    std::string choice;
    if (!std::getline(std::cin, choice) || choice == "0" || choice == "q") return 0;
    std::string arg;
    if (choice == "1" || choice == "2" || choice == "4") {
      std::printf(choice == "1" ? "words: " : choice == "2" ? "result number or sha256: " : "download number or all: ");
      std::fflush(stdout);
      if (!std::getline(std::cin, arg)) return 0;
    }
    if (choice == "1") run_command(opt, "search", {arg});
    else if (choice == "2") run_command(opt, "fetch", {arg, "--detach"});
    else if (choice == "3") run_command(opt, "downloads", {});
    else if (choice == "4") run_command(opt, "cancel", {arg});
    else if (choice == "5") run_command(opt, "peers", {});
    else if (choice == "6") run_command(opt, "status", {});
    else if (choice == "7") run_command(opt, "rescan", {});
    else std::printf("choose 0 to 7\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  if (const char* env = std::getenv("HEARSAY_CONTROL"); env != nullptr && *env != '\0') opt.control = env;
  if (const char* env = std::getenv("HEARSAY_TOKEN_FILE"); env != nullptr && *env != '\0') opt.token_file = env;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--json") {
      opt.json = true;
    } else if ((a == "--control" || a == "--wait" || a == "--token-file") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--control") {
        opt.control = v;
      } else if (a == "--token-file") {
        opt.token_file = v;
      } else {
        const auto wait = parse_wait_ms(v);
        if (!wait) {
          std::fprintf(stderr, "hearsay: %s\n", wait.error().what().c_str());
          return 2;
        }
        opt.wait_ms = *wait;
      }
    } else if (a.rfind("--", 0) == 0 && positional.empty()) {
      std::fprintf(stderr, "hearsay: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty() || positional[0] == "shell") return shell(opt);
  return run_command(opt, positional[0], {positional.begin() + 1, positional.end()});
}

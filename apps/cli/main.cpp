// hearsay: the command line for a running hearsay-node, over its local control endpoint.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "overlay/types.hpp"
#include "transport/json.hpp"

namespace {

using fields = std::map<std::string, std::string>;

struct options {
  std::string control = "127.0.0.1:7001";
  bool json = false;
  int wait_s = 3;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: hearsay [--control ADDR] [--json] COMMAND [ARGS]\n"
               "Talks to a running hearsay-node (default control endpoint 127.0.0.1:7001).\n\n"
               "  search WORDS...       search the overlay; prints hits as they arrive (--wait SECONDS, default 3)\n"
               "  fetch SHA256|N        download a file: a digest, or a result number of the last search\n"
               "  results               the numbered results of the last search\n"
               "  peers                 the node's active and passive views\n"
               "  status                address, uptime and counters\n"
               "  share FILE            copy FILE into the shared folder and share it\n"
               "  rescan                re-index the shared folder\n"
               "  shell                 an interactive menu (also when no command is given)\n\n"
               "  --json                print the node's JSON lines as they are, for scripts\n");
}

class connection {
 public:
  bool open(const std::string& addr_text, std::string& error) {
    auto addr = hearsay::peer_addr::parse(addr_text);
    if (!addr || !addr->is_ipv4()) {
      error = "bad control address '" + addr_text + "'";
      return false;
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(addr->port);
    sa.sin_addr.s_addr = htonl(addr->ipv4());
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      error = "cannot reach a node at " + addr_text + ": " + std::strerror(errno) + " (is hearsay-node running?)";
      return false;
    }
    return true;
  }
  ~connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool send_line(const std::string& line) {
    const std::string data = line + "\n";
    std::size_t at = 0;
    while (at < data.size()) {
      const auto n = ::send(fd_, data.data() + at, data.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool read_line(std::string& line) {
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return true;
      }
      char chunk[4096];
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

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

// Prints one event for people; returns false on the end event.
void show(const fields& f, bool tty) {
  const std::string& ev = f.count("event") ? f.at("event") : "";
  auto get = [&](const char* k) { return f.count(k) ? f.at(k) : std::string(); };
  if (ev == "hit") {
    std::printf("%3s. %-40s %10s  sha256 %.12s  %s holder%s", get("n").c_str(), get("name").c_str(),
                human_size(get("size")).c_str(), get("sha256").c_str(), get("holders").c_str(),
                get("holders") == "1" ? "" : "s");
    if (f.count("holder")) {
      std::printf("  from %s, %s hops, %s ms", get("holder").c_str(), get("hops").c_str(), get("latency_ms").c_str());
    }
    std::printf("\n");
  } else if (ev == "progress") {
    const double done = std::atof(get("bytes").c_str()), total = std::max(1.0, std::atof(get("size").c_str()));
    const int pct = static_cast<int>(100.0 * done / total);
    if (tty) {
      const int width = 30, filled = pct * width / 100;
      std::printf("\r[%s%s] %3d%% %s of %s from %s   ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                  std::string(static_cast<std::size_t>(width - filled), '.').c_str(), pct,
                  human_size(get("bytes")).c_str(), human_size(get("size")).c_str(), get("holder").c_str());
      std::fflush(stdout);
    }
  } else if (ev == "peer") {
    std::printf("%-8s %s\n", get("view").c_str(), get("addr").c_str());
  } else if (ev == "status") {
    for (const auto& [k, v] : f) {
      if (k != "event") std::printf("%-22s %s\n", k.c_str(), v.c_str());
    }
  } else if (ev == "warning") {
    std::printf("warning: %s\n", get("text").c_str());
  }
}

// Sends one request and prints the answer; the exit status follows the end event's "ok".
int request(const options& opt, const std::string& line) {
  connection c;
  std::string error;
  if (!c.open(opt.control, error)) {
    std::fprintf(stderr, "hearsay: %s\n", error.c_str());
    return 1;
  }
  if (!c.send_line(line)) {
    std::fprintf(stderr, "hearsay: the node closed the connection\n");
    return 1;
  }
  const bool tty = ::isatty(STDOUT_FILENO) != 0 && !opt.json;
  bool progress_shown = false;
  std::string reply;
  while (c.read_line(reply)) {
    if (opt.json) {
      std::printf("%s\n", reply.c_str());
      std::fflush(stdout);
    }
    fields f;
    if (!hearsay::net::json::parse_flat(reply, f, error)) {
      std::fprintf(stderr, "hearsay: unreadable reply: %s\n", error.c_str());
      return 1;
    }
    if (f["event"] == "progress") progress_shown = true;
    if (f["event"] != "end") {
      if (!opt.json) show(f, tty);
      continue;
    }
    if (progress_shown && tty) std::printf("\n");
    const bool ok = f["ok"] == "true";
    if (!opt.json) {
      if (!ok) {
        std::fprintf(stderr, "hearsay: %s\n", f["error"].c_str());
      } else if (f.count("path")) {
        std::printf("saved %s (%s, sha256 verified)\n", f["path"].c_str(), human_size(f["size"]).c_str());
      } else if (f.count("results")) {
        std::printf("%s result%s\n", f["results"].c_str(), f["results"] == "1" ? "" : "s");
      } else if (f.count("files")) {
        std::printf("sharing %s files\n", f["files"].c_str());
      }
    }
    return ok ? 0 : 1;
  }
  std::fprintf(stderr, "hearsay: the node closed the connection before answering\n");
  return 1;
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
    return request(opt, "{\"cmd\":\"search\",\"words\":" + json::quote(join(rest)) +
                            ",\"wait_ms\":" + std::to_string(opt.wait_s * 1000) + "}");
  }
  if (cmd == "fetch") {
    if (rest.size() != 1) {
      std::fprintf(stderr, "hearsay: fetch needs one digest or result number\n");
      return 2;
    }
    return request(opt, "{\"cmd\":\"fetch\",\"target\":" + json::quote(rest[0]) + "}");
  }
  if (cmd == "share") {
    if (rest.size() != 1) {
      std::fprintf(stderr, "hearsay: share needs one file\n");
      return 2;
    }
    char resolved[PATH_MAX];
    const std::string path = ::realpath(rest[0].c_str(), resolved) ? resolved : rest[0];
    return request(opt, "{\"cmd\":\"share\",\"path\":" + json::quote(path) + "}");
  }
  if (cmd == "peers" || cmd == "status" || cmd == "rescan" || cmd == "results") {
    return request(opt, "{\"cmd\":\"" + cmd + "\"}");
  }
  std::fprintf(stderr, "hearsay: unknown command '%s'\n", cmd.c_str());
  usage(stderr);
  return 2;
}

// The original system's menu, for people who prefer it.
int shell(const options& opt) {
  while (true) {
    std::printf("\nhearsay — node %s\n  1. search\n  2. fetch\n  3. peers\n  4. status\n  5. rescan\n  0. quit\n> ",
                opt.control.c_str());
    std::fflush(stdout);
    std::string choice;
    if (!std::getline(std::cin, choice) || choice == "0" || choice == "q") return 0;
    std::string arg;
    if (choice == "1" || choice == "2") {
      std::printf(choice == "1" ? "words: " : "result number or sha256: ");
      std::fflush(stdout);
      if (!std::getline(std::cin, arg)) return 0;
    }
    if (choice == "1") run_command(opt, "search", {arg});
    else if (choice == "2") run_command(opt, "fetch", {arg});
    else if (choice == "3") run_command(opt, "peers", {});
    else if (choice == "4") run_command(opt, "status", {});
    else if (choice == "5") run_command(opt, "rescan", {});
    else std::printf("choose 0 to 5\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (a == "--json") {
      opt.json = true;
    } else if ((a == "--control" || a == "--wait") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--control") {
        opt.control = v;
      } else {
        opt.wait_s = std::atoi(v.c_str());
        if (opt.wait_s < 1 || opt.wait_s > 120) {
          std::fprintf(stderr, "hearsay: --wait takes 1 to 120 seconds\n");
          return 2;
        }
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

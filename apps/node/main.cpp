// hearsay-node: a peer of the hearsay overlay, for a laptop or an EC2 instance.

#include <asio.hpp>
#include <cstdio>
#include <filesystem>

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>
#include <optional>
#include <string>
#include <vector>

#include "apps/command_line.hpp"
#include "apps/node/check.hpp"
#include "apps/node/settings.hpp"
#include "transport/control.hpp"
#include "transport/control_client.hpp"
#include "transport/endpoint.hpp"
#include "apps/node/web.hpp"
#include "transport/metrics.hpp"
#include "transport/net_node.hpp"

namespace {

// A folder only its owner may enter (0700), created if missing, tightened if it exists. A
// failure is the system's error code; the caller says which folder it was.
hearsay::result<> make_private_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && ::chmod(dir.c_str(), S_IRWXU) != 0) ec.assign(errno, std::generic_category());
  return hearsay::check(ec);
}

// A fresh random token for a TCP control endpoint, written owner-only (0600), replacing the
// last one: a client needs the file, which only the node's user can read. Returns the token.
hearsay::result<std::string> make_token(const std::filesystem::path& file) {
  const std::string context = "cannot write the control token " + file.string();
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return hearsay::failure(std::make_error_code(std::errc::io_error), context);
  static constexpr char digits[] = "0123456789abcdef";
  std::string token;
  for (unsigned char c : raw) {
    token += digits[c >> 4];
    token += digits[c & 15];
  }
  const std::filesystem::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return hearsay::failure(std::error_code(errno, std::generic_category()), context);
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    return hearsay::failure(std::error_code(errno ? errno : EIO, std::generic_category()), context);
  }
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hearsay;
  CLI::App command_line(
      "Runs a hearsay peer: joins the overlay through its seeds, shares a folder, answers searches and serves "
      "files. Control it with the `hearsay` command. With no settings at all it starts with its folders under "
      "the user's home, made on first start.",
      "hearsay-node");
  apps::configure(command_line);
  app::add_flags(command_line);
  command_line.footer(
      "Settings: a TOML file (--config; every key in apps/node/hearsay.example.toml), then the flags in the order "
      "given.\nExit status: 0 (stopped by SIGINT or SIGTERM, or --check found nothing wrong); 1 when the node "
      "cannot start, or --check finds a folder, port or seed it could not use; 2 for a bad flag, settings file "
      "or value.");
  const auto parsed = apps::parse(command_line, {argv + 1, argv + argc});
  if (!parsed) return apps::refuse(command_line, parsed.error());
  if (*parsed == apps::parsed::help_printed) return 0;
  const bool check_only = command_line.get_option("--check")->count() > 0;
  app::node_settings settings;
  auto refuse = [](const failure& f) {
    std::fprintf(stderr, "hearsay-node: %s\n", f.what().c_str());
    return 2;
  };
  for (const auto& file : command_line.get_option("--config")->results()) {
    if (auto loaded = app::load_settings_file(file, settings); !loaded) return refuse(loaded.error());
  }
  if (auto applied = app::apply_flags(command_line, settings); !applied) return refuse(applied.error());
  if (auto valid = app::validate(settings); !valid) return refuse(valid.error());
  if (auto resolved = app::resolve_paths(settings); !resolved) return refuse(resolved.error());
  if (check_only) {
    const auto problems = app::check_ready(settings);
    for (const auto& p : problems) std::fprintf(stderr, "hearsay-node: %s\n", p.c_str());
    if (!problems.empty()) return 1;
    std::printf("settings are valid and the node can start: listen %s, %zu seed(s) resolved, state %s, shared %s, "
                "downloads %s\n",
                settings.net.listen.to_string().c_str(), settings.seeds.size(), settings.state_dir.c_str(),
                settings.net.shared_dir.c_str(), settings.net.download_dir.c_str());
    return 0;
  }

  net::logger log(settings.log_level);
  asio::io_context io;
  // The state folder is the node's own: owner-only.
  if (auto made = make_private_folder(settings.state_dir); !made) {
    log.error("{}", made.error().prefix("cannot create the state folder " + settings.state_dir.string()).what());
    return 1;
  }
  // The default shared folder is made on first start; one that was named must exist.
  std::error_code shared_ec;
  if (!settings.shared_dir_is_default && !std::filesystem::is_directory(settings.net.shared_dir, shared_ec)) {
    const bool exists = std::filesystem::exists(settings.net.shared_dir, shared_ec);
    log.error("shared folder {}: {}", settings.net.shared_dir.string(),
              shared_ec ? shared_ec.message() : exists ? "not a folder" : "does not exist");
    return 1;
  }
  for (const auto& dir : {settings.net.shared_dir, settings.net.download_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      log.error("cannot create the folder {}: {}", dir.string(), ec.message());
      return 1;
    }
  }
  std::string control_token;
  if (!net::is_unix_socket_path(settings.control)) {
    auto token = make_token(settings.control_token_file);
    if (!token) {
      log.error("{}", token.error().what());
      return 1;
    }
    control_token = std::move(*token);
  }

  // Seeds may be host names (e.g. an Elastic IP's DNS name): resolve them once at start.
  asio::ip::tcp::resolver resolver(io);
  for (const auto& s : settings.seeds) {
    // Checked when the settings were read.
    const auto seed = app::split_host_port(s);
    if (!seed) continue;
    std::error_code ec;
    const auto found = resolver.resolve(seed->host, std::to_string(seed->port), ec);
    if (ec || found.empty()) {
      log.warn("seed {}: cannot resolve ({}); skipped", s, ec.message());
      continue;
    }
    // One address per seed, IPv4 first: a name with both kinds of records usually reaches
    // the same host either way, and listing it twice would only bias the choice of seed.
    std::optional<peer_addr> pick;
    for (const auto& entry : found) {
      const auto a = net::from_endpoint(entry.endpoint());
      if (!pick || (a.is_ipv4() && !pick->is_ipv4())) pick = a;
    }
    if (pick) settings.net.overlay.seeds.push_back(*pick);
  }
  if (!settings.seeds.empty() && settings.net.overlay.seeds.empty()) {
    log.error("no seed could be resolved; starting alone");
  }

  net::net_node node(io, settings.net, log);
  if (auto started = node.start(); !started) {
    log.error("cannot start: {} (listen {}, shared {}, downloads {})", started.error().what(), settings.net.listen,
              settings.net.shared_dir.string(), settings.net.download_dir.string());
    return 1;
  }
  net::control_server control(io, node, log);
  if (auto opened = control.start(settings.control, control_token); !opened) {
    log.error("{}", opened.error().what());
    return 1;
  }
  if (control_token.empty()) {
    log.info("control endpoint on {} (owner only)", settings.control);
  } else {
    log.info("control endpoint on {} (token in {})", settings.control, settings.control_token_file.string());
  }
  net::metrics_server metrics(io, node, log);
  if (!settings.metrics.empty()) {
    if (auto opened = metrics.start(*peer_addr::parse(settings.metrics)); !opened) {
      log.error("{}", opened.error().what());
      return 1;
    }
    log.info("health and metrics on http://{}/health and /metrics", settings.metrics);
  }

  // The web interface: a client of the control endpoint, on threads of its own.
  std::unique_ptr<app::web_ui> web;
  if (settings.web_enabled) {
    const auto where = peer_addr::parse(settings.web_listen, 0, true);  // checked when the settings were read
    std::string host = where->to_string();
    host.erase(host.rfind(':'));
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    app::web_options w;
    w.host = host;
    w.port = where->port;
    w.control = settings.control;
    w.control_token = control_token;
    w.state_dir = settings.state_dir;
    web = std::make_unique<app::web_ui>(std::move(w), log);
    if (auto opened = web->start(); !opened) {
      log.error("{} (web.enabled = false turns it off)", opened.error().what());
      return 1;
    }
    log.info("web interface on port {}: open the link `hearsay webui-url` prints", web->port());
    control.set_web_login([&web] { return web->login_url(); });
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    log.info("received {}, leaving the overlay", sig == SIGINT ? "SIGINT" : "SIGTERM");
    // The control endpoint closes first: the web interface's requests waiting on it end, and
    // its threads can be joined here, on the io thread that served them.
    control.stop();
    if (web) web->stop();
    metrics.stop();
    node.stop([&] { io.stop(); });
  });
  io.run();
  log.info("stopped");
  return 0;
}

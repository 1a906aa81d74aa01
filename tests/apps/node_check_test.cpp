// hearsay-node's command line and --check: flags in order, a TOML syntax error shown with its
// line and column, and each thing the check looks at (folders, endpoints, seeds) named when it
// fails.

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/command_line.hpp"
#include "apps/node/check.hpp"
#include "apps/node/settings.hpp"

using namespace hearsay;
using hearsay::app::node_settings;
namespace fs = std::filesystem;

namespace {

// Settings whose folders all lie in a fresh folder, with endpoints on free loopback ports.
struct sandbox {
  fs::path dir;
  node_settings s;
  sandbox() {
    // One per process: ctest runs test cases side by side.
    dir = fs::absolute("node-check-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "shared");
    s.state_dir = dir / "state";
    s.net.shared_dir = dir / "shared";
    s.net.download_dir = dir / "downloads";
    s.net.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
    s.metrics.clear();
    s.web_listen = "127.0.0.1:0";
    REQUIRE(app::resolve_paths(s));
  }
  ~sandbox() { fs::remove_all(dir); }
  std::vector<std::string> problems() const { return app::check_ready(s); }
};

// The one problem found, or a note that there were none or several.
std::string only_problem(const std::vector<std::string>& problems) {
  if (problems.size() == 1) return problems[0];
  std::string all = std::to_string(problems.size()) + " problems:";
  for (const auto& p : problems) all += " [" + p + "]";
  return all;
}

}  // namespace

TEST_CASE("node flags apply in the order given, after the files, and each is in the help", "[apps]") {
  node_settings s;
  REQUIRE(app::apply_flags({"--listen", "127.0.0.1:7100", "--set", "listen=127.0.0.1:7200", "--network=lab",
                            "--random-seed", "5", "--state", "/srv/h", "--check"},
                           s));
  CHECK(s.net.listen.to_string() == "127.0.0.1:7200");
  CHECK(s.net.network == "lab");
  CHECK(s.net.seed == 5);
  CHECK(s.state_dir == "/srv/h");
  const auto refused = [](const std::vector<std::string>& args) {
    node_settings t;
    const auto applied = app::apply_flags(args, t);
    return applied ? std::string() : applied.error().what();
  };
  CHECK(refused({"--listen"}) == "--listen needs a value");
  CHECK(refused({"--check=yes"}) == "--check takes no value");
  CHECK(refused({"stray"}) == "unexpected argument 'stray'");
  CHECK(refused({"--metrics", "nowhere"}).rfind("--metrics: ", 0) == 0);

  CLI::App command_line("", "hearsay-node");
  apps::configure(command_line);
  app::add_flags(command_line);
  const std::string help = command_line.help();
  for (const char* flag : {"--config", "--listen", "--advertise", "--seed", "--shared", "--downloads", "--state",
                           "--control", "--network", "--metrics", "--log-level", "--random-seed", "--set", "--check",
                           "--help"}) {
    INFO(flag);
    CHECK(help.find(std::string(flag) + " ") != std::string::npos);
  }
}

TEST_CASE("a TOML syntax error shows file:line:col, the line, and a caret under the column", "[apps]") {
  node_settings s;
  const auto bad = app::load_settings_text("network = \"lab\"\n\tlisten = 127.0.0.1:7000\n", "bad.toml", s);
  REQUIRE_FALSE(bad);
  const std::string what = bad.error().what();
  INFO(what);
  CHECK(what.rfind("bad.toml:2:13: ", 0) == 0);
  CHECK(what.find("\n  \tlisten = 127.0.0.1:7000\n  \t           ^") != std::string::npos);
  // A character of several bytes before the error is one column.
  const auto accented = app::load_settings_text("network = \"é\" x\n", "bad.toml", s);
  REQUIRE_FALSE(accented);
  INFO(accented.error().what());
  CHECK(accented.error().what().find("\n  network = \"é\" x\n                ^") != std::string::npos);
  // Errors of keys and values keep file:line.
  const auto unknown = app::load_settings_text("lisen = \"x\"\n", "bad.toml", s);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().what() == "bad.toml:1: unknown key 'lisen'");
  // A file that cannot be read is named, and so is one with a syntax error.
  const auto folder = app::load_settings_file("/", s);
  REQUIRE_FALSE(folder);
  CHECK(folder.error().what() == "cannot read /: Is a directory");
  const fs::path file = fs::absolute("node-check-syntax-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file) << "[overlay\nfanout = 3\n";
  const auto from_file = app::load_settings_file(file.string(), s);
  REQUIRE_FALSE(from_file);
  CHECK(from_file.error().what().rfind(file.string() + ":1:", 0) == 0);
  CHECK(from_file.error().what().find("\n  [overlay\n") != std::string::npos);
  fs::remove(file);
}

TEST_CASE("hearsay-node --check passes usable settings and leaves nothing behind", "[apps]") {
  sandbox box;
  CHECK(box.problems().empty());
  // The state and download folders did not exist: made to try them, and removed again.
  CHECK_FALSE(fs::exists(box.s.state_dir));
  CHECK_FALSE(fs::exists(box.s.net.download_dir));
  // Missing parents too.
  box.s.net.download_dir = box.dir / "a" / "b" / "downloads";
  CHECK(box.problems().empty());
  CHECK_FALSE(fs::exists(box.dir / "a"));
  CHECK(fs::exists(box.dir / "shared"));
}

TEST_CASE("hearsay-node --check names each folder it could not use", "[apps]") {
  sandbox box;
  std::ofstream(box.dir / "a-file") << "x";
  SECTION("a shared folder that was named must exist") {
    box.s.net.shared_dir = box.dir / "sahred";
    CHECK(only_problem(box.problems()) == "shared_dir " + (box.dir / "sahred").string() +
                                              ": does not exist (create it, or leave shared_dir out for the default "
                                              "folder)");
  }
  SECTION("the default shared folder may be made") {
    box.s.net.shared_dir = box.dir / "default-shared";
    box.s.shared_dir_is_default = true;
    CHECK(box.problems().empty());
  }
  SECTION("a shared folder that is a file") {
    box.s.net.shared_dir = box.dir / "a-file";
    CHECK(only_problem(box.problems()) == "shared_dir " + (box.dir / "a-file").string() + ": is not a folder");
  }
  SECTION("a download folder that is a file") {
    box.s.net.download_dir = box.dir / "a-file";
    CHECK(only_problem(box.problems()) == "download_dir " + (box.dir / "a-file").string() + ": is not a folder");
  }
  SECTION("a download folder that cannot be made") {
    box.s.net.download_dir = box.dir / "a-file" / "downloads";
    CHECK(only_problem(box.problems()).rfind("download_dir " + box.s.net.download_dir.string() + ": cannot be created (",
                                             0) == 0);
  }
  SECTION("a download folder that cannot be written (a read-only file system)") {
    box.s.net.download_dir = "/proc/self";
    CHECK(only_problem(box.problems()).rfind("download_dir /proc/self: not writable (", 0) == 0);
  }
  SECTION("a state folder that cannot be made") {
    box.s.state_dir = box.dir / "a-file" / "state";
    box.s.control = (box.dir / "control.sock").string();
    CHECK(only_problem(box.problems()).rfind("state_dir " + box.s.state_dir.string() + ": cannot be created (", 0) == 0);
  }
}

TEST_CASE("hearsay-node --check names each endpoint that cannot be bound, and each seed that does not resolve", "[apps]") {
  sandbox box;
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string busy = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  SECTION("listen") {
    box.s.net.listen = *peer_addr::parse(busy, 0, true);
    CHECK(only_problem(box.problems()).rfind("listen " + busy + ": cannot be bound (", 0) == 0);
  }
  SECTION("metrics") {
    box.s.metrics = busy;
    CHECK(only_problem(box.problems()).rfind("metrics " + busy + ": cannot be bound (", 0) == 0);
  }
  SECTION("the web interface, when it is on") {
    box.s.web_listen = busy;
    CHECK(only_problem(box.problems()).rfind("web.listen " + busy + ": cannot be bound (", 0) == 0);
    box.s.web_enabled = false;
    CHECK(box.problems().empty());
  }
  SECTION("a TCP control endpoint") {
    box.s.control = busy;
    CHECK(only_problem(box.problems()).rfind("control " + busy + ": cannot be bound (", 0) == 0);
  }
  SECTION("a unix control socket a node answers on") {
    fs::create_directories(box.s.state_dir);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, box.s.control.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    CHECK(only_problem(box.problems()) == "control " + box.s.control + ": is in use: a node is already running with it");
    ::close(fd);
    // A socket file left by a node that stopped is no obstacle.
    CHECK(box.problems().empty());
  }
  SECTION("seeds") {
    box.s.seeds = {"127.0.0.1:7000", "no-such-host.invalid:7000"};
    CHECK(only_problem(box.problems()).rfind("seeds no-such-host.invalid:7000: cannot be resolved (", 0) == 0);
  }
}

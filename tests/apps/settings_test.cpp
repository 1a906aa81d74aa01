// hearsay-node settings: defaults, every key of the example file, errors with file:line, flags.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "apps/node/settings.hpp"

using namespace hearsay;
using hearsay::app::node_settings;

TEST_CASE("defaults are complete and valid", "[apps]") {
  node_settings s;
  CHECK(app::validate(s));
  CHECK(s.net.listen.to_string() == "0.0.0.0:7000");
  CHECK(s.net.advertise.is_unspecified());
  CHECK(s.control.empty());  // the unix socket in the state folder, once resolved
  CHECK(s.net.network == "hearsay");
  CHECK(s.seeds.empty());
}

TEST_CASE("folders left to their defaults resolve under the user's XDG folders", "[apps]") {
  const char* saved_home = std::getenv("HOME");
  const std::string home = saved_home == nullptr ? "" : saved_home;
  ::setenv("HOME", "/home/alice", 1);
  ::unsetenv("XDG_STATE_HOME");
  ::setenv("XDG_DATA_HOME", "/data/alice", 1);
  node_settings s;
  REQUIRE(app::resolve_paths(s));
  CHECK(s.state_dir == "/home/alice/.local/state/hearsay");
  CHECK(s.net.shared_dir == "/data/alice/hearsay/shared");
  CHECK(s.net.download_dir == "/data/alice/hearsay/downloads");
  CHECK(s.net.peers_file == "/home/alice/.local/state/hearsay/peers.txt");
  CHECK(s.control == "/home/alice/.local/state/hearsay/control.sock");
  CHECK(s.control_token_file == "/home/alice/.local/state/hearsay/control.token");
  // Given folders are kept; a TCP endpoint keeps its token in the state folder.
  node_settings given;
  REQUIRE(app::load_settings_text("state_dir = \"/srv/h\"\nshared_dir = \"/srv/files\"\ncontrol = \"127.0.0.1:7001\"\n"
                                  "peers_file = \"\"\n", "t.toml", given));
  REQUIRE(app::resolve_paths(given));
  CHECK(given.net.shared_dir == "/srv/files");
  CHECK(given.net.download_dir == "/data/alice/hearsay/downloads");
  CHECK(given.net.peers_file.empty());
  CHECK(given.control == "127.0.0.1:7001");
  CHECK(given.control_token_file == "/srv/h/control.token");
  // Without a home, the folders must be given.
  ::unsetenv("HOME");
  ::unsetenv("XDG_DATA_HOME");
  node_settings homeless;
  const auto unresolved = app::resolve_paths(homeless);
  REQUIRE_FALSE(unresolved);
  CHECK(unresolved.error().what().find("HOME is not set") != std::string::npos);
  if (!home.empty()) ::setenv("HOME", home.c_str(), 1);
}

TEST_CASE("the example file loads and equals the defaults", "[apps]") {
  node_settings from_file;
  REQUIRE(app::load_settings_file(std::string(HEARSAY_SOURCE_DIR) + "/apps/node/hearsay.example.toml", from_file));
  const node_settings defaults;
  CHECK(from_file.net.listen == defaults.net.listen);
  CHECK(from_file.control == defaults.control);
  CHECK(from_file.net.overlay.search.fanout == defaults.net.overlay.search.fanout);
  CHECK(from_file.net.overlay.search.dup_cache_lifetime == defaults.net.overlay.search.dup_cache_lifetime);
  CHECK(from_file.net.overlay.membership.shuffle_period == defaults.net.overlay.membership.shuffle_period);
  CHECK(from_file.net.limits.send_queue_bytes_max == defaults.net.limits.send_queue_bytes_max);
  CHECK(from_file.net.limits.keepalive_timeout == defaults.net.limits.keepalive_timeout);
  CHECK(from_file.net.limits.frame.frame_bytes_max == defaults.net.limits.frame.frame_bytes_max);
  CHECK(from_file.net.limits.fetch_timeout == defaults.net.limits.fetch_timeout);
  CHECK(from_file.net.send_delay == defaults.net.send_delay);
  CHECK(defaults.net.send_delay == micros{0});  // the emulated link delay is off unless asked for
}

TEST_CASE("the example file documents every key, each with a comment", "[apps]") {
  const std::string path = std::string(HEARSAY_SOURCE_DIR) + "/apps/node/hearsay.example.toml";
  const auto example = toml::parse_file(path);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const auto names = app::settings_keys();
  CHECK(names.size() > 50);  // the root keys, [overlay] and [limits]
  for (const auto& name : names) {
    INFO("key " << name);
    const toml::node_view<const toml::node> value = example.at_path(name);
    REQUIRE(value);
    const auto line = value.node()->source().begin.line;
    REQUIRE(line >= 1);
    CHECK(lines[line - 1].find('#') != std::string::npos);
  }
}

TEST_CASE("settings keys set what they say", "[apps]") {
  node_settings s;
  REQUIRE(app::load_settings_text(R"(
network = "ec2-test"
listen = "0.0.0.0:7100"
advertise = "203.0.113.10:7100"
seeds = ["seed.example.org:7000", "198.51.100.7:7000"]
shared_dir = "/srv/share"
download_dir = "/srv/dl"
control = "127.0.0.1:7200"
log_level = "debug"
[overlay]
fanout = 3
ttl = 7
reply_direct = true
[limits]
connections_max = 64
idle_timeout_s = 60
)",
                                  "t.toml", s));
  CHECK(s.net.network == "ec2-test");
  CHECK(s.net.listen.port == 7100);
  CHECK(s.net.advertise.to_string() == "203.0.113.10:7100");
  CHECK(s.seeds == std::vector<std::string>{"seed.example.org:7000", "198.51.100.7:7000"});
  CHECK(s.net.shared_dir == "/srv/share");
  CHECK(s.net.download_dir == "/srv/dl");
  CHECK(s.control == "127.0.0.1:7200");
  CHECK(s.log_level == net::log_level::debug);
  CHECK(s.net.overlay.search.fanout == 3);
  CHECK(s.net.overlay.search.ttl == 7);
  CHECK(s.net.overlay.search.reply_direct);
  CHECK(s.net.limits.connections_max == 64);
  CHECK(s.net.limits.idle_timeout == micros{60'000'000});
}

TEST_CASE("bad settings are refused with file:line", "[apps]") {
  auto error_of = [](const char* text) {
    node_settings s;
    const auto loaded = app::load_settings_text(text, "bad.toml", s);
    CHECK_FALSE(loaded);
    return loaded ? std::string() : loaded.error().what();
  };
  CHECK(error_of("listen = \"0.0.0.0:7000\"\nlisen = \"x\"\n") == "bad.toml:2: unknown key 'lisen'");
  CHECK(error_of("[overlay]\nfanout = \"four\"\n") == "bad.toml:2: overlay.fanout: expected an integer");
  CHECK(error_of("[overlay]\nfanout = 0\n") == "bad.toml:2: overlay.fanout: must be between 1 and 64");
  CHECK(error_of("listen = \"localhost:7000\"\n").rfind("bad.toml:1: listen: ", 0) == 0);
  CHECK(error_of("seeds = \"a:1\"\n") == "bad.toml:1: seeds: expected a list of strings");
  CHECK(error_of("seeds = [\"ok.example:1\",\n  \"no-port\"]\n") == "bad.toml:2: seeds: 'no-port' is not host:port");
  CHECK(error_of("log_level = \"loud\"\n") == "bad.toml:1: log_level: must be error, warn, info or debug");
  CHECK(error_of("[limits]\nconnections_max = -1\n") == "bad.toml:2: limits.connections_max: must not be negative");
  CHECK(error_of("listen = [\n").rfind("bad.toml:", 0) == 0);

  node_settings s;
  const auto missing = app::load_settings_file("/nonexistent/hearsay.toml", s);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().what().find("/nonexistent/hearsay.toml") != std::string::npos);

  s.net.overlay.search.ttl = 20;
  const auto invalid = app::validate(s);
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().what() == "overlay.ttl must not exceed overlay.ttl_max");
}

TEST_CASE("flags override the file", "[apps]") {
  node_settings s;
  REQUIRE(app::load_settings_text("seeds = [\"a.example:1\"]\n[overlay]\nfanout = 3\n", "t.toml", s));
  REQUIRE(app::apply_flags({"--config", "t.toml", "--listen", "127.0.0.1:0", "--seed", "b.example:2", "--seed",
                            "c.example:3", "--set", "overlay.fanout=2", "--log-level", "warn"},
                           s));
  CHECK(s.net.listen.port == 0);
  CHECK(s.seeds == std::vector<std::string>{"b.example:2", "c.example:3"});
  CHECK(s.net.overlay.search.fanout == 2);
  CHECK(s.log_level == net::log_level::warn);
  const auto bogus = app::apply_flags({"--bogus", "1"}, s);
  REQUIRE_FALSE(bogus);
  CHECK(bogus.error().what() == "unknown option '--bogus'");
  CHECK_FALSE(app::apply_flags({"--listen"}, s));
  CHECK_FALSE(app::apply_flags({"--set", "overlay.nope=1"}, s));
  CHECK_FALSE(app::apply_flags({"--advertise", "not-an-address"}, s));
}

TEST_CASE("the emulated link delay is set in milliseconds and must fit the timeouts", "[apps]") {
  node_settings s;
  REQUIRE(app::load_settings_text("[emulation]\nsend_delay_ms = 20\n", "t.toml", s));
  CHECK(s.net.send_delay == micros{20'000});
  CHECK(app::validate(s));
  REQUIRE(app::apply_flags({"--set", "emulation.send_delay_ms=35"}, s));
  CHECK(s.net.send_delay == micros{35'000});
  CHECK_FALSE(app::apply_flags({"--set", "emulation.send_delay_ms=10001"}, s));
  // The first rule the settings break, as a person reads it.
  auto broken = [](const node_settings& settings) {
    const auto valid = app::validate(settings);
    return valid ? std::string() : valid.error().what();
  };
  // A JOIN and its answer are each held once: together they must fit the request timeout.
  REQUIRE(app::apply_flags({"--set", "emulation.send_delay_ms=1000"}, s));
  CHECK(broken(s) == "emulation.send_delay_ms must be below half of overlay.request_timeout_ms");
  REQUIRE(app::apply_flags({"--set", "overlay.request_timeout_ms=10000", "--set", "limits.connect_timeout_ms=800"}, s));
  CHECK(broken(s) == "emulation.send_delay_ms must be below limits.connect_timeout_ms");
}

TEST_CASE("the control endpoint is host:port or a unix socket path", "[apps]") {
  node_settings s;
  REQUIRE(app::load_settings_text("control = \"/run/hearsay/control.sock\"\n", "t.toml", s));
  CHECK(s.control == "/run/hearsay/control.sock");
  REQUIRE(app::apply_flags({"--control", "./node.sock"}, s));
  CHECK(s.control == "./node.sock");
  REQUIRE(app::apply_flags({"--control", "127.0.0.1:7301"}, s));
  CHECK(s.control == "127.0.0.1:7301");
  const auto name_only = app::load_settings_text("control = \"localhost\"\n", "t.toml", s);
  REQUIRE_FALSE(name_only);
  CHECK(name_only.error().what().rfind("t.toml:1: control: ", 0) == 0);
  CHECK(name_only.error().what().find("or a unix socket path") != std::string::npos);
  const auto too_long = app::load_settings_text("control = \"/" + std::string(120, 'x') + "\"\n", "t.toml", s);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().what().find("at most 107 bytes") != std::string::npos);
}

TEST_CASE("host:port splitting", "[apps]") {
  const auto named = app::split_host_port("seed.example.org:7000");
  REQUIRE(named);
  CHECK(named->host == "seed.example.org");
  CHECK(named->port == 7000);
  const auto v6 = app::split_host_port("[::1]:9");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK_FALSE(app::split_host_port("seed.example.org"));
  CHECK_FALSE(app::split_host_port(":7000"));
  CHECK_FALSE(app::split_host_port("a b:7000"));
  CHECK_FALSE(app::split_host_port("host:0"));
}

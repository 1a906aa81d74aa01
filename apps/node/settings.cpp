// hearsay-node settings from TOML and flags (see settings.hpp).

#include "apps/node/settings.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <functional>

#include <fcntl.h>
#include <unistd.h>

#include <toml++/toml.h>

#include "apps/command_line.hpp"
#include "overlay/config_keys.hpp"
#include "transport/control_client.hpp"
#include "transport/paths.hpp"

namespace hearsay::app {

namespace {

using setter = std::function<result<>(node_settings&, std::string_view)>;
struct key {
  std::string name;
  std::string type;  // integer, boolean, string, address, list
  setter set;
};

result<peer_addr> parse_address(std::string_view text, bool port_zero_ok) {
  auto a = peer_addr::parse(text, 0, port_zero_ok);
  if (!a) return failure("'" + std::string(text) + "' is not an address like 1.2.3.4:7000 or [::1]:7000");
  return *a;
}

result<> set_address(std::string_view text, peer_addr& out, bool port_zero_ok) {
  auto a = parse_address(text, port_zero_ok);
  if (!a) return a.error();
  out = *a;
  return {};
}

template <typename T>
key limit(std::string name, std::uint64_t lo, std::uint64_t hi, T& (*field)(node_settings&)) {
  return {std::move(name), "integer", [=](node_settings& s, std::string_view text) -> result<> {
            auto v = parse_integer(text, lo, hi);
            if (!v) return v.error();
            field(s) = static_cast<T>(*v);
            return {};
          }};
}

key limit_time(std::string name, std::uint64_t unit_us, std::uint64_t lo, std::uint64_t hi,
               micros& (*field)(node_settings&)) {
  return {std::move(name), "integer", [=](node_settings& s, std::string_view text) -> result<> {
            auto v = parse_integer(text, lo, hi);
            if (!v) return v.error();
            field(s) = micros{static_cast<std::int64_t>(*v * unit_us)};
            return {};
          }};
}

std::vector<key> make_keys() {
  using u32 = std::uint32_t;
  std::vector<key> k;
  k.push_back({"network", "string", [](node_settings& s, std::string_view t) -> result<> {
                 if (t.empty() || t.size() > 64) return failure("must be 1 to 64 characters");
                 s.net.network = t;
                 return {};
               }});
  k.push_back({"listen", "string", [](node_settings& s, std::string_view t) { return set_address(t, s.net.listen, true); }});
  k.push_back({"advertise", "string", [](node_settings& s, std::string_view t) -> result<> {
                 if (t.empty()) {
                   s.net.advertise = peer_addr{};
                   return {};
                 }
                 return set_address(t, s.net.advertise, true);
               }});
  k.push_back({"seeds", "list", [](node_settings& s, std::string_view t) -> result<> {
                 if (auto split = split_host_port(t); !split) return split.error();
                 s.seeds.emplace_back(t);
                 return {};
               }});
  k.push_back({"shared_dir", "string", [](node_settings& s, std::string_view t) -> result<> {
                 s.net.shared_dir = std::string(t);
                 return {};
               }});
  k.push_back({"download_dir", "string", [](node_settings& s, std::string_view t) -> result<> {
                 s.net.download_dir = std::string(t);
                 return {};
               }});
  k.push_back({"peers_file", "string", [](node_settings& s, std::string_view t) -> result<> {
                 s.net.peers_file = std::string(t);
                 return {};
               }});
  k.push_back({"state_dir", "string", [](node_settings& s, std::string_view t) -> result<> {
                 s.state_dir = std::string(t);
                 return {};
               }});
  k.push_back({"control", "string", [](node_settings& s, std::string_view t) -> result<> {
                 if (t.empty()) {
                   s.control.clear();
                   return {};
                 }
                 if (net::is_unix_socket_path(t)) {
                   // sockaddr_un holds 108 bytes, the terminating zero included.
                   if (t.size() > 107) return failure("a unix socket path must be at most 107 bytes");
                   s.control = t;
                   return {};
                 }
                 if (auto a = parse_address(t, false); !a) return failure(a.error().what() + ", or a unix socket path");
                 s.control = t;
                 return {};
               }});
  k.push_back({"metrics", "string", [](node_settings& s, std::string_view t) -> result<> {
                 if (!t.empty()) {
                   auto a = parse_address(t, false);
                   if (!a) return a.error();
                   if (!a->is_ipv4()) return failure("the metrics endpoint takes an IPv4 address");
                 }
                 s.metrics = t;
                 return {};
               }});
  k.push_back({"web.enabled", "boolean", [](node_settings& s, std::string_view t) -> result<> {
                 auto v = parse_boolean(t);
                 if (!v) return v.error();
                 s.web_enabled = *v;
                 return {};
               }});
  k.push_back({"web.listen", "string", [](node_settings& s, std::string_view t) -> result<> {
                 auto a = parse_address(t, true);  // port 0: any free port (web.url in the state folder says which)
                 if (!a) return a.error();
                 s.web_listen = t;
                 return {};
               }});
  k.push_back({"log_level", "string", [](node_settings& s, std::string_view t) -> result<> {
                 auto level = net::parse_log_level(t);
                 if (!level) return level.error();
                 s.log_level = *level;
                 return {};
               }});
  k.push_back({"seed", "integer", [](node_settings& s, std::string_view t) -> result<> {
                 auto v = parse_integer(t, 0, ~std::uint64_t{0});
                 if (!v) return v.error();
                 s.net.seed = *v;
                 return {};
               }});
  for (const auto& o : overlay_config_keys()) {
    k.push_back({"overlay." + o.name, o.type,
                 [&o](node_settings& s, std::string_view t) { return o.set(s.net.overlay, t); }});
  }
  for (const auto& o : fetch_config_keys()) {
    k.push_back({"fetch." + o.name, o.type,
                 [&o](node_settings& s, std::string_view t) { return o.set(s.net.overlay, t); }});
  }
  k.push_back({"share.follow_symlinks", "boolean", [](node_settings& s, std::string_view t) -> result<> {
                 auto v = parse_boolean(t);
                 if (!v) return v.error();
                 s.net.share_follow_symlinks = *v;
                 return {};
               }});
  k.push_back(limit<u32>("limits.connections_max", 2, 1'000'000, [](node_settings& s) -> u32& { return s.net.limits.connections_max; }));
  k.push_back(limit<u32>("limits.connections_per_ip_max", 1, 1'000'000,
                         [](node_settings& s) -> u32& { return s.net.limits.connections_per_ip_max; }));
  k.push_back(limit<u32>("limits.connections_per_group_max", 1, 1'000'000,
                         [](node_settings& s) -> u32& { return s.net.limits.connections_per_group_max; }));
  k.push_back(limit<u32>("limits.connections_outbound_reserved", 0, 1'000'000,
                         [](node_settings& s) -> u32& { return s.net.limits.connections_outbound_reserved; }));
  k.push_back(limit<u32>("limits.send_queue_bytes_max", 65'536, 1u << 30,
                         [](node_settings& s) -> u32& { return s.net.limits.send_queue_bytes_max; }));
  k.push_back(limit<std::uint64_t>("limits.send_queue_total_bytes_max", 1u << 20, std::uint64_t{1} << 40,
                                   [](node_settings& s) -> std::uint64_t& { return s.net.limits.send_queue_total_bytes_max; }));
  k.push_back(limit<u32>("limits.send_queue_frames_max", 16, 1'000'000,
                         [](node_settings& s) -> u32& { return s.net.limits.send_queue_frames_max; }));
  k.push_back(limit<u32>("limits.frame_bytes_max", 4'096, 64u << 20,
                         [](node_settings& s) -> u32& { return s.net.limits.frame.frame_bytes_max; }));
  k.push_back(limit<std::uint64_t>("limits.upload_bytes_per_s", 0, std::uint64_t{1} << 40,
                                   [](node_settings& s) -> std::uint64_t& { return s.net.limits.upload_bytes_per_s; }));
  k.push_back(limit<u32>("limits.fetch_requests_queued_max", 1, 1'024,
                         [](node_settings& s) -> u32& { return s.net.limits.fetch_requests_queued_max; }));
  k.push_back(limit<u32>("limits.fetches_served_max", 0, 100'000,
                         [](node_settings& s) -> u32& { return s.net.limits.fetches_served_max; }));
  k.push_back(limit_time("limits.connect_timeout_ms", 1'000, 1, 600'000,
                         [](node_settings& s) -> micros& { return s.net.limits.connect_timeout; }));
  k.push_back(limit_time("limits.idle_timeout_s", 1'000'000, 1, 86'400,
                         [](node_settings& s) -> micros& { return s.net.limits.idle_timeout; }));
  k.push_back(limit_time("limits.keepalive_interval_s", 1'000'000, 1, 3'600,
                         [](node_settings& s) -> micros& { return s.net.limits.keepalive_interval; }));
  k.push_back(limit_time("limits.keepalive_timeout_s", 1'000'000, 1, 86'400,
                         [](node_settings& s) -> micros& { return s.net.limits.keepalive_timeout; }));
  k.push_back(limit_time("limits.fetch_timeout_s", 1'000'000, 1, 86'400,
                         [](node_settings& s) -> micros& { return s.net.limits.fetch_timeout; }));
  // Testing only: an emulated one-way delay on every frame sent (see net_config::send_delay).
  k.push_back(limit_time("emulation.send_delay_ms", 1'000, 0, 10'000,
                         [](node_settings& s) -> micros& { return s.net.send_delay; }));
  return k;
}

const std::vector<key>& keys() {
  static const std::vector<key> all = make_keys();
  return all;
}

const key* find_key(std::string_view name) {
  const auto& all = keys();
  auto it = std::find_if(all.begin(), all.end(), [&](const key& k) { return k.name == name; });
  return it == all.end() ? nullptr : &*it;
}

result<std::string> scalar_text(const toml::node& n, const std::string& type) {
  if (type == "integer") {
    if (auto v = n.value_exact<std::int64_t>()) {
      if (*v < 0) return failure("must not be negative");
      return std::to_string(*v);
    }
    return failure("expected an integer");
  }
  if (type == "boolean") {
    if (auto v = n.value_exact<bool>()) return std::string(*v ? "true" : "false");
    return failure("expected true or false");
  }
  if (auto v = n.value_exact<std::string>()) return *v;
  return failure("expected a string");
}

result<> walk(const toml::table& table, const std::string& prefix, const std::string& source, node_settings& s) {
  for (const auto& [k, value] : table) {
    const std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const std::string where = source + ":" + std::to_string(value.source().begin.line) + ": ";
    if (const auto* sub = value.as_table()) {
      if (auto walked = walk(*sub, name, source, s); !walked) return walked;
      continue;
    }
    const key* spec = find_key(name);
    if (spec == nullptr) return failure(where + "unknown key '" + name + "'");
    if (spec->type == "list") {
      const auto* arr = value.as_array();
      if (arr == nullptr) return failure(where + name + ": expected a list of strings");
      s.seeds.clear();
      for (const auto& item : *arr) {
        auto text = item.value_exact<std::string>();
        const std::string item_where = source + ":" + std::to_string(item.source().begin.line) + ": ";
        if (!text) return failure(item_where + name + ": expected a string");
        if (auto set = spec->set(s, *text); !set) return set.error().prefix(item_where + name);
      }
      continue;
    }
    auto text = scalar_text(value, spec->type);
    if (!text) return text.error().prefix(where + name);
    if (auto set = spec->set(s, *text); !set) return set.error().prefix(where + name);
  }
  return {};
}

}  // namespace

node_settings::node_settings() {
  net.listen = peer_addr::from_ipv4(0, 7000);  // all IPv4 interfaces, port 7000
  net.peers_file = "peers.txt";                // in the state folder
}

result<> resolve_paths(node_settings& s) {
  if (s.state_dir.empty()) s.state_dir = net::default_state_dir();
  s.shared_dir_is_default = s.net.shared_dir.empty();
  const auto data = net::default_data_dir();
  if (s.state_dir.empty() || ((s.net.shared_dir.empty() || s.net.download_dir.empty()) && data.empty())) {
    return failure("no default folders: HOME is not set; set state_dir, shared_dir and download_dir");
  }
  if (s.net.shared_dir.empty()) s.net.shared_dir = data / "shared";
  if (s.net.download_dir.empty()) s.net.download_dir = data / "downloads";
  if (!s.net.peers_file.empty() && s.net.peers_file.is_relative()) s.net.peers_file = s.state_dir / s.net.peers_file;
  if (s.control.empty()) s.control = net::control_socket_in(s.state_dir).string();
  s.control_token_file = net::control_token_in(s.state_dir);
  s.net.key_file = net::node_key_in(s.state_dir);
  if (net::is_unix_socket_path(s.control) && s.control.size() > 107) {
    return failure("the control socket path " + s.control + " is longer than 107 bytes: set control to a shorter path");
  }
  return {};
}

std::vector<std::string> settings_keys() {
  std::vector<std::string> names;
  for (const auto& k : keys()) names.push_back(k.name);
  return names;
}

result<host_port> split_host_port(std::string_view text) {
  const auto refused = [&] { return failure("'" + std::string(text) + "' is not host:port"); };
  std::string_view h, p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return refused();
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return refused();
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) return refused();
  }
  if (h.empty() || h.size() > 253) return refused();
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':';
    if (!ok) return refused();
  }
  auto v = parse_integer(p, 1, 65535);
  if (!v) return refused();
  return host_port{std::string(h), static_cast<std::uint16_t>(*v)};
}

result<> load_settings_text(std::string_view text, const std::string& source, node_settings& s) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return failure(syntax_error_text(text, source, static_cast<std::uint32_t>(e.source().begin.line),
                                     static_cast<std::uint32_t>(e.source().begin.column), e.description()));
  }
  return walk(table, "", source, s);
}

result<> load_settings_file(const std::string& path, node_settings& s) {
  // Read whole, so that a syntax error can show its line.
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(std::error_code(errno, std::generic_category()), "cannot read " + path);
  char buffer[65536];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
  const int error = got < 0 ? errno : 0;
  ::close(fd);
  if (error != 0) return failure(std::error_code(error, std::generic_category()), "cannot read " + path);
  return load_settings_text(text, path, s);
}

namespace {

// Flags that set one key each: the flag, the key, the value's name in the help, its meaning.
struct flag_key {
  const char* flag;
  const char* key;
  const char* value;
  const char* description;
};
constexpr flag_key flag_keys[] = {
    {"--listen", "listen", "ADDR", "address to listen on, e.g. 0.0.0.0:7000 (port 0: any free port; default 0.0.0.0:7000)"},
    {"--advertise", "advertise", "ADDR", "address peers should use, e.g. an EC2 public IP and port (default: the listen address)"},
    {"--shared", "shared_dir", "DIR",
     "folder to share; it must exist (default $XDG_DATA_HOME/hearsay/shared, else ~/.local/share/hearsay/shared, "
     "created on first start)"},
    {"--downloads", "download_dir", "DIR",
     "folder for fetched files, created if missing (default $XDG_DATA_HOME/hearsay/downloads, else "
     "~/.local/share/hearsay/downloads)"},
    {"--state", "state_dir", "DIR",
     "the node's own folder: key, remembered peers, control socket; owner-only (default $XDG_STATE_HOME/hearsay, "
     "else ~/.local/state/hearsay, created on first start)"},
    {"--control", "control", "ENDPOINT",
     "control endpoint for the CLI: a unix socket path (default control.sock in the state folder, owner-only), or "
     "host:port (then clients present the token the node writes to control.token in the state folder)"},
    {"--network", "network", "NAME", "overlay name; peers of another network are refused (default hearsay)"},
    {"--metrics", "metrics", "ADDR", "HTTP health and Prometheus metrics (default 127.0.0.1:9107; \"\" = off)"},
    {"--log-level", "log_level", "LEVEL", "error, warn, info or debug (default info)"},
    {"--random-seed", "seed", "N", "seed of the node's random choices, for reproducible tests (default 0: drawn at start)"},
};

}  // namespace

void add_flags(CLI::App& app) {
  apps::add_repeatable(app, "--config", "FILE",
                       "TOML settings (see apps/node/hearsay.example.toml); flags override it");
  for (const auto& f : flag_keys) apps::add_repeatable(app, f.flag, f.value, f.description);
  apps::add_repeatable(app, "--seed", "HOST:PORT", "a seed node (repeatable; replaces the file's seeds)");
  apps::add_repeatable(app, "--set", "SECTION.KEY=V", "any settings key, e.g. --set overlay.fanout=3 (repeatable)");
  apps::add_switch(app, "--check",
                   "check the settings, the folders (shared readable, downloads and state writable), that the "
                   "listen, control, metrics and web endpoints can be bound, and that the seeds resolve; then exit");
}

result<> apply_flags(const CLI::App& app, node_settings& s) {
  bool seeds_from_flags = false;
  for (const auto& given : apps::given_in_order(app)) {
    const std::string& a = given.name;
    const std::string& v = given.value;
    if (a == "--config" || a == "--check") continue;
    if (a == "--seed") {
      if (!seeds_from_flags) s.seeds.clear();  // flags replace the file's seed list
      seeds_from_flags = true;
      if (auto set = find_key("seeds")->set(s, v); !set) return set.error().prefix("--seed");
      continue;
    }
    if (a == "--set") {
      const auto eq = v.find('=');
      const key* spec = eq == std::string::npos ? nullptr : find_key(v.substr(0, eq));
      if (spec == nullptr || spec->type == "list") return failure("--set: unknown key in '" + v + "'");
      if (auto set = spec->set(s, v.substr(eq + 1)); !set) return set.error().prefix("--set " + v.substr(0, eq));
      continue;
    }
    const auto it = std::find_if(std::begin(flag_keys), std::end(flag_keys), [&](const auto& f) { return a == f.flag; });
    HEARSAY_ASSERT(it != std::end(flag_keys));
    if (auto set = find_key(it->key)->set(s, v); !set) return set.error().prefix(a);
  }
  return {};
}

result<> apply_flags(const std::vector<std::string>& args, node_settings& s) {
  CLI::App app("hearsay-node's flags", "hearsay-node");
  apps::configure(app);
  add_flags(app);
  if (auto parsed = apps::parse(app, args); !parsed) return parsed.error();
  return apply_flags(app, s);
}

result<> validate(const node_settings& s) {
  if (auto overlay = hearsay::validate(s.net.overlay); !overlay) return overlay;
  if (s.net.limits.keepalive_timeout <= s.net.limits.keepalive_interval) {
    return failure("limits.keepalive_timeout_s must exceed limits.keepalive_interval_s");
  }
  if (s.net.limits.connections_outbound_reserved >= s.net.limits.connections_max) {
    return failure(
        "limits.connections_outbound_reserved must leave room for inbound connections in limits.connections_max");
  }
  if (s.net.overlay.fetch.pieces_per_holder > s.net.limits.fetch_requests_queued_max) {
    return failure("fetch.pieces_per_holder must not exceed limits.fetch_requests_queued_max (holders refuse more)");
  }
  // A HELLO held for the emulated delay must still arrive within the connect timeout, and a
  // JOIN or NEIGHBOR request and its answer (two held frames) within the request timeout.
  if (s.net.send_delay >= s.net.limits.connect_timeout) {
    return failure("emulation.send_delay_ms must be below limits.connect_timeout_ms");
  }
  if (2 * s.net.send_delay >= s.net.overlay.membership.request_timeout) {
    return failure("emulation.send_delay_ms must be below half of overlay.request_timeout_ms");
  }
  return {};
}

}  // namespace hearsay::app

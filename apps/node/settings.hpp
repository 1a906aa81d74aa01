#pragma once
// hearsay-node's settings: a TOML file (every key optional, see hearsay.example.toml) and
// command-line flags on top. Errors name the file and line, or the flag.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/result.hpp"
#include "transport/log.hpp"
#include "transport/net_node.hpp"

namespace CLI {
class App;
}

namespace hearsay::app {

struct node_settings {
  net::net_config net;
  // Seed nodes as "host:port"; host names are resolved when the node starts.
  std::vector<std::string> seeds;
  // The node's own folder (kept owner-only, 0700): remembered peers, the control socket and
  // its token. Empty: $XDG_STATE_HOME/hearsay, else ~/.local/state/hearsay.
  std::filesystem::path state_dir;
  // The local control endpoint the `hearsay` CLI talks to. Empty: the unix socket
  // control.sock in the state folder, owner-only (mode 0600): only the node's own user can
  // drive it. A path: a unix socket there. "host:port": TCP, for setups that need it; then
  // every client must first present the token the node writes to control.token in the state
  // folder (0600). It can start fetches and write into the shared folder: never expose it.
  std::string control;
  // Where the token of a TCP control endpoint is kept (set by resolve_paths).
  std::filesystem::path control_token_file;
  // Set by resolve_paths: the shared folder is the default one, which the node creates on its
  // first start. A shared folder that was named must exist (a mistyped name would otherwise
  // share an empty new folder).
  bool shared_dir_is_default = false;
  // Health and Prometheus metrics over HTTP (GET /health, GET /metrics); empty: off.
  std::string metrics = "127.0.0.1:9107";
  // The web interface (apps/node/web.hpp): on by default, on loopback only; another address
  // only when configured (reach it through an SSH tunnel rather than opening it).
  bool web_enabled = true;
  std::string web_listen = "127.0.0.1:8385";
  net::log_level log_level = net::log_level::info;

  node_settings();
};

// Loads a TOML file on top of s. A failure's message is "file:line: key: problem".
result<> load_settings_file(const std::string& path, node_settings& s);
result<> load_settings_text(std::string_view text, const std::string& source, node_settings& s);

// hearsay-node's flags, added to its command line (CLI11): --config FILE (repeatable; the files
// are read by the caller, in order), --check, and the flags that set keys: --listen,
// --advertise, --seed (repeatable; replaces the file's list), --shared, --downloads, --state,
// --control, --network, --metrics, --log-level, --random-seed, --set section.key=value.
void add_flags(CLI::App& app);
// Applies the key-setting flags given to a parsed command line, in the order given (after
// the files). A failure names the flag.
result<> apply_flags(const CLI::App& app, node_settings& s);
// The same from arguments: parsed as hearsay-node's flags, then applied.
result<> apply_flags(const std::vector<std::string>& args, node_settings& s);

// Every settings key, as written in a file ("network", "overlay.fanout", "limits.frame_bytes_max").
std::vector<std::string> settings_keys();

// Final checks (addresses, folders, cross-field rules): the first rule broken, if any.
result<> validate(const node_settings& s);

// Fills in the folders left to their defaults (paths.hpp): the state folder; the shared and
// download folders (in the data folder); the remembered-peers file and the control socket
// (in the state folder, when not given as absolute paths). Fails when no default exists
// (neither HOME nor the XDG variables are set).
result<> resolve_paths(node_settings& s);

// "host:port" with a non-empty host and a port 1..65535.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};
result<host_port> split_host_port(std::string_view text);

}  // namespace hearsay::app

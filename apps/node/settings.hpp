#pragma once
// hearsay-node's settings: a TOML file (every key optional, see hearsay.example.toml) and
// command-line flags on top. Errors name the file and line, or the flag.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transport/log.hpp"
#include "transport/net_node.hpp"

namespace hearsay::app {

struct node_settings {
  net::net_config net;
  // Seed nodes as "host:port"; host names are resolved when the node starts.
  std::vector<std::string> seeds;
  // The local control endpoint the `hearsay` CLI talks to: "host:port" or a unix socket
  // path. Loopback only by default: it can start fetches and rescans, so it is not for the
  // open internet.
  std::string control = "127.0.0.1:7001";
  // Health and Prometheus metrics over HTTP (GET /health, GET /metrics); empty: off.
  std::string metrics = "127.0.0.1:9107";
  net::log_level log_level = net::log_level::info;

  node_settings();
};

// Loads a TOML file on top of s. false and a message ("file:line: key: problem") on error.
bool load_settings_file(const std::string& path, node_settings& s, std::string& error);
bool load_settings_text(std::string_view text, const std::string& source, node_settings& s, std::string& error);

// Applies command-line flags (after the file). Recognised: --config F (handled by the
// caller), --listen A, --advertise A, --seed A (repeatable; replaces the file's list),
// --shared DIR, --downloads DIR, --control A, --log-level L, --network NAME,
// --set section.key=value. Returns false with a message on a bad flag.
bool apply_flags(const std::vector<std::string>& args, node_settings& s, std::string& error);

// Every settings key, as written in a file ("network", "overlay.fanout", "limits.frame_bytes_max").
std::vector<std::string> settings_keys();

// Final checks (addresses, folders, cross-field rules).
std::string validate(const node_settings& s);

// "host:port" with a non-empty host and a port 1..65535.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace hearsay::app

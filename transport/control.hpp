#pragma once
// The node's local control endpoint, which the `hearsay` CLI talks to.
//
// Protocol: a client sends one request per line, a flat JSON object with "cmd"; the node
// answers with JSON lines, each an "event", the last always {"event":"end", "ok":...}.
//   {"cmd":"search","words":"holiday photos","wait_ms":3000}  -> hit ... end
//   {"cmd":"fetch","target":"<sha256 hex>" | "<result number>"} -> progress ... end (path)
//   {"cmd":"results"}   -> the remembered results of the last search
//   {"cmd":"peers"}     -> peer (view: active|passive) ... end
//   {"cmd":"status"}    -> status ... end
//   {"cmd":"rescan"}    -> end (files)
//   {"cmd":"share","path":"/some/file"} -> links (or copies) the file into the shared folder, rescans
// Results of the last search are remembered by the node and numbered from 1, so that
// "fetch 2" works from any client.
//
// The endpoint is loopback TCP ("127.0.0.1:7001") or a unix socket path. The endpoint can
// start fetches and write into the shared folder, so it is never meant for the network: a
// unix socket is created owner-only (mode 0600). Clients are bounded (sessions_max), and so
// is each client's pending output: progress lines are skipped for a client that reads too
// slowly, while hits and end events are always kept (there are few of them).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>

#include "transport/log.hpp"
#include "transport/net_node.hpp"

namespace asio {
class io_context;
}

namespace hearsay::net {

class control_server {
 public:
  control_server(asio::io_context& io, net_node& node, logger& log);
  ~control_server();
  // Control clients served at once; more are refused (closed at once).
  static constexpr std::size_t sessions_max = 16;

  // Binds the endpoint (loopback by default); port 0 picks one.
  std::error_code start(const peer_addr& endpoint);
  // "host:port" (an IP address) or a unix socket path (anything with a '/'). A stale socket
  // file left by a node that died is replaced; one a running node still answers on is not.
  std::error_code start(const std::string& endpoint);
  // Closes the endpoint and every client connection (and removes a unix socket file).
  void stop();
  // The bound TCP address (an unspecified address for a unix socket).
  peer_addr address() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hearsay::net

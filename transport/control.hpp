#pragma once
// The node's local control endpoint, which the `hearsay` CLI talks to.
//
// Protocol: a client sends one request per line, a flat JSON object with "cmd"; the node
// answers with JSON lines, each an "event", the last always {"event":"end", "ok":...}.
//   {"cmd":"search","words":"holiday photos","wait_ms":3000,"first":1}  -> hit ... end
//       (results, reason: "first" once `first` results are in, "closed" when the node closes
//       the query, "wait" after wait_ms; words of letters or digits, at most the overlay's
//       criteria_bytes_max bytes)
//   {"cmd":"fetch","target":"<sha256 hex or 8+ hex digits of one>" | "<result number>"}
//       -> progress ... end (path, absolute)
//   {"cmd":"results"}   -> the remembered results of the last search
//   {"cmd":"shared"}    -> file (name, size, sha256, path) per shared file ... end (files, bytes)
//   {"cmd":"peers"}     -> peer (view: active|passive; an open link's age_s, bytes_in, bytes_out) ... end
//   {"cmd":"unshare","target":"<sha256 or 8+ hex digits of one>"} -> end (removed, path, files):
//       the shared file is deleted from the shared folder, which is indexed again
//   {"cmd":"status"}    -> status ... end
//   {"cmd":"rescan"}    -> end (files)
//   {"cmd":"downloads"} -> download (one per running or recent download) ... end
//   {"cmd":"cancel","id":"3" | "all"} -> end (cancelled)
//   {"cmd":"share","name":"report.pdf"} -> send-fd; the client then passes an open descriptor
//       of the file (SCM_RIGHTS, unix socket only) and the node copies it into the shared
//       folder from that descriptor: it never opens a path with its own rights on a caller's
//       behalf -> end (files, name, path, sha256; and already, the path, when the same
//       content was shared before: it is not copied again and keeps its name)
//   {"cmd":"webui-url"} -> end (url: the web interface's login link, with its token)
//   {"cmd":"auth","token":"..."} -> end: first line on a TCP endpoint (see below)
// Results of the last search are remembered by the node and numbered from 1, so that
// "fetch 2" works from any client.
//
// The endpoint is a unix socket (by default control.sock in the node's state folder), created
// owner-only (mode 0600): only the node's user can drive the node. It can start fetches and
// write into the shared folder, so it is never meant for the network. A TCP endpoint exists
// for setups that need one; then each client must first send {"cmd":"auth","token":T} with
// the token the node keeps in a 0600 file, or it is told so and closed. Clients are bounded
// (sessions_max): a client idle for idle_timeout is closed, and when all places are taken
// the longest-idle client makes room for a new one, so that idle connections cannot lock the
// CLI out. Each client's pending output is bounded: progress lines are skipped for a client
// that reads too slowly, while hits and end events are always kept (there are few of them).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "overlay/result.hpp"
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
  // Control clients served at once, and how long one may stay without a request (a search or
  // a fetch being answered is not idle).
  static constexpr std::size_t sessions_max = 16;
  static constexpr std::chrono::seconds idle_timeout_default{60};
  void set_idle_timeout(std::chrono::milliseconds t);  // before start()
  // What {"cmd":"webui-url"} answers: the login link of the node's web interface (apps/node/
  // web.hpp), given by whoever runs it; without one the command says the interface is off.
  // Called on the io thread, like every command.
  void set_web_login(std::function<std::string()> login_url);

  // Binds a TCP endpoint (port 0 picks one); `token` is what clients must present (empty:
  // none, for tests on loopback only). A failure keeps the system's error code.
  result<> start(const peer_addr& endpoint, std::string token);
  // A unix socket path (anything with a '/'), or "host:port" with a token. A stale socket
  // file left by a node that died is replaced; one a running node still answers on is not
  // (errc::address_in_use).
  result<> start(const std::string& endpoint, std::string token = {});
  // Closes the endpoint and every client connection (and removes a unix socket file).
  void stop();
  // The bound TCP address (an unspecified address for a unix socket).
  peer_addr address() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hearsay::net

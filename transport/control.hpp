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
//   {"cmd":"share","path":"/some/file"} -> copies the file into the shared folder, rescans
// Results of the last search are remembered by the node and numbered from 1, so that
// "fetch 2" works from any client.

#include <chrono>
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
  // Binds the endpoint (loopback by default); port 0 picks one.
  std::error_code start(const peer_addr& endpoint);
  void stop();
  peer_addr address() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hearsay::net

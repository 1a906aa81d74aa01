#pragma once
// Health and metrics over HTTP for operators: GET /metrics answers in the Prometheus text
// exposition format (version 0.0.4), GET /health answers 200 "ok" while the node has at
// least one overlay neighbour and 503 otherwise. One request per connection, bounded request
// size, loopback by default.

#include <memory>
#include <string>

#include "overlay/result.hpp"
#include "transport/log.hpp"
#include "transport/net_node.hpp"

namespace asio {
class io_context;
}

namespace hearsay::net {

// The metrics page of a node, as text (also used by tests).
std::string prometheus_text(const net_node& node);

class metrics_server {
 public:
  metrics_server(asio::io_context& io, const net_node& node, logger& log);
  ~metrics_server();
  // Fails with the system's error code when the endpoint cannot be opened.
  result<> start(const peer_addr& endpoint);
  void stop();
  peer_addr address() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace hearsay::net

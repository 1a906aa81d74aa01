// Health and Prometheus metrics over HTTP (see metrics.hpp).

#include "transport/metrics.hpp"

#include <chrono>
#include <cstdio>
#include <memory>

#include <asio.hpp>

#include "transport/endpoint.hpp"

namespace hearsay::net {

using asio::ip::tcp;

std::string prometheus_text(const net_node& node) {
  const auto& o = node.overlay().stats();
  const auto& t = node.stats();
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "# HELP hearsay_%s %s\n# TYPE hearsay_%s %s\nhearsay_%s %.17g\n", name, help, name,
                  type, name, value);
    out += buf;
  };
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  metric("peers_active", "gauge", "Neighbours in the active view (overlay links).",
         d(node.overlay().members().active().size()));
  metric("peers_passive", "gauge", "Peers in the passive view.", d(node.overlay().members().passive().size()));
  metric("shared_files", "gauge", "Files shared by this node.", d(node.shared_files()));
  metric("messages_sent_total", "counter", "Overlay messages sent.", d(o.messages_sent));
  metric("messages_received_total", "counter", "Overlay messages received.", d(o.messages_received));
  metric("queries_originated_total", "counter", "Searches started here.", d(o.queries_originated));
  metric("queries_received_total", "counter", "Query copies received.", d(o.queries_received));
  metric("queries_forwarded_total", "counter", "Query copies sent onward.", d(o.queries_forwarded));
  metric("queries_duplicate_total", "counter", "Query copies dropped as duplicates.", d(o.queries_duplicate));
  metric("queries_rate_limited_total", "counter", "Query copies dropped by the per-neighbour limit.",
         d(o.queries_rate_limited));
  metric("hits_sent_total", "counter", "Hits answered from this node's files.", d(o.hits_sent));
  metric("hits_relayed_total", "counter", "Hits relayed towards their origin.", d(o.hits_relayed));
  metric("hits_received_total", "counter", "Hits received for this node's searches.", d(o.hits_received));
  metric("peers_failed_total", "counter", "Peers found failed.", d(o.peers_failed));
  metric("mixes_started_total", "counter", "Swaps of a link this node offered (membership mix_period_ms).",
         d(o.mixes_started));
  metric("mixes_done_total", "counter", "Swaps this node offered that were made.", d(o.mixes_done));
  metric("fetch_bytes_served_total", "counter", "File bytes sent to fetching peers.", d(t.fetch_bytes_served));
  metric("fetch_bytes_received_total", "counter", "File bytes received by fetches.", d(t.fetch_bytes_received));
  metric("fetches_done_total", "counter", "Fetches completed and verified.", d(t.fetches_done));
  metric("fetches_failed_total", "counter", "Fetches that failed.", d(t.fetches_failed));
  metric("fetch_requests_refused_total", "counter", "Transfer requests refused (not shared, busy, bad range).",
         d(t.fetch_requests_refused));
  metric("downloads_running", "gauge", "Downloads in progress.", d(node.fetches_running()));
  metric("frames_bad_total", "counter", "Frames dropped as malformed.", d(t.frames_bad));
  metric("messages_invalid_total", "counter", "Messages dropped by semantic checks.", d(o.messages_invalid));
  metric("connections_refused_total", "counter", "Connections refused over a limit.", d(t.connections_refused));
  metric("connections_plaintext_total", "counter", "Inbound connections that did not begin TLS (older nodes, scanners).",
         d(t.connections_plaintext));
  metric("addresses_withheld_total", "counter", "Unproven addresses left out of the shuffle lists this node sent.",
         d(t.addresses_withheld));
  metric("slow_readers_cut_total", "counter", "Connections cut because their reader was too slow.",
         d(t.slow_readers_cut));
  return out;
}

struct metrics_server::impl {
  impl(asio::io_context& io_, const net_node& node_, logger& log_) : io(io_), node(node_), log(log_), acceptor(io_) {}
  asio::io_context& io;
  const net_node& node;
  logger& log;
  tcp::acceptor acceptor;
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  struct exchange {
    explicit exchange(tcp::socket s) : socket(std::move(s)), deadline(socket.get_executor()) {}
    tcp::socket socket;
    asio::streambuf request{8192};  // a request line and headers; longer is refused
    std::string response;
    asio::steady_timer deadline;  // the whole exchange, so a silent client cannot hold a socket
  };
  // Exchanges in progress; more are refused. Bounded, like every other connection.
  static constexpr long exchanges_max = 32;
  std::shared_ptr<long> open_exchanges = std::make_shared<long>(0);

  void accept() {
    acceptor.async_accept([this, w = std::weak_ptr<int>(alive)](const std::error_code& ec, tcp::socket s) {
      if (w.expired() || ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec && *open_exchanges < exchanges_max) serve(std::make_shared<exchange>(std::move(s)));
      accept();
    });
  }

  void serve(const std::shared_ptr<exchange>& x) {
    // The count lives as long as any exchange does (a shared counter, not a member the
    // handlers would reach through `this`).
    ++*open_exchanges;
    std::shared_ptr<void> release(nullptr, [count = open_exchanges](void*) { --*count; });
    x->deadline.expires_after(std::chrono::seconds(5));
    x->deadline.async_wait([x, release](const std::error_code& ec) {
      if (ec) return;
      std::error_code ignored;
      x->socket.close(ignored);
    });
    asio::async_read_until(x->socket, x->request, "\r\n\r\n",
                           [this, x, w = std::weak_ptr<int>(alive)](const std::error_code& ec, std::size_t) {
                             if (w.expired()) return;
                             std::string line;
                             if (!ec) {
                               std::istream in(&x->request);
                               std::getline(in, line);
                             }
                             x->response = respond(line);
                             asio::async_write(x->socket, asio::buffer(x->response),
                                               [x](const std::error_code&, std::size_t) {
                                                 std::error_code ignored;
                                                 x->socket.shutdown(tcp::socket::shutdown_both, ignored);
                                                 x->deadline.cancel();
                                               });
                           });
  }

  std::string respond(const std::string& line) const {
    auto reply = [](const char* status, const char* type, const std::string& body) {
      return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
             "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    };
    if (line.rfind("GET /metrics ", 0) == 0) {
      return reply("200 OK", "text/plain; version=0.0.4", prometheus_text(node));
    }
    if (line.rfind("GET /health ", 0) == 0) {
      const bool ok = !node.overlay().members().active().empty();
      return ok ? reply("200 OK", "text/plain", "ok\n")
                : reply("503 Service Unavailable", "text/plain", "no overlay neighbours\n");
    }
    return reply("404 Not Found", "text/plain", "try /metrics or /health\n");
  }
};

metrics_server::metrics_server(asio::io_context& io, const net_node& node, logger& log)
    : impl_(std::make_unique<impl>(io, node, log)) {}
metrics_server::~metrics_server() { stop(); }

result<> metrics_server::start(const peer_addr& endpoint) {
  auto listening = listen_on(impl_->acceptor, endpoint, 16);
  if (!listening) return listening.error().prefix("cannot open the metrics endpoint " + endpoint.to_string());
  impl_->accept();
  return {};
}

void metrics_server::stop() {
  std::error_code ec;
  if (impl_) impl_->acceptor.close(ec);
}

peer_addr metrics_server::address() const {
  std::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? peer_addr{} : from_endpoint(ep);
}

}  // namespace hearsay::net

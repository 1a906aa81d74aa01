#pragma once
// The client side of the control protocol (control.hpp): what the `hearsay` CLI uses to talk
// to a running node, kept here so that tests drive a node exactly as the CLI does.
//
// It is deliberately small and blocking (plain POSIX sockets, no event loop): a command is
// one request line and the reply lines up to the end event. The endpoint is "host:port" for
// TCP (loopback by default) or a path for a unix socket.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "overlay/result.hpp"

namespace hearsay::net {

// Whether a control endpoint names a unix socket (it contains a '/') rather than host:port.
bool is_unix_socket_path(std::string_view endpoint);

class control_client {
 public:
  control_client() = default;
  ~control_client();
  control_client(const control_client&) = delete;
  control_client& operator=(const control_client&) = delete;

  using fields = std::map<std::string, std::string>;

  // Connects to a node's control endpoint; a failure is a readable message.
  result<> connect(const std::string& endpoint);

  // One reply line, parsed; `line` is the text as received (for --json output).
  using reply_handler = std::function<void(const fields& f, const std::string& line)>;

  // Sends one request line and hands every reply line to on_reply, the end event included.
  // Returns the end event's fields; fails when the connection fails or a reply is unreadable
  // before the end event.
  result<fields> request(const std::string& line, const reply_handler& on_reply = {});
  // Presents a TCP endpoint's token (the first request on such a connection).
  result<> authenticate(const std::string& token);
  // Passes an open file descriptor to the node (unix sockets only), as a share asks for.
  result<> send_fd(int fd);
  // While waiting for the node, the client asks stop() at least every 100 ms, and once it
  // answers true the request fails with errc::interrupted and the connection is closed. The
  // CLI's stop() reads the flag its Ctrl-C handler sets (a download watched in the foreground
  // is then cancelled); the web interface's asks whether the page that wanted a search is
  // still there.
  void stop_when(std::function<bool()> stop) { stop_ = std::move(stop); }

 private:
  result<> send_all(const std::string& data);
  result<std::string> read_line();

  result<> wait_readable();

  int fd_ = -1;
  std::string buffer_;
  std::function<bool()> stop_;
  // A reply line longer than this is refused: the node never sends one, so it is not a node.
  static constexpr std::size_t line_bytes_max = 1u << 16;
};

}  // namespace hearsay::net

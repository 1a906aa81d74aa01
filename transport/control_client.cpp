// The blocking control-protocol client (see control_client.hpp).

#include "transport/control_client.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transport/fd_message.hpp"
#include "transport/json.hpp"
#include "transport/last_error.hpp"

namespace hearsay::net {

bool is_unix_socket_path(std::string_view endpoint) { return endpoint.find('/') != std::string_view::npos; }

control_client::~control_client() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {


result<int> connect_unix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return failure("control socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const std::error_code ec = last_error();
    if (fd >= 0) ::close(fd);
    return failure(ec, "cannot reach a node at " + path + " (is hearsay-node running?)");
  }
  return fd;
}

result<int> connect_tcp(const std::string& endpoint) {
  // "host:port" or "[v6]:port"; the host may be a name such as localhost.
  std::string host, port;
  if (!endpoint.empty() && endpoint.front() == '[') {
    const auto close = endpoint.find("]:");
    if (close != std::string::npos) {
      host = endpoint.substr(1, close - 1);
      port = endpoint.substr(close + 2);
    }
  } else if (const auto colon = endpoint.rfind(':'); colon != std::string::npos) {
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
  }
  if (host.empty() || port.empty()) {
    return failure("bad control endpoint '" + endpoint + "' (host:port, or a unix socket path)");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return failure("bad control endpoint '" + endpoint + "': " + ::gai_strerror(rc));
  }
  int fd = -1;
  std::error_code last;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last = last_error();
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return failure(last, "cannot reach a node at " + endpoint + " (is hearsay-node running?)");
  return fd;
}

}  // namespace

result<> control_client::connect(const std::string& endpoint) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  auto fd = is_unix_socket_path(endpoint) ? connect_unix(endpoint) : connect_tcp(endpoint);
  if (!fd) return fd.error();
  fd_ = *fd;
  return {};
}

result<> control_client::send_all(const std::string& data) {
  std::size_t at = 0;
  while (at < data.size()) {
    const auto n = ::send(fd_, data.data() + at, data.size() - at, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failure("the node closed the connection");
    at += static_cast<std::size_t>(n);
  }
  return {};
}

result<std::string> control_client::read_line() {
  while (true) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (buffer_.size() > line_bytes_max) {
      return failure("a reply line over " + std::to_string(line_bytes_max) + " bytes: not a node");
    }
    if (auto ready = wait_readable(); !ready) return ready.error();
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failure("the node closed the connection before answering");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

result<> control_client::wait_readable() {
  if (!stop_) return {};
  pollfd p{fd_, POLLIN, 0};
  while (true) {
    if (stop_()) {
      ::close(fd_);
      fd_ = -1;
      return failure(std::make_error_code(std::errc::interrupted), "interrupted");
    }
    // A signal ends poll() early whatever SA_RESTART says; the timeout covers one that came
    // just before it.
    if (::poll(&p, 1, 100) > 0) return {};
  }
}

result<> control_client::authenticate(const std::string& token) {
  auto end = request(json::line({{"cmd", "auth"}, {"token", token}}));
  if (!end) return end.error();
  if ((*end)["ok"] != "true") return failure("the node refused the token: " + (*end)["error"]);
  return {};
}

result<> control_client::send_fd(int fd) {
  fd_message out;
  out.attach(fd);
  while (true) {
    const auto n = ::sendmsg(fd_, &out.msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1) return {};
    return failure(last_error(), "cannot hand the file to the node");
  }
}

result<control_client::fields> control_client::request(const std::string& line, const reply_handler& on_reply) {
  if (fd_ < 0) return failure("not connected");
  if (auto sent = send_all(line + "\n"); !sent) return sent.error();
  while (true) {
    const auto reply = read_line();
    if (!reply) return reply.error();
    auto parsed = json::parse_flat(*reply);
    if (!parsed) return parsed.error().prefix("unreadable reply from the node");
    if (on_reply) on_reply(*parsed, *reply);
    if ((*parsed)["event"] == "end") return std::move(*parsed);
  }
}

}  // namespace hearsay::net

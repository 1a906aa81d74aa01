// The blocking control-protocol client (see control_client.hpp).

#include "transport/control_client.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transport/fd_message.hpp"
#include "transport/json.hpp"

namespace hearsay::net {

bool is_unix_socket_path(std::string_view endpoint) { return endpoint.find('/') != std::string_view::npos; }

control_client::~control_client() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

int connect_unix(const std::string& path, std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    error = "control socket path too long: " + path;
    return -1;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    error = "cannot reach a node at " + path + ": " + std::strerror(errno) + " (is hearsay-node running?)";
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

int connect_tcp(const std::string& endpoint, std::string& error) {
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
    error = "bad control endpoint '" + endpoint + "' (host:port, or a unix socket path)";
    return -1;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "bad control endpoint '" + endpoint + "': " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_errno = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    error = "cannot reach a node at " + endpoint + ": " + std::strerror(last_errno) + " (is hearsay-node running?)";
  }
  return fd;
}

}  // namespace

bool control_client::connect(const std::string& endpoint, std::string& error) {
  if (fd_ >= 0) ::close(fd_);
  buffer_.clear();
  fd_ = is_unix_socket_path(endpoint) ? connect_unix(endpoint, error) : connect_tcp(endpoint, error);
  return fd_ >= 0;
}

bool control_client::send_all(const std::string& data) {
  std::size_t at = 0;
  while (at < data.size()) {
    const auto n = ::send(fd_, data.data() + at, data.size() - at, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

bool control_client::read_line(std::string& line) {
  while (true) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return true;
    }
    if (buffer_.size() > line_bytes_max) return false;
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool control_client::authenticate(const std::string& token, std::string& error) {
  std::map<std::string, std::string> end;
  if (!request("{\"cmd\":\"auth\",\"token\":" + json::quote(token) + "}", {}, end, error)) return false;
  if (end["ok"] != "true") {
    error = "the node refused the token: " + end["error"];
    return false;
  }
  return true;
}

bool control_client::send_fd(int fd, std::string& error) {
  fd_message out;
  out.attach(fd);
  while (true) {
    const auto n = ::sendmsg(fd_, &out.msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1) return true;
    error = std::string("cannot hand the file to the node: ") + std::strerror(errno);
    return false;
  }
}

bool control_client::request(const std::string& line, const reply_handler& on_reply,
                             std::map<std::string, std::string>& end, std::string& error) {
  if (fd_ < 0) {
    error = "not connected";
    return false;
  }
  if (!send_all(line + "\n")) {
    error = "the node closed the connection";
    return false;
  }
  std::string reply;
  while (read_line(reply)) {
    std::map<std::string, std::string> fields;
    std::string problem;
    if (!json::parse_flat(reply, fields, problem)) {
      error = "unreadable reply from the node: " + problem;
      return false;
    }
    if (on_reply) on_reply(fields, reply);
    if (fields["event"] == "end") {
      end = std::move(fields);
      return true;
    }
  }
  error = "the node closed the connection before answering";
  return false;
}

}  // namespace hearsay::net

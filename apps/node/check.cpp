// hearsay-node --check (see check.hpp).

#include "apps/node/check.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "transport/control_client.hpp"
#include "transport/endpoint.hpp"

namespace hearsay::app {

namespace fs = std::filesystem;

namespace {

std::string system_message(int error) { return std::error_code(error, std::generic_category()).message(); }

// Whether a file can be made in dir: one is made and removed at once (permissions alone do
// not tell, on a read-only mount or for root).
result<> writable(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  // File systems without O_TMPFILE: a named file, removed.
  if (errno == EOPNOTSUPP || errno == EISDIR) {
    std::string name = (dir / ".hearsay-check-XXXXXX").string();
    const int named = ::mkstemp(name.data());
    if (named >= 0) {
      ::close(named);
      ::unlink(name.c_str());
      return {};
    }
  }
  return failure("not writable (" + system_message(errno) + ")");
}

// A folder the node writes into: existing and writable, or creatable. A folder made to find
// out is removed again, with the parents made for it.
result<> writable_folder(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) return failure("is not a folder");
    return writable(dir);
  }
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    return failure(ec.message());
  }
  // The first missing folder on the way, which removing takes everything made below it.
  fs::path first_missing = dir;
  for (fs::path p = dir.parent_path(); !p.empty() && p != p.parent_path(); p = p.parent_path()) {
    const bool there = fs::exists(p, ec);
    if (there || ec) break;
    first_missing = p;
  }
  fs::create_directories(dir, ec);
  if (ec) return failure("cannot be created (" + ec.message() + ")");
  auto usable = writable(dir);
  fs::remove_all(first_missing, ec);
  return usable;
}

// The shared folder: an existing folder whose entries can be listed.
result<> readable_folder(const fs::path& dir, bool may_create) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) {
    if (may_create) return writable_folder(dir);
    return failure("does not exist (create it, or leave shared_dir out for the default folder)");
  }
  if (!fs::is_directory(status)) return failure("is not a folder");
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) return failure("cannot be read (" + system_message(errno) + ")");
  ::closedir(listing);
  return {};
}

// An endpoint bound and released again.
result<> bindable(asio::io_context& io, const std::string& address) {
  const auto a = peer_addr::parse(address, 0, true);
  if (!a) return failure("is not an address");
  asio::ip::tcp::acceptor acceptor(io);
  auto listening = net::listen_on(acceptor, *a, 1);
  std::error_code ignored;
  acceptor.close(ignored);
  if (!listening) return failure("cannot be bound (" + listening.error().what() + ")");
  return {};
}

// A unix control socket: its folder usable (it is made when missing), and no node answering
// on it already.
result<> control_socket_free(const fs::path& socket, const fs::path& state_dir) {
  const fs::path dir = socket.parent_path().empty() ? fs::path(".") : socket.parent_path();
  // The state folder is checked on its own.
  if (dir != state_dir) {
    if (auto usable = writable_folder(dir); !usable) return usable.error().prefix("its folder " + dir.string());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure(system_message(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), sizeof addr.sun_path - 1));
  const bool answered = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (answered) return failure("is in use: a node is already running with it");
  return {};
}

}  // namespace

std::vector<std::string> check_ready(const node_settings& s) {
  std::vector<std::string> problems;
  const auto note = [&](const std::string& what, const result<>& r) {
    if (!r) problems.push_back(what + ": " + r.error().what());
  };
  note("state_dir " + s.state_dir.string(), writable_folder(s.state_dir));
  if (!s.net.shared_dir.empty()) {
    note("shared_dir " + s.net.shared_dir.string(), readable_folder(s.net.shared_dir, s.shared_dir_is_default));
  }
  if (!s.net.download_dir.empty()) {
    note("download_dir " + s.net.download_dir.string(), writable_folder(s.net.download_dir));
  }
  asio::io_context io;
  note("listen " + s.net.listen.to_string(), bindable(io, s.net.listen.to_string()));
  if (net::is_unix_socket_path(s.control)) {
    note("control " + s.control, control_socket_free(s.control, s.state_dir));
  } else {
    note("control " + s.control, bindable(io, s.control));
  }
  if (!s.metrics.empty()) note("metrics " + s.metrics, bindable(io, s.metrics));
  if (s.web_enabled) note("web.listen " + s.web_listen, bindable(io, s.web_listen));
  asio::ip::tcp::resolver resolver(io);
  for (const auto& seed : s.seeds) {
    const auto split = split_host_port(seed);
    if (!split) {
      problems.push_back("seeds " + seed + ": " + split.error().what());
      continue;
    }
    std::error_code ec;
    const auto found = resolver.resolve(split->host, std::to_string(split->port), ec);
    if (ec || found.empty()) {
      problems.push_back("seeds " + seed + ": cannot be resolved (" + (ec ? ec.message() : "no address") + ")");
    }
  }
  return problems;
}

}  // namespace hearsay::app

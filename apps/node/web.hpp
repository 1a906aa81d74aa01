#pragma once
// hearsay-node's web interface: pages to search, fetch, follow downloads, share files, and see
// the peers and the node's status, served on the node's machine (127.0.0.1 by default) for a
// browser there or at the end of an SSH tunnel.
//
// The interface is a second client of the node's control endpoint (transport/control.hpp): each
// API call is one control request, and its reply is the control protocol's event objects, the
// shapes `hearsay --json` prints. So the node's state is only ever touched on the node's own
// io thread (the control endpoint runs there), and the CLI and the browser drive one API.
// HTTP comes from cpp-httplib (Debian's libcpp-httplib-dev), which serves requests from a pool
// of threads of its own; live views (search hits, downloads, status) are Server-Sent Events.
//
// Access: a token made on first start in the state folder (web.token, 0600, like the control
// token; transport/paths.hpp) opens a session through the login link `hearsay webui-url` prints
// (http://HOST:PORT/login?token=...): the session is a cookie (HttpOnly, SameSite=Strict), and
// every other request needs it. A request that changes anything (POST) must also carry the
// session's anti-forgery token (the X-Hearsay-Token header, which the page reads from itself)
// and an Origin of this interface. Every request must name this interface in its Host header
// (the loopback names, or the configured address), so that a web page whose domain an attacker
// points at 127.0.0.1 (DNS rebinding) reaches nothing. Live streams are bounded (per session
// and in all) and end after a while (browsers reconnect), so no client can take every thread.
// Files are shared by upload from the browser, never by a path on the node's machine, which
// would read files with the node's rights on a browser's say.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "overlay/result.hpp"
#include "transport/log.hpp"

namespace hearsay::app {

struct web_options {
  std::string host = "127.0.0.1";  // the address to listen on
  std::uint16_t port = 8385;        // 0: any free port (see web_ui::port)
  std::string control;              // the node's control endpoint (a unix socket path, or host:port)
  std::string control_token;        // its token, for a TCP endpoint
  std::filesystem::path state_dir;  // where web.token and web.url are kept
  std::size_t streams_max = 8;       // live streams at once, in all
  std::size_t streams_per_session = 4;  // the status stream and a few searches still running
  std::chrono::seconds stream_lifetime{300};  // a live stream ends then; the browser reconnects
  std::uint64_t upload_bytes_max = std::uint64_t{16} << 30;
};

class web_ui {
 public:
  web_ui(web_options options, const net::logger& log);
  ~web_ui();
  web_ui(const web_ui&) = delete;
  web_ui& operator=(const web_ui&) = delete;

  // Makes (or reads) the access token, binds the address, writes web.url, and serves on
  // threads of its own. Fails with the address or the file that went wrong.
  result<> start();
  // Stops serving and waits for the server's threads (live streams end within a second).
  void stop();
  std::uint16_t port() const;
  // http://HOST:PORT/login?token=TOKEN
  std::string login_url() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// One embedded file of the interface (apps/node/web/), or nullptr.
struct web_asset {
  std::string_view path;  // "/", "/app.js", "/style.css"
  std::string_view type;  // its Content-Type
  std::string_view body;
};
const web_asset* find_web_asset(std::string_view path);

}  // namespace hearsay::app

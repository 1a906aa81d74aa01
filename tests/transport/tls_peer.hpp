#pragma once
// A hand-driven peer for tests that speak frames to a real node: a TCP connection with the
// TLS 1.3 handshake every link of protocol 2 begins with, made with a key of its own (or a
// given one), after which the test writes and reads frames on `stream` as on a socket.

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <stdexcept>
#include <string>

#include "overlay/types.hpp"
#include "transport/endpoint.hpp"
#include "transport/identity.hpp"

namespace hearsay::net::testing {

struct tls_peer {
  // Connects and completes the handshake (blocking); throws when either fails.
  tls_peer(asio::io_context& io, const peer_addr& to, identity key = identity::ephemeral())
      : me(std::move(key)), ctx(asio::ssl::context::tls), stream(io, ctx) {
    std::string error;
    if (!me.configure(ctx.native_handle(), error)) throw std::runtime_error("tls_peer: " + error);
    stream.next_layer().connect(to_endpoint(to));
    stream.handshake(asio::ssl::stream_base::client);
    const auto check = peer_identity(stream.native_handle());
    if (!check.id) throw std::runtime_error("tls_peer: the node's certificate: " + check.error);
    node = *check.id;
  }

  asio::ip::tcp::socket& socket() { return stream.next_layer(); }

  identity me;
  asio::ssl::context ctx;
  asio::ssl::stream<asio::ip::tcp::socket> stream;
  node_id node{};  // the id the node proved
};

}  // namespace hearsay::net::testing

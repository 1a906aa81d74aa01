#pragma once
// Conversions between peer addresses and Asio endpoints, and opening a listening socket:
// shared by the node's acceptor, the control endpoint and the metrics endpoint.

#include <algorithm>
#include <system_error>

#include <asio.hpp>

#include "overlay/result.hpp"
#include "overlay/types.hpp"

namespace hearsay::net {

inline asio::ip::tcp::endpoint to_endpoint(const peer_addr& a) {
  if (a.is_ipv4()) return {asio::ip::address_v4(a.ipv4()), a.port};
  asio::ip::address_v6::bytes_type bytes;
  std::copy(a.ip.begin(), a.ip.end(), bytes.begin());
  return {asio::ip::address_v6(bytes), a.port};
}

inline peer_addr from_endpoint(const asio::ip::tcp::endpoint& e) {
  const auto addr = e.address();
  if (addr.is_v4()) return peer_addr::from_ipv4(addr.to_v4().to_uint(), e.port());
  if (addr.to_v6().is_v4_mapped()) {
    return peer_addr::from_ipv4(asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_uint(), e.port());
  }
  peer_addr p;
  const auto bytes = addr.to_v6().to_bytes();
  std::copy(bytes.begin(), bytes.end(), p.ip.begin());
  p.port = e.port();
  return p;
}

// Opens, binds (reusing the address) and listens; the first error stops it, and its code is
// the failure's (the caller says which endpoint it was opening).
inline result<> listen_on(asio::ip::tcp::acceptor& acceptor, const peer_addr& where, int backlog) {
  std::error_code ec;
  const auto ep = to_endpoint(where);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(backlog, ec);
  return check(ec);
}

}  // namespace hearsay::net

#pragma once
// A hand-driven peer for tests that speak frames to a real node: a TCP connection with the
// TLS 1.3 handshake every link of protocol 2 begins with, made with a key of its own (or a
// given one), after which the test writes and reads frames through `stream`.
//
// The node under test runs on the same io_context, on the test's thread: a blocking call
// here would wait for a node that cannot run. So the handshake, send() and the reads that
// start_reading() begins are asynchronous, and the peer runs the io_context itself (pump)
// until its own operation is done, the node's handlers running meanwhile. Reads go through
// the TLS stream, never the socket: socket.available() does not see bytes that TLS has
// already taken from the socket and holds decrypted.
//
// The pending operations refer to the peer, so it must go before the io_context does (as a
// local of the test body does); its destructor closes the connection and runs the loop until
// they have finished.

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "overlay/codec.hpp"
#include "overlay/types.hpp"
#include "transport/endpoint.hpp"
#include "transport/identity.hpp"

namespace hearsay::net::testing {

struct tls_peer {
  // Runs on the socket after it is opened and before it connects.
  using prepare_fn = std::function<void(asio::ip::tcp::socket&)>;
  // Connect from this local address (the whole 127/8 is loopback: "127.0.0.2" is another host).
  static prepare_fn from(const std::string& ip) {
    return [ip](asio::ip::tcp::socket& s) { s.bind({asio::ip::make_address(ip), 0}); };
  }
  // A small receive buffer, set before connecting so that it sets the TCP window too.
  static prepare_fn receive_window(int bytes) {
    return [bytes](asio::ip::tcp::socket& s) { s.set_option(asio::socket_base::receive_buffer_size(bytes)); };
  }

  // Connects and completes the handshake, running io meanwhile; throws when either fails.
  tls_peer(asio::io_context& io_, const peer_addr& to, identity key = *identity::ephemeral(),
           const prepare_fn& prepare = {})
      : io(io_), me(std::move(key)), ctx(context_for(me)), stream(io_, ctx) {
    const auto endpoint = to_endpoint(to);
    socket().open(endpoint.protocol());
    if (prepare) prepare(socket());
    socket().connect(endpoint);  // completed by the kernel from the node's listen backlog
    pending_ = true;
    stream.async_handshake(asio::ssl::stream_base::client, [this](const std::error_code& ec) {
      pending_ = false;
      written_ = ec;
    });
    if (!pump([&] { return !pending_; })) {
      settle();
      throw std::runtime_error("tls_peer: no handshake with " + to.to_string() + " in time");
    }
    if (written_) throw std::runtime_error("tls_peer: handshake with " + to.to_string() + ": " + written_.message());
    const auto proven = peer_identity(stream.native_handle());
    if (!proven) throw std::runtime_error("tls_peer: the node's certificate: " + proven.error().what());
    node = proven->id;
  }
  // As the constructor, but nullptr instead of an exception (a connection the node refuses).
  static std::unique_ptr<tls_peer> try_connect(asio::io_context& io, const peer_addr& to,
                                               const prepare_fn& prepare = {}) {
    try {
      return std::make_unique<tls_peer>(io, to, *identity::ephemeral(), prepare);
    } catch (const std::exception&) {
      return nullptr;
    }
  }

  ~tls_peer() { settle(); }
  tls_peer(const tls_peer&) = delete;
  tls_peer& operator=(const tls_peer&) = delete;

  asio::ip::tcp::socket& socket() { return stream.next_layer(); }

  // Runs the loop until done() holds; false if `limit` passes first.
  bool pump(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_one_for(std::chrono::milliseconds(5));
      if (io.stopped()) io.restart();
    }
    return true;
  }

  // Writes the bytes through TLS (one write: a record for up to 16 KiB), running the loop
  // until the write is done. The error once the node has closed the connection (a first
  // write after its close may still succeed: the kernel takes it before the reset comes).
  std::error_code send(std::span<const std::uint8_t> bytes) {
    wbuf_.assign(bytes.begin(), bytes.end());
    writing_ = true;
    asio::async_write(stream, asio::buffer(wbuf_), [this](const std::error_code& ec, std::size_t) {
      writing_ = false;
      written_ = ec;
    });
    if (!pump([&] { return !writing_; })) {
      settle();
      return std::make_error_code(std::errc::timed_out);
    }
    return written_;
  }
  std::error_code send(const std::vector<std::uint8_t>& bytes) { return send(std::span(bytes)); }
  // Each byte in a write, so a TLS record, of its own: the node reads them one at a time.
  std::error_code send_bytewise(std::span<const std::uint8_t> bytes) {
    for (auto b : bytes) {
      if (auto ec = send(std::span(&b, 1))) return ec;
    }
    return {};
  }

  // From now on, reads whatever the node sends while the loop runs (the test's run_until,
  // pump or send): with `frames`, the bytes are split into frames and decoded into `frames`
  // (what does not decode is counted in `undecodable`, and on_frame sees each frame as it
  // comes); without, only counted (a transfer's raw bytes are not frames). `closed` is set
  // when the node ends the connection, with the read's error in read_error.
  void start_reading(bool decode = true) {
    if (reading_) return;
    decode_ = decode;
    read_more();
  }
  // Whether the node closes the connection within `limit` (reading from now on if the test
  // was not reading yet).
  bool closed_by_node(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    start_reading(decode_);
    return pump([&] { return closed; }, limit);
  }
  // Ends the connection with a TCP reset (SO_LINGER 0) instead of a close, as a process that
  // dies mid-transfer does, and lets the pending read finish.
  void reset() {
    std::error_code ec;
    socket().set_option(asio::socket_base::linger(true, 0), ec);
    settle();
  }

  // The decoded frames, in the order they came.
  std::vector<codec::decoded> frames;
  std::size_t undecodable = 0;
  std::uint64_t bytes_received = 0;
  bool closed = false;
  std::error_code read_error;
  std::function<void(const codec::decoded&)> on_frame;

  asio::io_context& io;
  identity me;
  asio::ssl::context ctx;
  asio::ssl::stream<asio::ip::tcp::socket> stream;
  node_id node{};  // the id the node proved

 private:
  // The context must hold the certificate before the stream is made: the stream's SSL object
  // copies the context's certificate, key and settings when it is created.
  static asio::ssl::context context_for(const identity& key) {
    asio::ssl::context c(asio::ssl::context::tls);
    if (auto configured = key.configure(c.native_handle()); !configured) {
      throw std::runtime_error("tls_peer: " + configured.error().what());
    }
    return c;
  }

  void read_more() {
    reading_ = true;
    stream.async_read_some(asio::buffer(rbuf_), [this](const std::error_code& ec, std::size_t n) {
      reading_ = false;
      if (ec) {
        if (!closing_) {
          closed = true;
          read_error = ec;
        }
        return;
      }
      bytes_received += n;
      if (decode_) {
        if (!reader_.feed(std::span(rbuf_.data(), n))) ++undecodable;  // an oversize prefix: nothing more is a frame
        for (auto f = reader_.next(); !f.empty(); f = reader_.next()) {
          auto r = codec::decode(f, codec::limits{});
          if (!r.ok()) {
            ++undecodable;
            continue;
          }
          frames.push_back(std::move(r).value());
          if (on_frame) on_frame(frames.back());
        }
      }
      read_more();
    });
  }

  // Closes the connection and runs the loop until no operation of ours is pending.
  void settle() {
    closing_ = true;
    std::error_code ec;
    socket().close(ec);
    pump([&] { return !reading_ && !writing_ && !pending_; }, std::chrono::seconds(5));
  }

  std::array<std::uint8_t, 16384> rbuf_{};
  codec::frame_reader reader_{codec::limits{}};
  std::vector<std::uint8_t> wbuf_;
  std::error_code written_;  // of the last write (or of the handshake)
  bool decode_ = true;
  bool reading_ = false;
  bool writing_ = false;
  bool pending_ = false;  // the handshake
  bool closing_ = false;
};

}  // namespace hearsay::net::testing

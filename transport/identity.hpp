#pragma once
// A node's identity: a long-term Ed25519 key pair, and the node id derived from its public
// key. Links are TLS 1.3 with a self-signed certificate that carries the node key itself
// (after libp2p's TLS handshake, without its extension: our certificate key *is* the node
// key), so a completed handshake proves that the other side holds the private key of the id
// it is credited with. The certificate is only a carrier: no authority, no names, no expiry
// that matters; what we check of it is here (certificate_identity), and the fuzzers run it.
//
// OpenSSL does the cryptography and the TLS state machine (Debian's libssl3, already used for
// SHA-256); nothing here implements a primitive.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "overlay/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace hearsay::net {

// SHA-256 of the domain string "hearsay node id v1" followed by the 32-byte Ed25519 public
// key. Printed as 64 hex digits; short() gives the first 16, enough to tell peers apart in a
// table (the whole id is what is compared).
struct node_id {
  std::array<std::uint8_t, 32> bytes{};

  std::string to_hex() const;
  std::string short_hex() const { return to_hex().substr(0, 16); }
  static std::optional<node_id> from_hex(std::string_view hex);
  bool is_zero() const;

  friend auto operator<=>(const node_id&, const node_id&) = default;
  friend bool operator==(const node_id&, const node_id&) = default;
};

node_id id_of_public_key(std::span<const std::uint8_t, 32> public_key);

// What a peer's certificate proves: the node key it carries and the id derived from it.
struct certified_key {
  node_id id;
  std::array<std::uint8_t, 32> public_key{};
};
// Our checks of a DER X.509 certificate: its key is Ed25519 and it is signed by that same
// key. The failure says what was wrong. Validity dates, names and extensions are not looked at.
result<certified_key> certificate_identity(std::span<const std::uint8_t> der);

// The node's key pair, and a certificate for it made at start.
class identity {
 public:
  identity();
  ~identity();
  identity(identity&&) noexcept;
  identity& operator=(identity&&) noexcept;

  // A key made now and kept in memory only (tests, throwaway nodes).
  static result<identity> ephemeral();
  // The key in file, created on first use (mode 0600, written whole or not at all). A file
  // that others may read or write, that is not a regular file owned by this user, or that
  // holds anything but an Ed25519 private key is refused with the reason.
  static result<identity> load_or_create(const std::filesystem::path& file);

  const node_id& id() const { return id_; }
  const std::array<std::uint8_t, 32>& public_key() const { return public_; }
  bool valid() const { return key_ != nullptr; }

  // Makes ctx speak TLS 1.3 only, present this identity's certificate, ask every peer for
  // one (both directions) and take any self-signed leaf: the caller checks the peer's
  // certificate with peer_identity once the handshake is done. No session resumption (each
  // handshake proves the key again). Fails with OpenSSL's reason when it refuses.
  result<> configure(SSL_CTX* ctx) const;
  // A certificate for this key as configure() makes it, in DER (tests, fuzz seeds).
  result<std::vector<std::uint8_t>> certificate_der() const;

 private:
  void adopt(EVP_PKEY* key);
  EVP_PKEY* key_ = nullptr;
  node_id id_{};
  std::array<std::uint8_t, 32> public_{};
};

// The identity a finished handshake proved for the other side of ssl.
result<certified_key> peer_identity(SSL* ssl);

// Whether the first bytes of a connection (at least three) begin a TLS handshake record, as
// every hearsay link of protocol 2 does; an older node begins with a plaintext frame.
bool looks_like_tls(std::span<const std::uint8_t> first);

}  // namespace hearsay::net

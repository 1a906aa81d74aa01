// Node keys, node ids and the TLS certificate checks (see identity.hpp).

#include "transport/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "transport/sha256.hpp"
#include "transport/last_error.hpp"

namespace hearsay::net {

namespace {

constexpr std::string_view id_domain = "hearsay node id v1";

// The last OpenSSL error as text, and the queue emptied (a stale error must not be reported
// for a later failure).
std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}


struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// A self-signed certificate for key: random serial, valid from an hour ago for a year (no
// peer checks the dates; a year only keeps tools that inspect it quiet).
result<x509_ptr> make_certificate(EVP_PKEY* key, const node_id& id) {
  x509_ptr cert(X509_new());
  if (!cert) return failure(openssl_error());
  std::uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) return failure(openssl_error());
  serial >>= 1;  // positive
  const std::string cn = "hearsay " + id.short_hex();
  X509_NAME* name = X509_get_subject_name(cert.get());
  const bool ok =
      X509_set_version(cert.get(), 2) == 1 && ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600) != nullptr &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) == 1 &&
      X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key) == 1 &&
      X509_sign(cert.get(), key, nullptr) > 0;  // Ed25519 signs without a separate digest
  if (!ok) return failure(openssl_error());
  return cert;
}

result<std::array<std::uint8_t, 32>> raw_public_key(EVP_PKEY* key) {
  std::array<std::uint8_t, 32> out{};
  std::size_t n = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &n) != 1 || n != out.size()) {
    ERR_clear_error();
    return failure("unreadable Ed25519 key");
  }
  return out;
}

}  // namespace

// ---- node ids ---------------------------------------------------------------------------

// The same text as a digest's: its printer and parser serve both.
std::string node_id::to_hex() const {
  sha256_digest d;
  d.bytes = bytes;
  return d.to_hex();
}

std::optional<node_id> node_id::from_hex(std::string_view hex) {
  const auto d = sha256_digest::from_hex(hex);
  if (!d) return std::nullopt;
  node_id id;
  id.bytes = d->bytes;
  return id;
}

bool node_id::is_zero() const {
  for (auto b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

node_id id_of_public_key(std::span<const std::uint8_t, 32> public_key) {
  sha256_stream h;
  h.update(std::span(reinterpret_cast<const std::uint8_t*>(id_domain.data()), id_domain.size()));
  h.update(public_key);
  node_id id;
  id.bytes = h.finish().bytes;
  return id;
}

// ---- certificate checks -------------------------------------------------------------------

result<certified_key> certificate_identity(std::span<const std::uint8_t> der) {
  if (der.empty() || der.size() > 16384) return failure("certificate of " + std::to_string(der.size()) + " bytes");
  const unsigned char* p = der.data();
  x509_ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    ERR_clear_error();
    return failure("not a DER certificate");
  }
  if (p != der.data() + der.size()) return failure("bytes after the certificate");
  EVP_PKEY* key = X509_get0_pubkey(cert.get());  // owned by cert
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    return failure("the certificate's key is not Ed25519");
  }
  if (X509_verify(cert.get(), key) != 1) {
    ERR_clear_error();
    return failure("the certificate is not signed by its own key");
  }
  const auto raw = raw_public_key(key);
  if (!raw) return raw.error();
  return certified_key{id_of_public_key(*raw), *raw};
}

result<certified_key> peer_identity(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return failure("no certificate");
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) {
    ERR_clear_error();
    return failure("unencodable certificate");
  }
  auto out = certificate_identity(std::span<const std::uint8_t>(der, static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return out;
}

bool looks_like_tls(std::span<const std::uint8_t> first) {
  // A handshake record (22), major version 3, minor 1 to 4 (a ClientHello's record says 1 or 3).
  return first.size() >= 3 && first[0] == 0x16 && first[1] == 0x03 && first[2] >= 0x01 && first[2] <= 0x04;
}

// ---- the node's key -------------------------------------------------------------------------

identity::identity() = default;
identity::~identity() { EVP_PKEY_free(key_); }
identity::identity(identity&& o) noexcept : key_(o.key_), id_(o.id_), public_(o.public_) { o.key_ = nullptr; }
identity& identity::operator=(identity&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(key_);
    key_ = o.key_;
    id_ = o.id_;
    public_ = o.public_;
    o.key_ = nullptr;
  }
  return *this;
}

void identity::adopt(EVP_PKEY* key) {
  EVP_PKEY_free(key_);
  key_ = key;
  // An Ed25519 key always has its 32 bytes; the callers test the key's type.
  if (auto raw = raw_public_key(key_)) public_ = *raw;
  id_ = id_of_public_key(public_);
}

result<identity> identity::ephemeral() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return failure("cannot make a key: " + openssl_error());
  identity out;
  out.adopt(key);
  return out;
}

result<identity> identity::load_or_create(const std::filesystem::path& file) {
  const std::string where = file.string();
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // First start: a new key, written to a temporary file and linked into place, so that a
    // crash leaves no half key and two nodes started at once on one folder agree on one key.
    auto made = ephemeral();
    if (!made) return made.error();
    const std::string tmp = where + ".new." + std::to_string(::getpid());
    const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return failure(last_error(), "cannot create " + tmp);
    std::FILE* f = ::fdopen(out, "w");
    bool ok = f != nullptr && PEM_write_PrivateKey(f, made->key_, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    ok = f != nullptr && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0 && ok;
    if (f != nullptr) {
      std::fclose(f);
    } else {
      ::close(out);
    }
    if (!ok) {
      ::unlink(tmp.c_str());
      return failure("cannot write " + tmp);
    }
    const int linked = ::link(tmp.c_str(), file.c_str());
    const std::error_code link_error = last_error();
    ::unlink(tmp.c_str());
    if (linked == 0) return made;
    if (link_error != std::errc::file_exists) return failure(link_error, "cannot create " + where);
    fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);  // another start made it first
  }
  if (fd < 0) return failure(last_error(), "cannot open " + where);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return failure(where + " is not a regular file");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    return failure(where + " belongs to another user (uid " + std::to_string(st.st_uid) + ")");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return failure(where + " has mode " + mode + ": a private key must be readable by its owner only (chmod 600 " +
                   where + ")");
  }
  std::FILE* f = ::fdopen(fd, "r");
  if (f == nullptr) {
    ::close(fd);
    return failure("cannot read " + where);
  }
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) {
    ERR_clear_error();
    return failure(where + " does not hold a PEM private key");
  }
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return failure(where + " holds a key of another type than Ed25519");
  }
  identity out;
  out.adopt(key);
  return out;
}

result<std::vector<std::uint8_t>> identity::certificate_der() const {
  if (key_ == nullptr) return failure("no node key");
  const auto cert = make_certificate(key_, id_);
  if (!cert) return cert.error();
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert->get(), &der);
  if (n <= 0) return failure(openssl_error());
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

result<> identity::configure(SSL_CTX* ctx) const {
  if (key_ == nullptr) return failure("no node key");
  const auto cert = make_certificate(key_, id_);
  if (!cert) return cert.error();
  const bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_use_certificate(ctx, cert->get()) == 1 && SSL_CTX_use_PrivateKey(ctx, key_) == 1 &&
                  SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set1_sigalgs_list(ctx, "ed25519") == 1 &&
                  // AES-128-GCM first: as strong as the link needs, and the fastest with AES
                  // instructions; ChaCha20 for processors without them.
                  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384") == 1 &&
                  SSL_CTX_set_num_tickets(ctx, 0) == 1;
  if (!ok) return failure(openssl_error());
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  // Both sides must present a certificate. Any self-signed leaf passes OpenSSL's chain check
  // (there is no authority to chain to); certificate_identity decides what it proves.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     [](int, X509_STORE_CTX* store) -> int { return X509_STORE_CTX_get_error_depth(store) == 0 ? 1 : 0; });
  return {};
}

}  // namespace hearsay::net

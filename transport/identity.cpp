// Node keys, node ids and the TLS certificate checks (see identity.hpp).

#include "transport/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "transport/sha256.hpp"

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
x509_ptr make_certificate(EVP_PKEY* key, const node_id& id, std::string& error) {
  x509_ptr cert(X509_new());
  if (!cert) {
    error = openssl_error();
    return nullptr;
  }
  std::uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) {
    error = openssl_error();
    return nullptr;
  }
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
  if (!ok) {
    error = openssl_error();
    return nullptr;
  }
  return cert;
}

bool raw_public_key(EVP_PKEY* key, std::array<std::uint8_t, 32>& out) {
  std::size_t n = out.size();
  return EVP_PKEY_get_raw_public_key(key, out.data(), &n) == 1 && n == out.size();
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

certificate_check certificate_identity(std::span<const std::uint8_t> der) {
  certificate_check out;
  if (der.empty() || der.size() > 16384) {
    out.error = "certificate of " + std::to_string(der.size()) + " bytes";
    return out;
  }
  const unsigned char* p = der.data();
  x509_ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    ERR_clear_error();
    out.error = "not a DER certificate";
    return out;
  }
  if (p != der.data() + der.size()) {
    out.error = "bytes after the certificate";
    return out;
  }
  EVP_PKEY* key = X509_get0_pubkey(cert.get());  // owned by cert
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    out.error = "the certificate's key is not Ed25519";
    return out;
  }
  if (X509_verify(cert.get(), key) != 1) {
    ERR_clear_error();
    out.error = "the certificate is not signed by its own key";
    return out;
  }
  if (!raw_public_key(key, out.public_key)) {
    ERR_clear_error();
    out.error = "unreadable Ed25519 key";
    return out;
  }
  out.id = id_of_public_key(out.public_key);
  return out;
}

certificate_check peer_identity(SSL* ssl) {
  certificate_check out;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) {
    out.error = "no certificate";
    return out;
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) {
    ERR_clear_error();
    out.error = "unencodable certificate";
    return out;
  }
  out = certificate_identity(std::span<const std::uint8_t>(der, static_cast<std::size_t>(n)));
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
  const bool ok = raw_public_key(key_, public_);
  (void)ok;  // an Ed25519 key always has its 32 bytes; checked by the callers' type test
  id_ = id_of_public_key(public_);
}

identity identity::ephemeral() {
  identity out;
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) {
    ERR_clear_error();
    return out;  // !valid(): the node refuses to start with the reason
  }
  out.adopt(key);
  return out;
}

std::optional<identity> identity::load_or_create(const std::filesystem::path& file, std::string& error) {
  const std::string where = file.string();
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // First start: a new key, written to a temporary file and linked into place, so that a
    // crash leaves no half key and two nodes started at once on one folder agree on one key.
    identity made = ephemeral();
    if (!made.valid()) {
      error = "cannot make a key: " + openssl_error();
      return std::nullopt;
    }
    const std::string tmp = where + ".new." + std::to_string(::getpid());
    const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
      error = "cannot create " + tmp + ": " + std::strerror(errno);
      return std::nullopt;
    }
    std::FILE* f = ::fdopen(out, "w");
    bool ok = f != nullptr && PEM_write_PrivateKey(f, made.key_, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    ok = f != nullptr && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0 && ok;
    if (f != nullptr) {
      std::fclose(f);
    } else {
      ::close(out);
    }
    if (!ok) {
      ::unlink(tmp.c_str());
      error = "cannot write " + tmp;
      return std::nullopt;
    }
    const int linked = ::link(tmp.c_str(), file.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (linked == 0) return made;
    if (link_errno != EEXIST) {
      error = "cannot create " + where + ": " + std::strerror(link_errno);
      return std::nullopt;
    }
    fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);  // another start made it first
  }
  if (fd < 0) {
    error = "cannot open " + where + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = where + " is not a regular file";
    return std::nullopt;
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    error = where + " belongs to another user (uid " + std::to_string(st.st_uid) + ")";
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    error = where + " has mode " + mode + ": a private key must be readable by its owner only (chmod 600 " + where + ")";
    return std::nullopt;
  }
  std::FILE* f = ::fdopen(fd, "r");
  if (f == nullptr) {
    ::close(fd);
    error = "cannot read " + where;
    return std::nullopt;
  }
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) {
    ERR_clear_error();
    error = where + " does not hold a PEM private key";
    return std::nullopt;
  }
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    error = where + " holds a key of another type than Ed25519";
    return std::nullopt;
  }
  identity out;
  out.adopt(key);
  return out;
}

std::vector<std::uint8_t> identity::certificate_der() const {
  std::string error;
  if (key_ == nullptr) return {};
  const x509_ptr cert = make_certificate(key_, id_, error);
  if (!cert) return {};
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  if (n <= 0) {
    ERR_clear_error();
    return {};
  }
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

bool identity::configure(SSL_CTX* ctx, std::string& error) const {
  if (key_ == nullptr) {
    error = "no node key";
    return false;
  }
  const x509_ptr cert = make_certificate(key_, id_, error);
  if (!cert) return false;
  const bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_use_certificate(ctx, cert.get()) == 1 && SSL_CTX_use_PrivateKey(ctx, key_) == 1 &&
                  SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set1_sigalgs_list(ctx, "ed25519") == 1 &&
                  // AES-128-GCM first: as strong as the link needs, and the fastest with AES
                  // instructions; ChaCha20 for processors without them.
                  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384") == 1 &&
                  SSL_CTX_set_num_tickets(ctx, 0) == 1;
  if (!ok) {
    error = openssl_error();
    return false;
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  // Both sides must present a certificate. Any self-signed leaf passes OpenSSL's chain check
  // (there is no authority to chain to); certificate_identity decides what it proves.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     [](int, X509_STORE_CTX* store) -> int { return X509_STORE_CTX_get_error_depth(store) == 0 ? 1 : 0; });
  return true;
}

}  // namespace hearsay::net

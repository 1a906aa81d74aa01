// SHA-256 through OpenSSL (see sha256.hpp).

#include "transport/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "overlay/assert.hpp"

namespace hearsay::net {

namespace {
// Fetched once: an explicit fetch is cheaper than the implicit one behind EVP_sha256() on
// every initialisation. Never freed (it lives as long as the process).
const EVP_MD* algorithm() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    HEARSAY_ASSERT(fetched != nullptr);
    return fetched;
  }();
  return md;
}
}  // namespace

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
  HEARSAY_ASSERT(ctx_ != nullptr);
  reset();
}

sha256_stream::~sha256_stream() { EVP_MD_CTX_free(ctx_); }

sha256_stream::sha256_stream(sha256_stream&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

sha256_stream& sha256_stream::operator=(sha256_stream&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  return *this;
}

void sha256_stream::reset() { HEARSAY_ASSERT(EVP_DigestInit_ex2(ctx_, algorithm(), nullptr) == 1); }

void sha256_stream::update(std::span<const std::uint8_t> bytes) {
  if (!bytes.empty()) HEARSAY_ASSERT(EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) == 1);
}

sha256_digest sha256_stream::finish() {
  sha256_digest out;
  unsigned int length = 0;
  HEARSAY_ASSERT(EVP_DigestFinal_ex(ctx_, out.bytes.data(), &length) == 1 && length == out.bytes.size());
  reset();
  return out;
}

sha256_digest sha256_stream::of(std::span<const std::uint8_t> bytes) {
  sha256_stream h;
  h.update(bytes);
  return h.finish();
}

sha256_digest sha256_stream::of(std::string_view text) {
  return of(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

result<file_digest> hash_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(std::error_code(errno, std::generic_category()), "cannot open " + path.string());
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  sha256_stream h;
  std::vector<std::uint8_t> buf(1u << 20);
  file_digest out;
  std::error_code ec;
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ec.assign(errno, std::generic_category());
      break;
    }
    if (n == 0) break;
    h.update(std::span(buf.data(), static_cast<std::size_t>(n)));
    out.size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  if (ec) return failure(ec, "cannot read " + path.string());
  out.digest = h.finish();
  return out;
}

}  // namespace hearsay::net

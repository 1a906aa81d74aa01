#pragma once
// SHA-256 through OpenSSL's EVP interface, which uses the processor's SHA extensions where
// it has them (several times the speed of portable code). The overlay names files by their
// digest (sha256_digest) and never hashes anything itself: hashing happens where files are
// read, here in the transport.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "overlay/result.hpp"
#include "overlay/types.hpp"

struct evp_md_ctx_st;

namespace hearsay::net {

class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(sha256_stream&& other) noexcept;
  sha256_stream& operator=(sha256_stream&& other) noexcept;
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;

  void update(std::span<const std::uint8_t> bytes);
  // The digest of everything since the last finish() or reset(); the stream then starts over.
  sha256_digest finish();
  void reset();

  static sha256_digest of(std::span<const std::uint8_t> bytes);
  static sha256_digest of(std::string_view text);

 private:
  evp_md_ctx_st* ctx_ = nullptr;
};

// A whole file's digest, and the number of bytes hashed.
struct file_digest {
  sha256_digest digest;
  std::uint64_t size = 0;
};
// Hashes a whole file with large reads. A failure keeps the system's error code.
result<file_digest> hash_file(const std::filesystem::path& path);

}  // namespace hearsay::net

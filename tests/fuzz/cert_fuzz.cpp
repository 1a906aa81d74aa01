// Fuzzes our own checks of a peer's certificate (transport/identity.hpp): any bytes may
// arrive as a certificate in a TLS handshake. OpenSSL's parser and TLS state machine are
// OpenSSL's to fuzz; what is ours is the decision what the bytes prove and the id derived.
// Invariants: no crash or leak; an accepted certificate gives the id of the key it reports,
// and the same bytes give the same answer twice; the TLS sniffing never reads past its input.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "transport/identity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hearsay::net;
  const std::span<const std::uint8_t> bytes(data, size);
  const auto first = certificate_identity(bytes);
  if (first) {
    if (first->id != id_of_public_key(first->public_key)) std::abort();
  } else if (first.error().what().empty()) {
    std::abort();  // a refusal always says why
  }
  const auto second = certificate_identity(bytes);
  if (second.ok() != first.ok()) std::abort();
  if (first && (second->id != first->id || second->public_key != first->public_key)) std::abort();
  if (!first && second.error().what() != first.error().what()) std::abort();
  (void)looks_like_tls(bytes.first(size < 3 ? size : 3));
  return 0;
}

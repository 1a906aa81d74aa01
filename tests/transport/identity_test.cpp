// Node keys and ids: the key file, the id derivation, our certificate checks, and what the
// real node does with the ids its TLS handshakes prove (an address taken by another key, a
// dial that finds another node than before).

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "overlay/codec.hpp"
#include "tests/transport/cluster.hpp"
#include "tests/transport/tls_peer.hpp"
#include "transport/endpoint.hpp"
#include "transport/identity.hpp"
#include "transport/net_node.hpp"

using namespace hearsay;
using namespace hearsay::net;
using namespace hearsay::net::testing;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A self-signed certificate of a P-256 key: well formed, signed by its own key, but not an
// Ed25519 one.
std::vector<std::uint8_t> ec_certificate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(key != nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  REQUIRE(n > 0);
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace

TEST_CASE("a node key is made once with mode 0600 and gives the same id on every start", "[net][identity]") {
  temp_dir dir("identity-key");
  const auto file = dir.path / "node.key";
  auto first = identity::load_or_create(file);
  REQUIRE(first);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_all(file).find("-----BEGIN PRIVATE KEY-----") == 0);
  auto again = identity::load_or_create(file);
  REQUIRE(again);
  CHECK(again->id() == first->id());
  CHECK(again->public_key() == first->public_key());
  CHECK(first->id() == id_of_public_key(first->public_key()));
  // Another key, another id.
  CHECK(identity::ephemeral()->id() != first->id());
  // No temporary file is left beside it.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("a key file others can read, a link, garbage or a folder is refused with the reason", "[net][identity]") {
  temp_dir dir("identity-refused");
  const auto file = dir.path / "node.key";
  REQUIRE(identity::load_or_create(file));
  // The reason a key file is refused.
  auto refusal = [](const fs::path& f) {
    const auto loaded = identity::load_or_create(f);
    return loaded ? std::string() : loaded.error().what();
  };

  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  CHECK_FALSE(identity::load_or_create(file));
  CHECK(refusal(file).find("mode 0644") != std::string::npos);
  CHECK(refusal(file).find("chmod 600") != std::string::npos);
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  CHECK(identity::load_or_create(file));

  const auto link = dir.path / "link.key";
  fs::create_symlink(file, link);
  CHECK_FALSE(identity::load_or_create(link));
  CHECK(refusal(link).find("cannot open") != std::string::npos);

  const auto junk = dir.path / "junk.key";
  {
    std::ofstream out(junk);
    out << "not a key\n";
  }
  REQUIRE(::chmod(junk.c_str(), 0600) == 0);
  CHECK_FALSE(identity::load_or_create(junk));
  CHECK(refusal(junk).find("does not hold a PEM private key") != std::string::npos);

  const auto folder = dir.path / "folder.key";
  fs::create_directories(folder);
  CHECK_FALSE(identity::load_or_create(folder));
  CHECK(refusal(folder).find("not a regular file") != std::string::npos);
}

TEST_CASE("a node id is SHA-256 of the domain string and the public key, as published", "[net][identity]") {
  // RFC 8032's first Ed25519 test key; the id was computed independently (Python's hashlib
  // over b"hearsay node id v1" + key). Changing the derivation changes every node's id.
  const auto key = *sha256_digest::from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const node_id id = id_of_public_key(std::span<const std::uint8_t, 32>(key.bytes));
  CHECK(id.to_hex() == "d97c4a78ebc8838773e883458556eb536fc54fa697fd9d9424f862959c1112d2");
  CHECK(id.short_hex() == "d97c4a78ebc88387");
  CHECK(node_id::from_hex(id.to_hex()) == id);
  CHECK_FALSE(node_id::from_hex("d97c"));
}

TEST_CASE("certificate checks: our own Ed25519 self-signed certificate passes, anything else is refused", "[net][identity]") {
  const identity me = *identity::ephemeral();
  const auto made = me.certificate_der();
  REQUIRE(made);
  const std::vector<std::uint8_t>& der = *made;
  REQUIRE_FALSE(der.empty());
  const auto good = certificate_identity(der);
  REQUIRE(good);
  CHECK(good->id == me.id());
  CHECK(good->public_key == me.public_key());

  auto refused = [](const std::vector<std::uint8_t>& bytes, const std::string& why) {
    const auto r = certificate_identity(bytes);
    REQUIRE_FALSE(r);
    CHECK(r.error().what().find(why) != std::string::npos);
  };
  refused({}, "certificate of 0 bytes");
  refused({0x30, 0x03, 0x02, 0x01, 0x05}, "not a DER certificate");
  auto trailing = der;
  trailing.push_back(0);
  refused(trailing, "bytes after the certificate");
  // The signature is the last 64 bytes of the DER; a flipped bit breaks it.
  auto forged = der;
  forged[forged.size() - 10] ^= 0x01;
  refused(forged, "not signed by its own key");
  refused(ec_certificate(), "not Ed25519");

  CHECK(looks_like_tls(std::vector<std::uint8_t>{0x16, 0x03, 0x01}));
  CHECK(looks_like_tls(std::vector<std::uint8_t>{0x16, 0x03, 0x03, 0x00}));
  CHECK_FALSE(looks_like_tls(std::vector<std::uint8_t>{0x16, 0x03, 0x00}));  // a 790-byte plaintext frame
  CHECK_FALSE(looks_like_tls(std::vector<std::uint8_t>{0x16, 0x03}));
}

TEST_CASE("nodes prove their ids to each other; a client sees the node's id in its handshake", "[net][identity]") {
  cluster c("identity-nodes");
  auto& a = c.add();
  auto& b = c.add();
  REQUIRE(c.run_until([&] { return a.overlay().members().is_active(b.address()) && b.overlay().members().is_active(a.address()); }));
  CHECK(a.id() != b.id());
  CHECK(a.id_of(b.address()) == b.id());
  CHECK(b.id_of(a.address()) == a.id());
  tls_peer probe(c.io, a.address());
  CHECK(probe.node == a.id());
  // The node saw the client's key too: a HELLO over the link is answered with its own.
  probe.start_reading();
  REQUIRE_FALSE(probe.send(codec::encode_frame(*peer_addr::parse("127.0.0.1:9"), msg_hello{"test", *peer_addr::parse("127.0.0.1:9"), "probe", false})));
  REQUIRE(c.run_until([&] { return !probe.frames.empty(); }));
  CHECK(std::holds_alternative<msg_hello>(probe.frames.front().msg));
}

TEST_CASE("a link that claims the address of a node already known there is refused", "[net][identity]") {
  cluster c("identity-impostor");
  auto& a = c.add();
  auto& b = c.add();
  REQUIRE(c.run_until([&] { return a.overlay().members().is_active(b.address()); }));
  // Another key on the same IP says it listens at b's port.
  const auto failed_before = a.stats().connections_failed;
  tls_peer impostor(c.io, a.address());
  // HELLO and a DISCONNECT in b's name, in one write (the node may close before a second).
  auto bytes = codec::encode_frame(b.address(), msg_hello{"test", b.address(), "impostor", false});
  const auto bye = codec::encode_frame(b.address(), msg_disconnect{});
  bytes.insert(bytes.end(), bye.begin(), bye.end());
  REQUIRE_FALSE(impostor.send(bytes));
  CHECK(impostor.closed_by_node());
  CHECK(a.stats().connections_failed == failed_before + 1);
  // A key of its own at an address of its own is welcome: the refusal was for b's address.
  tls_peer honest(c.io, a.address());
  honest.start_reading();
  const auto own = *peer_addr::parse("127.0.0.1:9");
  REQUIRE_FALSE(honest.send(codec::encode_frame(own, msg_hello{"test", own, "honest", false})));
  REQUIRE_FALSE(honest.send(codec::encode_frame(own, msg_ping{5})));
  REQUIRE(c.run_until([&] { return honest.frames.size() >= 2; }));
  CHECK(std::holds_alternative<msg_pong>(honest.frames[1].msg));
  c.run_for(std::chrono::milliseconds(100));
  CHECK(a.overlay().members().is_active(b.address()));  // its DISCONNECT was not taken as b's
  CHECK(a.id_of(b.address()) == b.id());
}

TEST_CASE("a dial that finds another node than the one proven at that address before fails", "[net][identity]") {
  cluster c("identity-mismatch");
  auto& seed = c.add();
  // A peers file that says another key lives at the seed's address: as after a restart when
  // someone else has taken the address.
  const auto peers = c.dir.path / "peers.txt";
  const node_id other = identity::ephemeral()->id();
  {
    std::ofstream out(peers);
    out << seed.address().to_string() << " " << other.to_hex() << "\n";
  }
  c.tweak = [&](net_config& cfg) {
    cfg.overlay.seeds.clear();
    cfg.peers_file = peers;
  };
  auto& late = c.add(false);
  CHECK(late.id_of(seed.address()) == other);
  c.run_for(std::chrono::milliseconds(1500));
  CHECK_FALSE(late.overlay().members().is_active(seed.address()));
  CHECK_FALSE(seed.overlay().members().is_active(late.address()));
  CHECK(late.stats().connections_failed >= 1);
  CHECK(late.id_of(seed.address()) == other);  // not overwritten by what the dial found

  // With the right id in the file, the same start gets in.
  {
    std::ofstream out(peers);
    out << seed.address().to_string() << " " << seed.id().to_hex() << "\n";
  }
  auto& right = c.add(false);
  REQUIRE(c.run_until([&] { return right.overlay().members().is_active(seed.address()); }));
  CHECK(right.id_of(seed.address()) == seed.id());
}

TEST_CASE("a node with an unusable key file does not start, and says why", "[net][identity]") {
  cluster c("identity-start");
  const auto key = c.dir.path / "node.key";
  {
    std::ofstream out(key);
    out << "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  }
  REQUIRE(::chmod(key.c_str(), 0600) == 0);
  net_config cfg;
  cfg.listen = *peer_addr::parse("127.0.0.1:0", 0, true);
  cfg.key_file = key;
  net_node n(c.io, cfg, c.log);
  CHECK_FALSE(n.start());
  // A good key in its place: the node starts, and its id is the key's.
  fs::remove(key);
  auto made = identity::load_or_create(key);
  REQUIRE(made);
  net_node again(c.io, cfg, c.log);
  REQUIRE(again.start());
  CHECK(again.id() == made->id());
}

TEST_CASE("addresses this node never reached are not passed on in its shuffles", "[net][identity]") {
  cluster c("identity-withheld");
  auto& b = c.add();
  // A remembers addresses it has never reached: listeners that take the TCP connection and
  // never answer TLS, so a dial there waits out the connect timeout and they stay in its
  // passive view meanwhile.
  const auto peers = c.dir.path / "peers.txt";
  std::vector<peer_addr> unreached;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> silent;
  {
    std::ofstream out(peers);
    for (int i = 0; i < 4; ++i) {
      silent.push_back(std::make_unique<asio::ip::tcp::acceptor>(c.io));
      REQUIRE(listen_on(*silent.back(), *peer_addr::parse("127.0.0.1:0", 0, true), 16));
      unreached.push_back(from_endpoint(silent.back()->local_endpoint()));
      out << unreached.back().to_string() << "\n";
    }
  }
  c.tweak = [&](net_config& cfg) { cfg.peers_file = peers; };
  auto& a = c.add();
  REQUIRE(c.run_until([&] { return a.overlay().members().is_active(b.address()); }));
  // Shuffles every second (the cluster's setting): several go from a to b.
  const bool withheld = c.run_until([&] { return a.stats().addresses_withheld >= 3; }, std::chrono::seconds(4));
  INFO("passive " << a.overlay().members().passive().size() << " withheld " << a.stats().addresses_withheld << " frames out " << a.stats().frames_out);
  REQUIRE(withheld);
  std::size_t still_there = 0;
  for (const auto& p : unreached) {
    CHECK_FALSE(b.overlay().members().is_passive(p));
    CHECK_FALSE(b.overlay().members().is_active(p));
    still_there += a.overlay().members().is_passive(p) ? 1u : 0u;
  }
  CHECK(still_there >= 1);  // a keeps them: it may reach them later, and then vouch for them
}

#include "common/tls/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/base/fd.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct X509Deleter {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

std::string pem_of(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A self-signed P-256 certificate and its key, as PEM.
std::pair<std::string, std::string> make_cert() {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_EC_gen("P-256"));
  REQUIRE(key);
  std::unique_ptr<X509, X509Deleter> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("mail.example.test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  std::unique_ptr<BIO, BioDeleter> cb(BIO_new(BIO_s_mem())), kb(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cb.get(), cert.get());
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {pem_of(cb.get()), pem_of(kb.get())};
}

// Runs both ends of a handshake over a socketpair, alternating, until
// both are done or one fails. Returns the server's SSL_accept result.
int handshake(SSL* server, SSL* client) {
  int s = 0, c = 0;
  for (int i = 0; i < 100 && (s != 1 || c != 1); ++i) {
    if (c != 1) {
      c = SSL_connect(client);
      if (c <= 0 && SSL_get_error(client, c) != SSL_ERROR_WANT_READ) return -2;
    }
    if (s != 1) {
      s = SSL_accept(server);
      if (s <= 0 && SSL_get_error(server, s) != SSL_ERROR_WANT_READ) return s;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("tls: the minimum protocol is TLS 1.2 or 1.3, never older", "[tls]") {
  CHECK(*tls::parse_min_protocol("TLSv1.2") == TLS1_2_VERSION);
  CHECK(*tls::parse_min_protocol("TLSv1.3") == TLS1_3_VERSION);
  for (const char* bad : {"TLSv1", "TLSv1.1", "SSLv3", "", "tlsv1.2"}) {
    INFO(bad);
    CHECK_FALSE(tls::parse_min_protocol(bad).ok());
  }
}

TEST_CASE("tls: a server context loads a matching certificate and key, and says which file is wrong", "[tls]") {
  test::TempDir dir;
  auto [cert, key] = make_cert();
  auto [other_cert, other_key] = make_cert();
  tls::ServerOptions o;
  o.cert_file = dir.write("cert.pem", cert);
  o.key_file = dir.write("key.pem", key);
  auto ctx = tls::server_context(o);
  REQUIRE(ctx.ok());
  CHECK(SSL_CTX_get_min_proto_version(ctx->get()) == TLS1_2_VERSION);

  o.key_file = dir.write("other.pem", other_key);
  auto mismatch = tls::server_context(o);
  REQUIRE_FALSE(mismatch.ok());
  // OpenSSL notices when the key is loaded ("key values mismatch").
  CHECK(mismatch.error().text.find("mismatch") != std::string::npos);
  CHECK(mismatch.error().text.find("other.pem") != std::string::npos);

  o.key_file = dir.path() + "/missing.pem";
  auto missing = tls::server_context(o);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().text.find("missing.pem") != std::string::npos);
  CHECK(missing.error().text.find("error:") != std::string::npos);  // the OpenSSL queue is in the text
  CHECK(tls::error_queue().empty());                               // and was taken from it

  o.cert_file = dir.write("garbage.pem", "not a certificate\n");
  CHECK_FALSE(tls::server_context(o).ok());
  o.cert_file.clear();
  CHECK_FALSE(tls::server_context(o).ok());
  o.cert_file = dir.path() + "/cert.pem";
  o.key_file = dir.path() + "/key.pem";
  o.min_protocol = TLS1_1_VERSION;
  CHECK_FALSE(tls::server_context(o).ok());
}

TEST_CASE("tls: a handshake reports what was negotiated, a TLS 1.1 client is refused", "[tls]") {
  test::TempDir dir;
  auto [cert, key] = make_cert();
  tls::ServerOptions o;
  o.cert_file = dir.write("cert.pem", cert);
  o.key_file = dir.write("key.pem", key);
  auto ctx = tls::server_context(o);
  REQUIRE(ctx.ok());
  tls::SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()));

  SECTION("TLS 1.3") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    Fd a(sv[0]), b(sv[1]);
    auto server = tls::new_server_ssl(ctx->get());
    REQUIRE(server.ok());
    tls::SslPtr client(SSL_new(cctx.get()));
    SSL_set_fd(server->get(), a.get());
    SSL_set_fd(client.get(), b.get());
    REQUIRE(handshake(server->get(), client.get()) == 1);
    auto n = tls::negotiated(server->get());
    CHECK(n.protocol == "TLSv1.3");
    CHECK(n.cipher.rfind("TLS_", 0) == 0);
    CHECK(n.usebits >= 128);
    CHECK(n.algbits >= n.usebits);
    CHECK(n.key_exchange.find("server-signature ECDSA (256 bits)") != std::string::npos);
    CHECK(tls::describe(n) == n.protocol + " with cipher " + n.cipher + " (" + std::to_string(n.usebits) + "/" +
                                  std::to_string(n.algbits) + " bits)");
  }
  SECTION("TLS 1.1") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    Fd a(sv[0]), b(sv[1]);
    SSL_CTX_set_security_level(cctx.get(), 0);
    SSL_CTX_set_min_proto_version(cctx.get(), TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(cctx.get(), TLS1_1_VERSION);
    auto server = tls::new_server_ssl(ctx->get());
    tls::SslPtr client(SSL_new(cctx.get()));
    SSL_set_fd(server->get(), a.get());
    SSL_set_fd(client.get(), b.get());
    CHECK(handshake(server->get(), client.get()) != 1);
    std::string errors = tls::error_queue();
    CHECK(errors.find("unsupported protocol") != std::string::npos);
  }
}

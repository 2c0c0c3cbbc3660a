// Self-signed certificate with the OpenSSL 3 API (tls_cert.h).

#include "cli/ternctl/tls_cert.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>

namespace tern::ctl {
namespace {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// "what: <every error in the queue>", emptying the queue.
Error ssl_error(const std::string& what) {
  std::string text = what;
  unsigned long code;
  const char* file = nullptr;
  int line = 0;
  bool first = true;
  while ((code = ERR_get_error_all(&file, &line, nullptr, nullptr, nullptr)) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text += first ? ": " : "; ";
    text += buf;
    first = false;
  }
  if (first) text += ": unknown OpenSSL error";
  return invalid(text);
}

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Status add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return ssl_error(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return ssl_error(std::string("add extension ") + OBJ_nid2sn(nid));
  return {};
}

Status set_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return ssl_error("RAND_bytes");
  bytes[0] &= 0x7f;  // RFC 5280 4.1.2.2: positive, at most 20 octets
  bytes[0] |= 0x01;  // and without a leading zero octet
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) return ssl_error("serial");
  return {};
}

Result<std::string> to_pem(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return ssl_error("PEM encoding");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Status build(X509* cert, EVP_PKEY* key, const CertRequest& req) {
  if (X509_set_version(cert, X509_VERSION_3) != 1) return ssl_error("X509_set_version");
  if (Status st = set_serial(cert); !st) return st;
  if (X509_gmtime_adj(X509_getm_notBefore(cert), 0) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert), req.days, 0, nullptr) == nullptr)
    return ssl_error("validity");
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* cn = reinterpret_cast<const unsigned char*>(req.hostname.c_str());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1) return ssl_error("subject CN");
  if (X509_set_issuer_name(cert, name) != 1) return ssl_error("issuer");
  if (X509_set_pubkey(cert, key) != 1) return ssl_error("X509_set_pubkey");

  std::string san = "DNS:" + req.hostname;
  if (req.hostname != "localhost") san += ",DNS:localhost";
  if (is_ip_literal(req.listen_address)) san += ",IP:" + req.listen_address;
  struct {
    int nid;
    std::string value;
  } exts[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, san},
  };
  for (const auto& e : exts) {
    if (Status st = add_ext(cert, e.nid, e.value); !st) return st;
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) return ssl_error("X509_sign");
  return {};
}

}  // namespace

Result<CertFiles> make_self_signed_cert(const CertRequest& req) {
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_error("EC P-256 key generation");
  X509Ptr cert(X509_new());
  if (!cert) return ssl_error("X509_new");
  if (Status st = build(cert.get(), key.get(), req); !st) return st.take_error();

  auto cert_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  if (!cert_pem) return cert_pem.take_error();
  auto key_pem = to_pem(
      [&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  if (!key_pem) return key_pem.take_error();
  return CertFiles{std::move(*cert_pem), std::move(*key_pem)};
}

}  // namespace tern::ctl

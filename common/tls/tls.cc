#include "common/tls/tls.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>

namespace tern::tls {

std::string error_queue() {
  std::string out;
  const char* file = nullptr;
  const char* data = nullptr;
  int line = 0, flags = 0;
  unsigned long code;
  while ((code = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
    if (data && (flags & ERR_TXT_STRING) && *data) {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

Result<int> parse_min_protocol(std::string_view name) {
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return invalid("TLS protocol: expected TLSv1.2 or TLSv1.3 (older versions are refused), not " + std::string(name));
}

namespace {

Error fail(std::string what) {
  std::string queue = error_queue();
  if (!queue.empty()) what += ": " + queue;
  return make_error(Errc::kInvalid, std::move(what));
}

}  // namespace

Result<SslCtxPtr> server_context(const ServerOptions& o) {
  ERR_clear_error();
  if (o.cert_file.empty()) return invalid("TLS: no certificate file configured");
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail("TLS: SSL_CTX_new");
  if (o.min_protocol < TLS1_2_VERSION) return invalid("TLS: a minimum below TLSv1.2 is refused");
  if (SSL_CTX_set_min_proto_version(ctx.get(), o.min_protocol) != 1)
    return fail("TLS: cannot set the minimum protocol version");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1)
    return fail("TLS: cannot load the certificate chain from " + o.cert_file);
  const std::string& key = o.key_file.empty() ? o.cert_file : o.key_file;
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("TLS: cannot load the private key from " + key);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return fail("TLS: the private key in " + key + " does not match the certificate in " + o.cert_file);
  return ctx;
}

Result<SslCtxPtr> client_context(const ClientOptions& o) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail("TLS: SSL_CTX_new");
  if (o.min_protocol < TLS1_2_VERSION) return invalid("TLS: a minimum below TLSv1.2 is refused");
  if (SSL_CTX_set_min_proto_version(ctx.get(), o.min_protocol) != 1)
    return fail("TLS: cannot set the minimum protocol version");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // The handshake goes on whatever the chain; the caller decides from
  // peer_trust() what an unverified peer means for its level.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_file(ctx.get(), o.ca_file.c_str()) != 1)
      return fail("TLS: cannot load the trust anchors from " + o.ca_file);
  } else {
    const char* bundle = X509_get_default_cert_file();
    if (bundle && ::access(bundle, R_OK) == 0 && SSL_CTX_load_verify_file(ctx.get(), bundle) != 1)
      return fail(std::string("TLS: cannot load the system trust anchors from ") + bundle);
    ERR_clear_error();
  }
  return ctx;
}

PeerTrust peer_trust(SSL* ssl, bool names_given) {
  PeerTrust t;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return t;
  long rc = SSL_get_verify_result(ssl);
  t.trusted = rc == X509_V_OK || rc == X509_V_ERR_HOSTNAME_MISMATCH;
  t.verified = rc == X509_V_OK && names_given;
  t.kind = t.verified ? "Verified" : t.trusted ? "Trusted" : "Untrusted";
  if (!t.verified)
    t.why = rc == X509_V_OK ? "no name to match" : "num=" + std::to_string(rc) + ":" + X509_verify_cert_error_string(rc);
  return t;
}

Result<SslPtr> new_server_ssl(SSL_CTX* ctx) {
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) return fail("TLS: SSL_new");
  return ssl;
}

namespace {

// Postfix's names for the server's signature algorithm (tls_misc.c).
std::string key_type_name(int type) {
  switch (type) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "ED25519";
    case EVP_PKEY_ED448: return "ED448";
    default: {
      const char* sn = OBJ_nid2sn(type);
      return sn ? sn : "";
    }
  }
}

std::string key_exchange(SSL* ssl) {
  std::string out;
  // Postfix's words: "X25519", "ECDHE (P-256)", "FFDHE (ffdhe2048)".
  int group = SSL_get_negotiated_group(ssl);
  if (group > 0 && (group & TLSEXT_nid_unknown) == 0) {
    const char* sn = OBJ_nid2sn(group);
    const char* nist = EC_curve_nid2nist(group);
    if (group == NID_X25519 || group == NID_X448) out = std::string("key-exchange ") + sn;
    else if (nist) out = std::string("key-exchange ECDHE (") + nist + ")";
    else if (sn) out = std::string("key-exchange ") + sn;
  }
  int sig = NID_undef;
  if (SSL_get_signature_type_nid(ssl, &sig) == 1 && sig != NID_undef) {
    std::string name = key_type_name(sig);
    EVP_PKEY* pkey = SSL_get_privatekey(ssl);
    if (!name.empty()) {
      if (!out.empty()) out += ' ';
      out += "server-signature " + name;
      if (pkey) out += " (" + std::to_string(EVP_PKEY_get_bits(pkey)) + " bits)";
    }
  }
  int digest = NID_undef;
  if (SSL_get_signature_nid(ssl, &digest) == 1 && digest != NID_undef) {
    const char* sn = OBJ_nid2sn(digest);
    if (sn && *sn) {
      if (!out.empty()) out += ' ';
      out += std::string("server-digest ") + sn;
    }
  }
  return out;
}

}  // namespace

Negotiated negotiated(SSL* ssl) {
  Negotiated n;
  n.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    n.cipher = SSL_CIPHER_get_name(c);
    n.usebits = SSL_CIPHER_get_bits(c, &n.algbits);
  }
  n.key_exchange = key_exchange(ssl);
  return n;
}

std::string describe(const Negotiated& n) {
  return n.protocol + " with cipher " + n.cipher + " (" + std::to_string(n.usebits) + "/" +
         std::to_string(n.algbits) + " bits)";
}

bool send_close_notify(SSL* ssl) {
  if (!ssl || !SSL_is_init_finished(ssl)) return false;
  (void)SSL_shutdown(ssl);
  ERR_clear_error();
  return true;
}

}  // namespace tern::tls

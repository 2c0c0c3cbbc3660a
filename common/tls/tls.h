#pragma once
// TLS for Tern's servers (smtpd now, imap-login next) over OpenSSL 3:
// owners for SSL_CTX and SSL, a server context built from PEM files before
// the privilege drop, what a handshake negotiated (for log lines and the
// Received: trace field), and the whole OpenSSL error queue as text.
//
// Decisions (DESIGN.md: everything from outside the jail is loaded before
// the drop):
//   - The certificate chain and key are read once, in server_context(), and
//     checked against each other; a key that does not match is a startup
//     error, not a handshake failure later.
//   - TLS 1.2 is the minimum (RFC 8996 deprecates 1.0 and 1.1); the
//     protocol floor can only be raised (parse_min_protocol).
//   - Compression and renegotiation are off (CRIME; client-initiated
//     renegotiation is a CPU lever for clients); the server's cipher order
//     wins.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::tls {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

// Takes every entry of this thread's OpenSSL error queue (leaving it empty)
// as "error:0A000102:SSL routines::unsupported protocol; ..."; "" when empty.
std::string error_queue();

// "TLSv1.2" or "TLSv1.3" to an OpenSSL version for SSL_CTX_set_min_proto_version.
// Anything below TLS 1.2 is refused.
Result<int> parse_min_protocol(std::string_view name);

struct ServerOptions {
  std::string cert_file;  // PEM: the certificate, then its chain
  std::string key_file;   // PEM private key; "" = in cert_file
  int min_protocol = TLS1_2_VERSION;
};

// A server context from PEM files. Errors name the file and carry the
// OpenSSL error queue.
Result<SslCtxPtr> server_context(const ServerOptions& options);

// The client side (smtp-client's STARTTLS): TLS 1.2 at least, no
// compression or renegotiation, and the trust anchors read now, before the
// chroot (a hashed CA directory would be read at verification time, inside
// the jail): ca_file when given, else the system bundle (OpenSSL's default
// certificate file, on Debian /usr/lib/ssl/cert.pem, which is
// /etc/ssl/certs/ca-certificates.crt). A missing system bundle is no error:
// nothing is then trusted, and "verify" defers.
struct ClientOptions {
  std::string ca_file;  // PEM trust anchors; "" = the system's
  int min_protocol = TLS1_2_VERSION;
};
Result<SslCtxPtr> client_context(const ClientOptions& options);

// After a client handshake: what the peer's certificate is worth, in
// Postfix's words ("Untrusted", "Trusted", "Verified"; "Anonymous" when the
// peer sent none), and OpenSSL's reason when not Verified. Verified needs
// names given to SSL_set1_host/SSL_add1_host before the handshake.
struct PeerTrust {
  const char* kind = "Anonymous";
  bool trusted = false;   // the chain ends at a trust anchor
  bool verified = false;  // and a name matched
  std::string why;        // "num=18:self-signed certificate" when not verified
};
PeerTrust peer_trust(SSL* ssl, bool names_given);

// A new server-side SSL for one connection.
Result<SslPtr> new_server_ssl(SSL_CTX* ctx);

// What a finished handshake negotiated, in Postfix's words.
struct Negotiated {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int usebits = 0;
  int algbits = 0;
  // "key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest
  // SHA256", the parts OpenSSL can name; "" when it names none.
  std::string key_exchange;
};
Negotiated negotiated(SSL* ssl);

// RFC 8446 6.1: each side MUST send close_notify before it closes its
// side. Hands the alert to the session's BIO (the socket, or a filter's
// buffer the caller must still flush), best effort and without blocking;
// clears the error queue. False when the handshake never finished (nothing
// to close).
bool send_close_notify(SSL* ssl);

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" (Postfix's
// "Anonymous TLS connection established from ...: <this>").
std::string describe(const Negotiated& n);

}  // namespace tern::tls

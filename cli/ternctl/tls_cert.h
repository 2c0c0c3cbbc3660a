#pragma once
// A self-signed server certificate for a fresh instance, so TLS (STARTTLS,
// smtps, imaps) works from the first start. Administrators replace it with
// one from their CA (or ACME) by pointing smtpd_tls_cert_file and
// smtpd_tls_key_file elsewhere.

#include <string>

#include "common/base/result.h"

namespace tern::ctl {

struct CertRequest {
  std::string hostname;        // subject CN and the first DNS subjectAltName
  std::string listen_address;  // an IP subjectAltName when it is an address literal
  int days = 3650;
};

struct CertFiles {
  std::string cert_pem;  // the certificate, PEM
  std::string key_pem;   // the private key, PKCS#8 PEM, unencrypted
};

// EC P-256 key; X.509 v3 with a random 128-bit serial, SHA-256 signature,
// basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
// serverAuth, subjectAltName DNS:<hostname>, DNS:localhost[, IP:<address>].
// Errors carry the whole OpenSSL error queue.
Result<CertFiles> make_self_signed_cert(const CertRequest& req);

}  // namespace tern::ctl

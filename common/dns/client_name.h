#pragma once
// A client's forward-confirmed reverse name, as Postfix's smtpd finds it
// (smtpd_peer.c) for `client=name[address]` and Received: lines:
//   1. the PTR records of the address's reverse name;
//   2. for each name found (at most kMaxNamesChecked, all at once), its A
//      records (AAAA for an IPv6 client); the first name one of whose
//      addresses is the client's is the client's name;
//   3. otherwise the name is "unknown". A name that does not resolve back
//      gets Postfix's warning ("hostname X does not resolve to address Y",
//      with the reason when the lookup failed), which fail2ban-style
//      filters read.
// The whole lookup ends within the resolver's timeout. A temporary failure
// (SERVFAIL, timeout) also gives "unknown", with `temporary` set (Postfix's
// 4xx name status), so that a later policy can tell it from a client
// without a name.

#include <functional>
#include <string>
#include <vector>

#include "common/dns/resolver.h"
#include "common/event/loop.h"

namespace tern::dns {

struct ClientName {
  std::string name = "unknown";  // forward-confirmed, or "unknown"
  bool temporary = false;        // unknown because a lookup failed for now
  std::string detail;            // why unknown, for a verbose log line
  std::vector<std::string> warnings;
};

class ClientNameLookup {
 public:
  static constexpr size_t kMaxNamesChecked = 4;
  using Done = std::function<void(ClientName)>;

  // Starts at once; done runs later on the loop, exactly once, unless this
  // object is destroyed first. done may destroy this object.
  ClientNameLookup(Resolver& resolver, std::string address, Done done);
  ClientNameLookup(const ClientNameLookup&) = delete;
  ClientNameLookup& operator=(const ClientNameLookup&) = delete;

 private:
  void ptr_answered(Answer<std::string> a);
  void forward_answered(size_t index, Answer<std::string> a);
  void finish();

  Resolver& resolver_;
  std::string address_;  // canonical
  Done done_;
  Lookup ptr_;
  std::vector<std::string> names_;
  std::vector<Lookup> forward_;
  size_t outstanding_ = 0;
  bool any_temporary_ = false;
  event::Timer deadline_;
  ClientName result_;
};

}  // namespace tern::dns

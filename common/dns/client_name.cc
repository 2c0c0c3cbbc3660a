#include "common/dns/client_name.h"

#include "common/base/strings.h"
#include "common/dns/names.h"

namespace tern::dns {

ClientNameLookup::ClientNameLookup(Resolver& resolver, std::string address, Done done)
    : resolver_(resolver), address_(canonical_address(address)), done_(std::move(done)) {
  deadline_ = event::Timer(resolver_.loop(), [this] {
    if (!address_.empty()) {
      result_ = ClientName{};
      result_.temporary = true;
      result_.detail = strf("lookup of %s: no answer within the time limit", address_.c_str());
    }
    finish();
  });
  if (address_.empty()) {
    // Not an IP address (a unix socket's "local"): nothing to look up.
    result_.detail = "not an IP address";
    deadline_.start(Duration::zero());
    return;
  }
  deadline_.start(resolver_.timeout());
  ptr_ = resolver_.ptr(address_, [this](Answer<std::string> a) { ptr_answered(std::move(a)); });
}

void ClientNameLookup::ptr_answered(Answer<std::string> a) {
  if (!a.ok()) {
    result_.temporary = is_temporary(a.outcome);
    result_.detail = strf("PTR lookup of %s: %s%s%s", address_.c_str(), outcome_name(a.outcome),
                          a.detail.empty() ? "" : ": ", a.detail.c_str());
    return finish();
  }
  names_ = std::move(a.records);
  if (names_.size() > kMaxNamesChecked) names_.resize(kMaxNamesChecked);
  Family family = address_family(address_) == 4 ? Family::kIpv4 : Family::kIpv6;
  outstanding_ = names_.size();
  forward_.resize(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    forward_[i] = resolver_.addresses(names_[i], family,
                                      [this, i](Answer<std::string> f) { forward_answered(i, std::move(f)); });
  }
}

void ClientNameLookup::forward_answered(size_t index, Answer<std::string> a) {
  outstanding_--;
  const std::string& name = names_[index];
  if (a.ok()) {
    for (const auto& addr : a.records) {
      if (addr == address_) {
        result_ = ClientName{};
        result_.name = name;
        return finish();
      }
    }
    result_.warnings.push_back(strf("hostname %s does not resolve to address %s", name.c_str(), address_.c_str()));
  } else {
    if (is_temporary(a.outcome)) any_temporary_ = true;
    const char* why = a.outcome == Outcome::kNoSuchName ? "Name or service not known"
                      : a.outcome == Outcome::kNoData   ? "No address associated with hostname"
                                                        : "Temporary failure in name resolution";
    result_.warnings.push_back(
        strf("hostname %s does not resolve to address %s: %s", name.c_str(), address_.c_str(), why));
  }
  if (outstanding_ > 0) return;
  result_.temporary = any_temporary_;
  result_.detail = strf("no name of %s resolves back to it", address_.c_str());
  finish();
}

void ClientNameLookup::finish() {
  deadline_.cancel();
  ptr_.cancel();
  forward_.clear();
  if (!done_) return;
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(result_));  // may destroy *this: nothing after it
}

}  // namespace tern::dns

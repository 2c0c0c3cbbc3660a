// The commands valid in any state (RFC 3501 6.1): CAPABILITY, NOOP,
// LOGOUT.

#include "imapd/session_impl.h"

namespace tern::imapd {

void SessionImpl::cmd_capability(const Cmd& c) {
  write("* CAPABILITY " + std::string(capabilities()) + "\r\n");
  done(c, "OK", "Capability completed.");
}

void SessionImpl::cmd_noop(const Cmd& c) {
  done(c, "OK", "NOOP completed.");
}

// RFC 3501 6.1.3: BYE first, then the tagged OK, then the server closes.
void SessionImpl::cmd_logout(const Cmd& c) {
  write("* BYE Logging out\r\n");
  tagged(c, "OK", "Logout completed.");
  running_ = false;
  close_after_output();
}

}  // namespace tern::imapd

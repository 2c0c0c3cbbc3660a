// Per-client limits in the session (client_limits.h): the connection count
// and rate before the greeting, the message and recipient rates before MAIL
// and RCPT, with Postfix's replies and log lines.

#include "common/base/log.h"
#include "smtpd/session.h"

namespace tern::smtpd {

void Session::admit() {
  if (!limits_.counted()) return send_greeting();
  limits_.connect([this](ConnectVerdict v) { admitted(v); });
}

void Session::admitted(const ConnectVerdict& v) {
  if (v.what == ConnectVerdict::What::kAccept) return send_greeting();
  log::warning("Connection %s limit exceeded: %d from %s for service %s",
               v.what == ConnectVerdict::What::kTooMany ? "concurrency" : "rate", v.value, client().c_str(),
               ctx_.service_name().c_str());
  reply(421, "4.7.0", settings_.myhostname + " Error: too many connections from " + peer_.address);
  if (tls_active_) bufferevent_enable(bev_.get(), EV_WRITE);  // plain text: flush_output writes it
  close_after_reply();
}

// When the event's rate is limited for this client, counts it with anvil
// and returns true: reading stops until the answer, then `next` runs with
// the command's arguments, or the command is refused with 450 4.7.1 (and,
// as in Postfix, counts as an error). Otherwise returns false and the
// caller goes on at once.
bool Session::wait_for_rate(RateEvent ev, std::string_view args, void (Session::*next)(std::string_view)) {
  if (!limits_.limited(ev)) return false;
  phase_ = Phase::kWaiting;
  pause_reading();
  limits_.count(ev, [this, ev, next, args = std::string(args)](bool over, int rate) {
    if (phase_ != Phase::kWaiting) return;  // timed out meanwhile: closing
    phase_ = Phase::kCommands;
    const bool message = ev == RateEvent::kMessage;
    if (closing_after_wait_) return finish(message ? "lost connection after MAIL" : "lost connection after RCPT");
    if (over) {
      log::warning("%s rate limit exceeded: %d from %s for service %s",
                   message ? "Message delivery request" : "Recipient address", rate, client().c_str(),
                   ctx_.service_name().c_str());
      error_reply(450, "4.7.1",
                  std::string(message ? "Error: too much mail from " : "Error: too many recipients from ") +
                      peer_.address);
    } else {
      (this->*next)(args);
    }
    // The command may wait again (a recipient check) or have ended the session.
    if (phase_ != Phase::kCommands) return;
    resume_reading();
    process_input();
  });
  return true;
}

}  // namespace tern::smtpd
